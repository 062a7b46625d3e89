/**
 * What the engine build takes from the tenancy's own listings: the availability domain and the
 * platform image of the instance. Whether a build may run at all (IAM, a gated model's token, a
 * private bucket) is part of the stack's one validation: components/config/rules/build.ts.
 */

/** The compartment's availability domains by name, in the order the tenancy lists them. */
export function availabilityDomainNames(result: { availabilityDomains: { name: string }[] }): string[] {
  if (result.availabilityDomains.length === 0)
    throw new Error("the compartment lists no availability domain: check oci:region and compartmentId");
  return result.availabilityDomains.map((domain) => domain.name);
}

/**
 * The newest Oracle Linux 8 platform image for the shape (`core.getImages` sorted newest first): the
 * GPU build of it (NVIDIA driver and CUDA preinstalled, display names `...-GPU-...`) for GPU shapes,
 * the plain x86 one otherwise.
 */
export function pickPlatformImage(
  images: readonly { id: string; displayName: string }[],
  want: { gpu: boolean; shape: string },
): string {
  const match = images.find(
    (image) => image.displayName.includes("-GPU-") === want.gpu && !/aarch64/i.test(image.displayName),
  );
  if (match === undefined) {
    throw new Error(
      `no Oracle Linux 8 ${want.gpu ? "GPU " : ""}platform image is listed for ${want.shape} in this compartment: check build.shape and the tenancy's service limits for it`,
    );
  }
  return match.id;
}

/** One availability domain's answers at `up`, as `operations/up-tasks/build-tasks.ts` reads them. */
export interface DomainCapacity {
  readonly availabilityDomain: string;
  /** `availabilityStatus` of each shape availability: AVAILABLE, OUT_OF_HOST_CAPACITY, ... */
  readonly statuses: readonly string[];
  /**
   * The shape's service limit in this domain, when it was asked (only of a domain with capacity, and
   * only for a shape whose limit name is known: components/build/shape-limits.ts). `available` is
   * undefined when OCI reports no figure for it (oci-limits lib/model/resource-availability.d.ts:
   * "We cannot guarantee this data for all the limits. In such cases, these fields will be empty").
   */
  readonly limit?: {
    readonly name: string;
    readonly unit: string;
    readonly available: number | undefined;
    readonly needed: number;
  };
}

/**
 * Whether a launch fits the domain: capacity AVAILABLE, and the service limit, when asked and
 * reported, has at least what one instance needs. A limit OCI reports no figure for does not hold a
 * domain back: nothing says it is short.
 */
export function domainFits(answer: DomainCapacity): boolean {
  if (!answer.statuses.includes("AVAILABLE")) return false;
  const limit = answer.limit;
  return limit === undefined || limit.available === undefined || limit.available >= limit.needed;
}

/** One domain's answers in a line: the capacity statuses, then the limit when it was asked. */
export function describeDomain(answer: DomainCapacity): string {
  const statuses = answer.statuses.join(", ") || "no answer";
  const limit = answer.limit;
  if (limit === undefined) return `${answer.availabilityDomain}: ${statuses}`;
  const available = limit.available === undefined ? "not reported" : `${limit.available} available`;
  return `${answer.availabilityDomain}: ${statuses}, ${limit.name} ${available}, ${limit.needed} ${limit.unit} needed`;
}

/**
 * The first availability domain that fits the shape (`domainFits`), in the order the tenancy lists
 * them; none is an error that names each domain's answers and the fixes: wait, ask for a higher
 * limit when a limit held a domain back, pin a domain, or another shape.
 */
export function chooseAvailabilityDomain(shape: string, reports: readonly DomainCapacity[]): string {
  const fits = reports.find(domainFits);
  if (fits !== undefined) return fits.availabilityDomain;
  const answers = reports.map(describeDomain).join("; ");
  const limited = reports.some(
    (report) => report.statuses.includes("AVAILABLE") && report.limit !== undefined,
  );
  if (!limited) {
    throw new Error(
      `no availability domain has capacity for ${shape} now (${answers || "no domain listed"}): try again later, pin one with pulumi config set --path build.availabilityDomain <name>, or pick another build.shape`,
    );
  }
  throw new Error(
    `no availability domain has both capacity and service limit for ${shape} now (${answers}): ask for a service limit increase (OCI Console: Governance & Administration, Limits, Quotas and Usage) or free what uses the limit, try again later, pin a domain with pulumi config set --path build.availabilityDomain <name>, or pick another build.shape`,
  );
}

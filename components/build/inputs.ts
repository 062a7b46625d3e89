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

/** One availability domain's answer in a compute capacity report, as `cli/oci-task.ts` reads it. */
export interface DomainCapacity {
  readonly availabilityDomain: string;
  /** `availabilityStatus` of each shape availability: AVAILABLE, OUT_OF_HOST_CAPACITY, ... */
  readonly statuses: readonly string[];
}

/**
 * The first availability domain whose capacity report says AVAILABLE for the shape, in the order
 * the tenancy lists them; none with capacity is an error that names each domain's answer and the
 * key that pins one.
 */
export function chooseAvailabilityDomain(shape: string, reports: readonly DomainCapacity[]): string {
  const available = reports.find((report) => report.statuses.includes("AVAILABLE"));
  if (available !== undefined) return available.availabilityDomain;
  const answers = reports
    .map((report) => `${report.availabilityDomain}: ${report.statuses.join(", ") || "no answer"}`)
    .join("; ");
  throw new Error(
    `no availability domain has capacity for ${shape} now (${answers || "no domain listed"}): try again later, pin one with pulumi config set --path build.availabilityDomain <name>, or pick another build.shape`,
  );
}

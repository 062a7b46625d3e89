/**
 * What the engine build needs beyond the configuration, decided before any resource is registered:
 * whether it can run at all (IAM, a private bucket), and which availability domain and
 * platform image the instance gets from the tenancy's own listings.
 */
import type { CacheLookup } from "../artifact/engine-cache";
import type { ConfigError, StackConfig } from "../config/config";

export function buildPreconditionErrors(
  config: StackConfig,
  context: { buildMode: "build" | "assemble" | undefined; lookup: CacheLookup; bucketName: string },
): ConfigError[] {
  const errors: ConfigError[] = [];
  const { lookup, bucketName } = context;
  if (
    lookup.bucketExists &&
    lookup.bucketAccessType !== undefined &&
    lookup.bucketAccessType !== "NoPublicAccess"
  ) {
    errors.push({
      key: "artifact.bucketName",
      value: bucketName,
      message: `names an existing bucket with public access (${lookup.bucketAccessType}); model artifacts must stay private`,
      fix: `make it private ('oci os bucket update --bucket-name ${bucketName} --public-access-type NoPublicAccess') or name another bucket: pulumi config set --path artifact.bucketName <name>`,
    });
  }
  if (context.buildMode === undefined) return errors;
  const why =
    context.buildMode === "build"
      ? "the engine is not in the cache, so this run builds it on a GPU instance"
      : "the engine is cached but the artifact is not, so this run re-assembles it on a CPU instance";
  if (!config.iam.create || config.tenancyId === undefined) {
    errors.push({
      key: "iam.create",
      value: config.iam.create,
      message: `must be true with tenancyId set: ${why}, and that instance uploads through a dynamic group of its own`,
      fix: "pulumi config set --path iam.create true and pulumi config set tenancyId <tenancy OCID>, or build by hand and set engine.prebuiltDir",
    });
  }
  return errors;
}

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

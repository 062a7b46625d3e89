/**
 * What the engine build needs beyond the configuration, decided before any resource is registered:
 * whether it can run at all (SSH source, IAM, a private bucket), and which availability domain and
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
  if (config.build.sshAllowedCidr === undefined) {
    errors.push({
      key: "build.sshAllowedCidr",
      value: undefined,
      message: `is required: ${why} and drives it over SSH from this machine; no other address may connect`,
      fix: "set this machine's public address as a /32: pulumi config set --path build.sshAllowedCidr 203.0.113.7/32 (or build by hand and set engine.prebuiltDir)",
    });
  }
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

export function pickAvailabilityDomain(result: { availabilityDomains: { name: string }[] }): string {
  const first = result.availabilityDomains[0];
  if (first === undefined)
    throw new Error("the compartment lists no availability domain: check oci:region and compartmentId");
  return first.name;
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

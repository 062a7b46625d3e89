/**
 * What the engine build takes from the tenancy's own listings: the availability domain and the
 * platform image of the instance. Whether a build may run at all (SSH source, IAM, a gated model's
 * token, a private bucket) is part of the stack's one validation: components/config/rules/build.ts.
 */

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

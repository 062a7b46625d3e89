/** Names in OCI Container Registry (OCIR), and the pinned reference the deployment pulls. */

const DIGEST = /^sha256:[0-9a-f]{64}$/;

// OCI's model deployment hosts are x86_64; newer Triton images also ship arm64 variants, which a
// daemon on an Arm machine would otherwise pick.
export const IMAGE_PLATFORM = "linux/amd64";

/** The registry host for an OC1 region: OCIR accepts the region identifier as well as its key. */
export function ocirRegistry(region: string): string {
  return `${region}.ocir.io`;
}

/** OCIR's login name is `<namespace>/<user>`; accept users given with or without the namespace. */
export function ocirLoginUser(namespace: string, username: string): string {
  return username.startsWith(`${namespace}/`) ? username : `${namespace}/${username}`;
}

export function ocirImageName(registry: string, namespace: string, repository: string, tag: string): string {
  return `${registry}/${namespace}/${repository}:${tag}`;
}

/**
 * `<registry>/<namespace>/<repository>:<tag>@sha256:<digest>`: the form OCI's model deployment
 * documents for `image`; the digest decides what is pulled, the tag only labels it.
 */
export function pinnedImageRef(imageName: string, digest: string): string {
  if (!DIGEST.test(digest))
    throw new Error(`registry returned no sha256 digest for ${imageName}: '${digest}'`);
  return `${imageName}@${digest}`;
}

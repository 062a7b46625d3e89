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

/** An image reference taken apart: `<name>[:<tag>][@<digest>]`, the name holding registry and path. */
export interface ImageReference {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

export function parseImageReference(reference: string): ImageReference {
  const at = reference.indexOf("@");
  const withoutDigest = at >= 0 ? reference.slice(0, at) : reference;
  const digest = at >= 0 ? reference.slice(at + 1) : undefined;
  // A colon after the last slash starts the tag; one before it belongs to a registry port.
  const colon = withoutDigest.lastIndexOf(":");
  const hasTag = colon > withoutDigest.lastIndexOf("/");
  return {
    name: hasTag ? withoutDigest.slice(0, colon) : withoutDigest,
    ...(hasTag ? { tag: withoutDigest.slice(colon + 1) } : {}),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The digest `image.source` is pinned to, or undefined for a tag that the registry must resolve. */
export function pinnedDigest(source: string): string | undefined {
  const digest = parseImageReference(source).digest;
  return digest !== undefined && DIGEST.test(digest) ? digest : undefined;
}

/**
 * `<name>@<digest>`, the tag dropped: skopeo (containers/image `docker/docker_transport.go`,
 * newReference) refuses a reference with both a tag and a digest.
 */
export function sourceByDigest(source: string, digest: string): string {
  return `${parseImageReference(source).name}@${digest}`;
}

/**
 * The repository every stack of the compartment and region shares for one image: the project, then
 * the image's own name (`nvcr.io/nvidia/tritonserver:...` → `triton-trtllm-oci/tritonserver`). Its
 * tags and digests are the source's, so stacks serving the same digest serve the same manifest.
 */
export function sharedMirrorRepository(project: string, source: string): string {
  const name = parseImageReference(source).name;
  return `${project}/${name.slice(name.lastIndexOf("/") + 1).toLowerCase()}`;
}

/**
 * The OCIR repository of a stack's image (`image.repository` when set). Names are unique per region
 * across the tenancy (OCI docs, "Overview of Container Registry"): `local` pushes into one per stack,
 * `oci` copies into one that the compartment's stacks share.
 */
export function imageRepositoryName(
  mirror: "oci" | "local",
  configured: string | undefined,
  stackBaseName: string,
  project: string,
  source: string,
): string {
  if (configured !== undefined) return configured;
  return mirror === "local" ? `${stackBaseName}/triton-trtllm` : sharedMirrorRepository(project, source);
}

/**
 * `build.env`'s image copy (engine-build/steps/mirror-image.sh): the source by digest, to the
 * repository and tag of the pinned OCIR reference, which must carry that same digest.
 */
export function imageCopySettings(pinnedRef: string, source: string): Record<string, string> {
  const target = parseImageReference(pinnedRef);
  const digest = pinnedDigest(pinnedRef);
  if (digest === undefined || target.tag === undefined)
    throw new Error(`${pinnedRef} is not <registry>/<namespace>/<repository>:<tag>@sha256:<digest>`);
  return {
    MIRROR_SOURCE: sourceByDigest(source, digest),
    MIRROR_DIGEST: digest,
    MIRROR_TARGET: `${target.name}:${target.tag}`,
  };
}

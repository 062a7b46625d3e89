/**
 * The `oci` image mirror, looked up at preview: the source's digest (read from its registry, no
 * Docker daemon), the shared OCIR repository, and whether that digest is already in it. What the
 * lookup finds decides the graph: a mirrored digest needs nothing to run, a missing one a copy.
 */
import * as docker from "@pulumi/docker";
import * as oci from "@pulumi/oci";
import type * as pulumi from "@pulumi/pulumi";
import { estimateCopyMinutes } from "../config/image-copy";
import type { ConfigError } from "../config/schema";
import { pinnedDigest } from "../deployment/ocir";

export interface ImageMirrorLookupInput {
  readonly compartmentId: string;
  /** `image.source`, by tag or pinned by digest. */
  readonly source: string;
  /** The shared repository's name in OCIR. */
  readonly repositoryName: string;
}

export interface ImageMirrorLookup {
  /** The source's manifest digest: what the copy preserves and the deployment pulls. */
  readonly sourceDigest: string;
  /** The shared repository's OCID when it exists (to adopt), else undefined (to create). */
  readonly repositoryId?: string;
  /** The digest is already in the shared repository: nothing has to be copied. */
  readonly mirrored: boolean;
}

export type LookupResult =
  | { readonly ok: true; readonly lookup: ImageMirrorLookup }
  | { readonly ok: false; readonly errors: ConfigError[] };

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The source's digest: the one `image.source` pins, else the registry's answer for its tag. The
 * Docker provider's `docker_registry_image` data source sends a HEAD for the manifest (an anonymous
 * token when no credentials are configured) and returns the `Docker-Content-Digest` header
 * (kreuzwerker/terraform-provider-docker internal/provider/data_source_docker_registry_image.go
 * :43-128); it accepts manifest lists and OCI indexes (authentication_helpers.go:72-75), so for a
 * multi-platform tag this is the index digest, which `skopeo copy --all --preserve-digests` keeps.
 */
async function resolveSourceDigest(
  source: string,
  registry: pulumi.ProviderResource,
): Promise<string | ConfigError> {
  const pinned = pinnedDigest(source);
  if (pinned !== undefined) return pinned;
  try {
    const found = await docker.getRegistryImage({ name: source }, { provider: registry });
    if (/^sha256:[0-9a-f]{64}$/.test(found.sha256Digest)) return found.sha256Digest;
    throw new Error(`the registry answered '${found.sha256Digest}', not a sha256 digest`);
  } catch (error) {
    return {
      key: "image.source",
      value: source,
      message: `has no digest the registry would give for its tag (${message(error)})`,
      fix: "check that the tag exists and the registry allows anonymous reads, or pin it by digest: <image>:<tag>@sha256:<digest> (then no lookup runs)",
    };
  }
}

/**
 * Everything the `oci` mirror needs to know before any resource: the source digest, the shared
 * repository (adopted when it exists; refused when it is public) and whether it holds the digest.
 * Lookups are OCI's container repository and image list data sources
 * (terraform-provider-oci internal/service/artifacts/artifacts_container_repositories_data_source.go,
 * artifacts_container_images_data_source.go: filters by display name, repository name and digest;
 * lifecycle state AVAILABLE as in examples/artifacts/ContainerImage/container_image.tf).
 */
export async function lookupImageMirror(
  input: ImageMirrorLookupInput,
  registry: pulumi.ProviderResource,
): Promise<LookupResult> {
  const digest = await resolveSourceDigest(input.source, registry);
  if (typeof digest !== "string") return { ok: false, errors: [digest] };
  const repositories = await oci.artifacts.getContainerRepositories({
    compartmentId: input.compartmentId,
    displayName: input.repositoryName,
  });
  const repository = repositories.containerRepositoryCollections
    .flatMap((collection) => collection.items)
    .find((item) => item.displayName === input.repositoryName && item.state === "AVAILABLE");
  if (repository === undefined) return { ok: true, lookup: { sourceDigest: digest, mirrored: false } };
  if (repository.isPublic) {
    return {
      ok: false,
      errors: [
        {
          key: "image.repository",
          value: input.repositoryName,
          message:
            "names a public OCIR repository in this compartment: the shared mirror must be private, and an existing repository is never changed",
          fix: `make ${input.repositoryName} private in the console, or set image.repository to another name: pulumi config set --path image.repository <name>`,
        },
      ],
    };
  }
  const images = await oci.artifacts.getContainerImages({
    compartmentId: input.compartmentId,
    repositoryName: input.repositoryName,
    imageDigest: digest,
  });
  const mirrored = images.containerImageCollections
    .flatMap((collection) => collection.items)
    .some((image) => image.digest === digest && image.state === "AVAILABLE");
  return { ok: true, lookup: { sourceDigest: digest, repositoryId: repository.id, mirrored } };
}

/** The `image` stack output: where the serving image lives and whether a copy had to run. */
export interface ImageMirrorOutput {
  readonly mirror: "oci" | "local";
  readonly repository: string;
  /** `oci`: the source digest, known at preview; `local`: what the daemon pushed, known after it. */
  readonly digest?: string;
  /** `oci`: the digest was already in the shared repository at preview. */
  readonly mirrored?: boolean;
  /** `oci`: what a copy takes (an estimate), zero when the image was already mirrored. */
  readonly estimatedCopyMinutes?: number;
}

export function imageMirrorOutput(
  source: string,
  repository: string,
  lookup: ImageMirrorLookup | undefined,
): ImageMirrorOutput {
  if (lookup === undefined) return { mirror: "local", repository };
  return {
    mirror: "oci",
    repository,
    digest: lookup.sourceDigest,
    mirrored: lookup.mirrored,
    estimatedCopyMinutes: lookup.mirrored ? 0 : estimateCopyMinutes(source),
  };
}

/** The preview's log line about the mirror. */
export function describeMirrorLookup(lookup: ImageMirrorLookup, repositoryName: string): string {
  return lookup.mirrored
    ? `image: ${lookup.sourceDigest} is already in OCIR repository ${repositoryName}: nothing to copy`
    : `image: ${lookup.sourceDigest} is not in OCIR repository ${repositoryName} yet`;
}

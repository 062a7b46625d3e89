/**
 * OcirImage: the Triton TensorRT-LLM image in a private OCI Container Registry (OCIR) repository,
 * handed out pinned by digest, so a deployment never follows a moving tag and always serves with the
 * TensorRT-LLM version the engine was built with. Two ways to get it there (`image.mirror`):
 *
 * - `oci` (the default): one repository per compartment and region, shared by every stack and named
 *   for the image, kept on destroy and adopted when it exists (as ArtifactBucket does). The image
 *   arrives by a registry-to-registry copy inside OCI that keeps the source's manifest digest, so the
 *   reference is known at preview: `<registry>/<namespace>/<repository>:<tag>@<source digest>`. This
 *   component only owns the repository; the copy runs where the program puts it, and nothing runs
 *   when the preview lookup (deployment/image-mirror.ts) finds the digest already there.
 * - `local`: the Docker daemon that `dockerHost` names pulls the image and pushes it into a
 *   repository of the stack's own. The image is 12-34 GB compressed (the NGC catalogue's tag list for nvcr.io/nvidia/tritonserver); pushing that
 *   from a laptop uplink takes hours, so the usual setup is a daemon on a VM in the region, reached
 *   over SSH (`pulumi config set --path docker.host ssh://opc@<vm ip>`; `ssh opc@<ip> docker info`
 *   must work without a prompt).
 */
import * as docker from "@pulumi/docker";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import {
  IMAGE_PLATFORM,
  ocirImageName,
  ocirLoginUser,
  ocirRegistry,
  pinnedImageRef,
} from "./deployment/ocir";

export interface OcirImageArgs {
  /** Compartment that owns the repository. */
  readonly compartmentId: pulumi.Input<string>;
  /** Region identifier, e.g. `us-ashburn-1`: the registry is `<region>.ocir.io`. */
  readonly region: pulumi.Input<string>;
  /**
   * Registry host when `<region>.ocir.io` does not apply (realms other than OC1 use
   * `<region-key>.ocir.<realm domain>`).
   */
  readonly registry?: pulumi.Input<string>;
  /** Object Storage namespace of the tenancy; looked up when omitted. */
  readonly namespace?: pulumi.Input<string>;
  /** Repository path inside the namespace, e.g. `triton-trtllm`. */
  readonly repository: pulumi.Input<string>;
  /** Tag the mirrored image gets in OCIR: a label, the digest decides what is pulled. */
  readonly tag: pulumi.Input<string>;
  /** How the image gets into OCIR: through a Docker daemon, or copied inside OCI by digest. */
  readonly mirror: OcirImageMirror;
  readonly freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export type OcirImageMirror =
  | {
      readonly mode: "local";
      /** Image to pull, e.g. `nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3[@sha256:...]`. */
      readonly source: pulumi.Input<string>;
      /** OCIR user: `<user>`, `<domain>/<user>` or already `<namespace>/...`. Kept secret. */
      readonly username: pulumi.Input<string>;
      /** OCI auth token of that user. Kept secret. */
      readonly authToken: pulumi.Input<string>;
      /** Docker daemon address; the local socket (or `DOCKER_HOST`) when omitted. */
      readonly dockerHost?: pulumi.Input<string>;
    }
  | {
      readonly mode: "oci";
      /** The source's manifest digest, which the copy into OCIR preserves. */
      readonly sourceDigest: string;
      /** OCID of the shared repository when it already exists: adopted instead of created. */
      readonly adoptRepositoryId?: string;
    };

// Custom timeouts for moving the image. The bridged docker resources otherwise stop after the
// default 20 minutes (kreuzwerker/terraform-provider-docker
// internal/provider/resource_docker_image.go:10-12 and resource_docker_registry_image.go:10-12); 180 minutes covers pushing about 17 GB
// over a 15 Mbit/s uplink. The upstream registry-image resource declares no timeouts of its own
// (kreuzwerker/terraform-provider-docker#767), so the remote daemon above is the dependable fix.
const PULL_TIMEOUTS: pulumi.CustomTimeouts = { create: "120m", update: "120m", delete: "10m" };
const PUSH_TIMEOUTS: pulumi.CustomTimeouts = { create: "180m", update: "180m", delete: "10m" };

interface PinnedImage {
  readonly digest: pulumi.Output<string>;
  readonly imageRef: pulumi.Output<string>;
  readonly repositoryId: pulumi.Output<string>;
}

export class OcirImage extends pulumi.ComponentResource {
  /** `<registry>/<namespace>/<repository>:<tag>@sha256:...`, pinned by digest. */
  public readonly imageRef: pulumi.Output<string>;
  /** `sha256:...` of the manifest: the pushed one as OCIR reports it (`local`), else the source's. */
  public readonly digest: pulumi.Output<string>;
  public readonly repositoryId: pulumi.Output<string>;

  constructor(name: string, args: OcirImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:ocir:OcirImage", name, {}, opts);

    const namespace =
      args.namespace !== undefined
        ? pulumi.output(args.namespace)
        : oci.objectstorage
            .getNamespaceOutput({ compartmentId: args.compartmentId }, { parent: this })
            .apply((result) => result.namespace);
    const registry =
      args.registry !== undefined
        ? pulumi.output(args.registry)
        : pulumi.output(args.region).apply(ocirRegistry);

    const pinned =
      args.mirror.mode === "local"
        ? this.pushThroughDaemon(name, args, args.mirror, registry, namespace)
        : this.sharedMirror(name, args, args.mirror, registry, namespace);
    this.digest = pinned.digest;
    this.imageRef = pinned.imageRef;
    this.repositoryId = pinned.repositoryId;

    this.registerOutputs({ imageRef: this.imageRef, digest: this.digest, repositoryId: this.repositoryId });
  }

  /** `local`: today's pull, tag and push through a Docker daemon, into a repository of the stack's own. */
  private pushThroughDaemon(
    name: string,
    args: OcirImageArgs,
    daemon: Extract<OcirImageMirror, { mode: "local" }>,
    registry: pulumi.Output<string>,
    namespace: pulumi.Output<string>,
  ): PinnedImage {
    // Created explicitly and first: a push to a missing path auto-creates the repository in the
    // tenancy's root compartment, public or not as the tenancy default says.
    const repository = new oci.artifacts.ContainerRepository(
      `${name}-repo`,
      {
        compartmentId: args.compartmentId,
        displayName: args.repository,
        isPublic: false,
        freeformTags: args.freeformTags,
      },
      { parent: this },
    );

    const provider = new docker.Provider(
      `${name}-docker`,
      {
        host: daemon.dockerHost,
        // Destroying this stack removes nothing from the daemon (the source is kept locally, the
        // push remotely, and docker_tag's delete is a no-op: kreuzwerker/terraform-provider-docker
        // internal/provider/resource_docker_tag_funcs.go), so skip the daemon ping that would make
        // `pulumi destroy` fail once a throwaway ssh:// push host is gone.
        disableDockerDaemonCheck: true,
        registryAuth: [
          {
            address: registry,
            username: pulumi.secret(
              pulumi.all([namespace, daemon.username]).apply(([ns, user]) => ocirLoginUser(ns, user)),
            ),
            password: pulumi.secret(daemon.authToken),
          },
        ],
      },
      { parent: this },
    );

    const source = new docker.RemoteImage(
      `${name}-source`,
      {
        name: daemon.source,
        platform: IMAGE_PLATFORM,
        // A destroy followed by an up should not download tens of gigabytes again.
        keepLocally: true,
      },
      { parent: this, provider, customTimeouts: PULL_TIMEOUTS },
    );

    const targetName = pulumi
      .all([registry, namespace, args.repository, args.tag])
      .apply(([host, ns, repo, tag]) => ocirImageName(host, ns, repo, tag));

    // Tagging by image ID re-tags whenever the pulled image changes.
    const tag = new docker.Tag(
      `${name}-tag`,
      { sourceImage: source.imageId, targetImage: targetName },
      { parent: this, provider },
    );

    const pushed = new docker.RegistryImage(
      `${name}-push`,
      {
        name: tag.targetImage,
        // The pushed name stays the same when the source changes; the image ID forces the push.
        triggers: { sourceImageId: source.imageId },
        // A replaced push must not delete the manifest a running deployment still pulls when it
        // restarts or scales; the repository's own deletion removes the images on destroy.
        keepRemotely: true,
      },
      { parent: this, provider, dependsOn: [repository], customTimeouts: PUSH_TIMEOUTS },
    );

    return {
      digest: pushed.sha256Digest,
      imageRef: pulumi
        .all([tag.targetImage, pushed.sha256Digest])
        .apply(([image, digest]) => pinnedImageRef(image, digest)),
      repositoryId: repository.id,
    };
  }

  /**
   * `oci`: the shared repository, and the reference to the source digest in it. The reference carries
   * the repository as a dependency (through its URN, which a preview knows even before the
   * repository exists), so whatever reads it (the build, the deployment) comes after it.
   */
  private sharedMirror(
    name: string,
    args: OcirImageArgs,
    mirror: Extract<OcirImageMirror, { mode: "oci" }>,
    registry: pulumi.Output<string>,
    namespace: pulumi.Output<string>,
  ): PinnedImage {
    const repository = new oci.artifacts.ContainerRepository(
      `${name}-mirror`,
      {
        compartmentId: args.compartmentId,
        displayName: args.repository,
        isPublic: false,
        freeformTags: args.freeformTags,
      },
      {
        parent: this,
        // Other stacks serve from it: destroying this one must leave it and its images in place.
        retainOnDelete: true,
        // Import by OCID (the provider's importer is ImportStatePassthrough:
        // terraform-provider-oci internal/service/artifacts/artifacts_container_repository_resource.go:21-22);
        // the tags are the creating stack's and stay as they are.
        ...(mirror.adoptRepositoryId === undefined
          ? {}
          : { import: mirror.adoptRepositoryId, ignoreChanges: ["freeformTags"] }),
      },
    );
    const imageRef = pulumi
      .all([registry, namespace, args.repository, args.tag, repository.urn])
      .apply(([host, ns, repo, tag]) =>
        pinnedImageRef(ocirImageName(host, ns, repo, tag), mirror.sourceDigest),
      );
    return { digest: pulumi.output(mirror.sourceDigest), imageRef, repositoryId: repository.id };
  }
}

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createRequire } from "node:module";
import type { BuildManifest } from "./artifact/engine-cache";
import type { PackedArtifact } from "./artifact/pack-cache";
import { uploadArtifactCommand } from "./deployment/oci-task-commands";
import { artifactObjectName } from "./deployment/storage";
import type { RepositoryEntry } from "./model-repository";

// What packs here is required only by the stacks that pack here. require(), not import(): the same
// on-demand load under any CommonJS TypeScript loader (program/engine-build.ts says why).
const onDemand = createRequire(__filename);

/**
 * An engine built by hand, packed on this machine and uploaded from it. The local paths are plain
 * strings, not Inputs: the zip is packed before any resource exists, and its digest names the object.
 */
export interface LocalArtifactSource {
  readonly kind: "local";
  /** The rendered Triton model repository (configs, Python models, version folders). */
  readonly repository: readonly RepositoryEntry[];
  /** Engine directory built by hand (`rank<N>.engine`, `config.json`). */
  readonly engineDir: string;
  /** Local Hugging Face snapshot; only its tokenizer files are packed. */
  readonly modelDir: string;
  /** Where packed zips are kept between runs, relative to the project (state holds it). */
  readonly cacheDir: string;
  /** Region and OCI CLI profile of the upload, as the OCI provider uses them. */
  readonly region: string;
  readonly ociProfile?: string;
}

/** An artifact already in the bucket: found by the cache lookup, or uploaded by `EngineBuild`. */
export interface UploadedArtifactSource {
  readonly kind: "uploaded";
  readonly manifest: pulumi.Input<BuildManifest>;
}

export interface ModelArtifactArgs {
  /** Bucket and namespace the artifact lives in (the `ArtifactBucket`). */
  readonly bucket: pulumi.Input<string>;
  readonly namespace: pulumi.Input<string>;
  /** Top folder of the zip: OCI mounts it at `/opt/ds/model/deployed_model/<folder>`. */
  readonly repositoryFolder: string;
  readonly source: LocalArtifactSource | UploadedArtifactSource;
}

/**
 * The model artifact in the bucket, whichever way it got there: one object named by content, with
 * its sha256 and size. A hand-built engine is packed here and uploaded by a local command that skips
 * the upload when the object exists; nothing in state points at this machine's disk, and nothing is
 * ever deleted from the bucket by this stack.
 */
export class ModelArtifact extends pulumi.ComponentResource {
  public readonly objectName: pulumi.Output<string>;
  public readonly sha256: pulumi.Output<string>;
  public readonly bytes: pulumi.Output<number>;
  public readonly bucket: pulumi.Output<string>;
  public readonly namespace: pulumi.Output<string>;
  /** Resolves once the object is in the bucket. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: ModelArtifactArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:artifact:ModelArtifact", name, {}, opts);
    this.bucket = pulumi.output(args.bucket);
    this.namespace = pulumi.output(args.namespace);
    const source = args.source;
    if (source.kind === "uploaded") {
      const manifest = pulumi.output(source.manifest);
      this.objectName = manifest.apply((m) => m.object);
      this.sha256 = manifest.apply((m) => m.sha256);
      this.bytes = manifest.apply((m) => m.bytes);
      this.ready = this.objectName;
    } else {
      const packed: pulumi.Output<PackedArtifact> = pulumi.output(
        Promise.resolve().then(async () => {
          const { stageArtifactSources } = onDemand(
            "./deployment/artifact-sources",
          ) as typeof import("./deployment/artifact-sources");
          const { DEFAULT_CACHE_MAX_BYTES, packCached, pruneArtifactCache } = onDemand(
            "./artifact/pack-cache",
          ) as typeof import("./artifact/pack-cache");
          const sources = stageArtifactSources({ ...source, repositoryFolder: args.repositoryFolder });
          const result = await packCached(sources, source.cacheDir, args.repositoryFolder);
          pruneArtifactCache(source.cacheDir, DEFAULT_CACHE_MAX_BYTES, result.zipPath);
          return result;
        }),
      );
      this.sha256 = packed.sha256;
      this.bytes = packed.bytes;
      this.objectName = packed.sha256.apply((sha) => artifactObjectName(args.repositoryFolder, sha));
      const upload = new command.local.Command(
        `${name}-upload`,
        {
          create: pulumi
            .all([this.namespace, this.bucket, this.objectName, this.sha256, this.bytes])
            .apply(([namespace, bucket, object, sha256, bytes]) =>
              uploadArtifactCommand({
                namespace,
                bucket,
                object,
                sha256,
                bytes,
                cacheDir: source.cacheDir,
                region: source.region,
                profile: source.ociProfile,
              }),
            ),
        },
        // Uploading 15 GB from a laptop takes long; the object itself is never deleted by this stack.
        { parent: this, customTimeouts: { create: "180m", update: "180m" } },
      );
      this.ready = pulumi.all([upload.stdout, this.objectName]).apply(([, object]) => object);
    }
    this.registerOutputs({
      objectName: this.objectName,
      sha256: this.sha256,
      bytes: this.bytes,
      bucket: this.bucket,
      namespace: this.namespace,
    });
  }
}

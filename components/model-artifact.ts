import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BuildManifest } from "./artifact/engine-cache";
import { packCached, PackedArtifact, pruneArtifactCache } from "./artifact/pack-cache";
import { ociTaskCommand, shellQuote } from "../operations/oci-tasks";
import { engineFolder, RepositoryEntry, tokenizerFolder } from "./model-repository";
import { isTokenizerFile, PackSource } from "./artifact/packer";

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
  /** Upper bound of the pack cache; older zips are evicted beyond it. */
  readonly cacheMaxBytes: number;
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
 * Hand-built artifacts are named by the zip's digest (known only after packing); built ones by their
 * artifact key (known at preview). Either way equal content is one object and new content a new one.
 */
export function artifactObjectName(repositoryFolder: string, sha256: string): string {
  return `artifacts/${repositoryFolder}-${sha256}.zip`;
}

/**
 * Writes the rendered repository into a staging folder named by its content and returns the pack
 * sources: repository, engine into `tensorrt_llm/1`, tokenizer files into `tokenizer`. Big files are
 * packed from where they are, never copied.
 */
export function stageArtifactSources(args: {
  repositoryFolder: string;
  repository: readonly RepositoryEntry[];
  engineDir: string;
  modelDir: string;
  cacheDir: string;
}): PackSource[] {
  const problems: string[] = [];
  if (!existsSync(args.engineDir)) problems.push(`engine.prebuiltDir ${args.engineDir} does not exist`);
  if (!existsSync(args.modelDir)) problems.push(`model.localDir ${args.modelDir} does not exist`);
  if (problems.length > 0) {
    throw new Error(
      `${problems.join("; ")}: build the engine (docs/engine-by-hand.md) and point the keys at it`,
    );
  }
  const digest = createHash("sha256");
  for (const entry of args.repository) {
    digest.update(
      `${entry.kind}\0${entry.path}\0${entry.mode}\0${entry.kind === "file" ? entry.contents : ""}\0`,
    );
  }
  // The content-named folder is written once and never changes, so its mtimes stay stable and the
  // pack cache keeps hitting.
  const stagingRoot = join(args.cacheDir, "staging", digest.digest("hex").slice(0, 32));
  const repositoryDir = join(stagingRoot, args.repositoryFolder);
  if (!existsSync(stagingRoot)) {
    const partial = `${stagingRoot}.partial-${process.pid}`;
    for (const entry of args.repository) {
      const target = join(partial, entry.path);
      if (entry.kind === "directory") {
        mkdirSync(target, { recursive: true });
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.contents, { mode: entry.mode });
    }
    mkdirSync(dirname(stagingRoot), { recursive: true });
    renameIntoPlace(partial, stagingRoot);
  }
  return [
    { dir: repositoryDir, zipPrefix: args.repositoryFolder },
    { dir: args.engineDir, zipPrefix: engineFolder(args.repositoryFolder) },
    {
      dir: args.modelDir,
      zipPrefix: tokenizerFolder(args.repositoryFolder),
      // Snapshots nest other copies of weights and tokenizers (e.g. `original/`): top level only.
      include: (path) => !path.includes("/") && isTokenizerFile(path),
    },
  ];
}

function renameIntoPlace(from: string, to: string): void {
  // Another process may have staged the same content first; its copy is byte-identical.
  try {
    renameSync(from, to);
  } catch (error) {
    if (!existsSync(to)) throw error;
    rmSync(from, { recursive: true, force: true });
  }
}

/** The command that uploads a locally packed zip unless the bucket already has it (`cli/oci-task.ts`). */
export function uploadArtifactCommand(args: {
  namespace: string;
  bucket: string;
  object: string;
  sha256: string;
  bytes: number;
  cacheDir: string;
  region: string;
  profile?: string;
}): string {
  return ociTaskCommand(
    "upload-artifact",
    `--namespace ${shellQuote(args.namespace)} --bucket ${shellQuote(args.bucket)} --object ${shellQuote(args.object)}` +
      ` --sha256 ${args.sha256} --bytes ${args.bytes} --cache-dir ${shellQuote(args.cacheDir)}`,
    args.region,
    args.profile,
  );
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
          const sources = stageArtifactSources({ ...source, repositoryFolder: args.repositoryFolder });
          const result = await packCached(sources, source.cacheDir, args.repositoryFolder);
          pruneArtifactCache(source.cacheDir, source.cacheMaxBytes, result.zipPath);
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

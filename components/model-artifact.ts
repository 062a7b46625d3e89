import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { packCached, PackedArtifact } from "./artifact-cache";
import { engineFolder, RepositoryEntry, tokenizerFolder } from "./model-repository";
import { isTokenizerFile, PackSource } from "./packer";

/**
 * The local paths are plain strings, not Inputs: the zip is packed on this machine before any
 * resource exists, and its digest names the object.
 */
export interface ModelArtifactArgs {
  /** Bucket and namespace the artifact is uploaded to (the `ArtifactBucket`). */
  bucket: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  /** Top folder of the zip: OCI mounts it at `/opt/ds/model/deployed_model/<folder>`. */
  repositoryFolder: string;
  /** The rendered Triton model repository (configs, Python models, version folders). */
  repository: readonly RepositoryEntry[];
  /** Engine directory built by hand (`rank<N>.engine`, `config.json`). */
  engineDir: string;
  /** Local Hugging Face snapshot; only its tokenizer files are packed. */
  modelDir: string;
  /** Where packed zips are kept between runs, keyed by what went into them. */
  cacheDir: string;
}

/** Object names carry the content digest, so equal content is one object and new content a new one. */
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

/**
 * The model artifact: the Triton repository, the engine and the tokenizer in one deterministic zip,
 * uploaded to the artifact bucket under a content-addressed name. Objects are kept on destroy and
 * when replaced, so a later stack with the same content finds its artifact already there.
 */
export class ModelArtifact extends pulumi.ComponentResource {
  public readonly objectName: pulumi.Output<string>;
  public readonly sha256: pulumi.Output<string>;
  public readonly bytes: pulumi.Output<number>;
  public readonly bucket: pulumi.Output<string>;
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: ModelArtifactArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:artifact:ModelArtifact", name, {}, opts);
    const packed: pulumi.Output<PackedArtifact> = pulumi.output(
      Promise.resolve().then(() =>
        packCached(stageArtifactSources(args), args.cacheDir, args.repositoryFolder),
      ),
    );
    this.sha256 = packed.sha256;
    this.bytes = packed.bytes;
    this.objectName = packed.sha256.apply((sha) => artifactObjectName(args.repositoryFolder, sha));
    const object = new oci.objectstorage.StorageObject(
      `${name}-object`,
      {
        bucket: args.bucket,
        namespace: args.namespace,
        object: this.objectName,
        source: packed.zipPath,
        contentType: "application/zip",
        metadata: { sha256: packed.sha256 },
      },
      {
        parent: this,
        retainOnDelete: true,
        // The name already carries the content digest; a re-packed zip with a new mtime is the
        // same object and must not trigger a same-name replace (which would delete it).
        ignoreChanges: ["source"],
      },
    );
    this.bucket = object.bucket;
    this.namespace = object.namespace;
    this.registerOutputs({
      objectName: this.objectName,
      sha256: this.sha256,
      bytes: this.bytes,
      bucket: this.bucket,
      namespace: this.namespace,
    });
  }
}

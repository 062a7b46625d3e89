/**
 * Content-addressed names for what the artifact bucket caches. The engine key hashes everything that
 * decides the engine's bytes; the artifact key adds what decides the zip around it. Both are computed
 * from the stack configuration alone (no paths, mtimes or host names), so every machine, and every
 * stack, that asks for the same engine finds the same objects.
 */
import { createHash } from "node:crypto";
import { findShape } from "../config/catalog";
import type { StackConfig } from "../config/config";
import type { RepositoryEntry } from "../model-repository";

/**
 * Bumped whenever the build recipe (engine-build/*.sh: converter, quantizer, trtllm-build flags)
 * changes what it writes for the same settings, so engines of an older recipe are not reused.
 */
export const ENGINE_RECIPE_VERSION = 1;

/** Bumped whenever the artifact layout or the packer's bytes change for the same inputs. */
export const ARTIFACT_LAYOUT_VERSION = 1;

/** What makes the engine: the inputs of convert + trtllm-build, in the image, on the GPU model. */
export interface EngineKeyInputs {
  readonly recipe: number;
  readonly huggingFaceId: string;
  readonly revision: string;
  /** The image the engine is built and served in (pinned by digest when the user pinned it). */
  readonly image: string;
  /** Engines only load on the GPU architecture that built them (TensorRT developer guide, "Hardware Compatibility"). */
  readonly gpuModel: string;
  readonly dtype: string;
  readonly quantization: string;
  readonly tensorParallel: number;
  readonly maxBatchSize: number;
  readonly maxInputLen: number;
  readonly maxOutputLen: number;
  /**
   * Set (true) only when the engine is built for chunked context (`--use_paged_context_fmha
   * enable`), so the keys of every other engine stay what they were.
   */
  readonly pagedContextFmha?: true;
}

export function engineKeyInputs(config: StackConfig): EngineKeyInputs {
  const shape = findShape(config.build.shape);
  if (shape === undefined) throw new Error(`build.shape ${config.build.shape} is not in the catalogue`);
  const { engine } = config;
  return {
    recipe: ENGINE_RECIPE_VERSION,
    huggingFaceId: config.model.huggingFaceId,
    revision: config.model.revision,
    image: config.image.source,
    gpuModel: shape.gpuModel,
    dtype: engine.dtype,
    quantization: engine.quantization,
    tensorParallel: engine.tensorParallel,
    maxBatchSize: engine.maxBatchSize,
    maxInputLen: engine.maxInputLen,
    maxOutputLen: engine.maxOutputLen,
    ...(config.serving.enableChunkedContext ? { pagedContextFmha: true as const } : {}),
  };
}

/** JSON with object keys sorted at every level: the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .filter((key) => record[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function engineKey(inputs: EngineKeyInputs): string {
  return sha256(`engine\n${canonicalJson(inputs)}`);
}

/** Digest of the rendered Triton repository: every entry's kind, path, mode and bytes. */
export function repositoryDigest(repository: readonly RepositoryEntry[]): string {
  const hash = createHash("sha256");
  for (const entry of [...repository].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${entry.kind}\0${entry.path}\0${entry.mode}\0`);
    if (entry.kind === "file") hash.update(entry.contents);
    hash.update("\0");
  }
  return hash.digest("hex");
}

/**
 * The artifact is the engine (its key also fixes the tokenizer files: same model and revision), the
 * rendered repository around it, and the top folder it is mounted under.
 */
export function artifactKey(
  engine: string,
  repository: readonly RepositoryEntry[],
  repositoryFolder: string,
): string {
  return sha256(
    `artifact\n${canonicalJson({
      layout: ARTIFACT_LAYOUT_VERSION,
      engine,
      repository: repositoryDigest(repository),
      repositoryFolder,
    })}`,
  );
}

/** Where each cached thing lives in the artifact bucket. */
export const cacheObjects = {
  enginePrefix: (key: string) => `engines/${key}/`,
  engineArchive: (key: string) => `engines/${key}/engine.tar`,
  engineManifest: (key: string) => `engines/${key}/manifest.json`,
  artifactPrefix: (key: string) => `artifacts/${key}/`,
  artifactZip: (key: string) => `artifacts/${key}/model.zip`,
  artifactManifest: (key: string) => `artifacts/${key}/manifest.json`,
};

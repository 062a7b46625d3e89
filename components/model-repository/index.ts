/**
 * The Triton model repository of the deployment, derived from the stack configuration: the model
 * configurations of models.ts and the Python files they run. Pure apart from reading the Python
 * files shipped beside this file.
 *
 * Every path this module returns starts with the repository folder (`<serving.repositoryFolder>/`)
 * and uses `/`, exactly as the paths appear in the artifact zip and under ARTIFACT_MOUNT.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "../config/config";
import { repositoryPath, STREAMING_MODEL } from "../deployment/container-spec";
import { requireServingImage } from "../config/image-catalog";
import { toTextFormat } from "./model-config";
import { repositoryModels, type ModelRepositorySpec } from "./models";
import { checkEnsembleWiring } from "./wiring";

export { checkEnsembleWiring } from "./wiring";
export { toTextFormat } from "./model-config";
export type { ModelConfig } from "./model-config";
export { repositoryModels, type ModelRepositorySpec } from "./models";
export { requestInputs, samplingKnobs, type SamplingKnob } from "./request-interface";

/** Folder of the engine (`rank<N>.engine` + `config.json`), relative to the artifact root. */
export function engineFolder(repositoryFolder: string): string {
  return `${repositoryFolder}/tensorrt_llm/1`;
}

/** Folder of the tokenizer files, relative to the artifact root. */
export function tokenizerFolder(repositoryFolder: string): string {
  return `${repositoryFolder}/tokenizer`;
}

/**
 * Throws (with key, value and fix) for an image outside the catalogue: the request names would be
 * guesses, and a wrong name is ignored by the backend without an error.
 */
export function modelRepositorySpec(config: StackConfig): ModelRepositorySpec {
  const folder = config.serving.repositoryFolder;
  const mount = repositoryPath(folder);
  const image = requireServingImage(config.image.source);
  return {
    repositoryFolder: folder,
    maxBatchSize: config.engine.maxBatchSize,
    maxInputLen: config.engine.maxInputLen,
    decoupled: config.deployment.streaming,
    requestNames: image.requestNames,
    endId: config.model.resolved.eosTokenId,
    padId: config.model.resolved.padTokenId,
    tokenizerDir: `${mount}/tokenizer`,
    engineDir: `${mount}/tensorrt_llm/1`,
    kvCacheFreeGpuMemFraction: config.serving.kvCacheFreeGpuMemFraction,
    batchSchedulerPolicy: config.serving.batchSchedulerPolicy,
    enableChunkedContext: config.serving.enableChunkedContext,
    maxQueueDelayMicroseconds: config.serving.maxQueueDelayMicroseconds,
    maxQueueSize: config.serving.maxQueueSize,
    preprocessingInstances: config.serving.preprocessingInstances,
    postprocessingInstances: config.serving.postprocessingInstances,
    // Hugging Face's own defaults: a raw prompt gets the model's BOS (Llama needs it, Falcon has
    // none to add), and the completion comes back without eos or other control tokens.
    addSpecialTokens: true,
    skipSpecialTokens: true,
  };
}

export type RepositoryEntry =
  | { readonly kind: "file"; readonly path: string; readonly contents: string; readonly mode: number }
  | { readonly kind: "directory"; readonly path: string; readonly mode: number };

/**
 * The Python files each model runs from its version folder, and where they live beside this file.
 * Triton's Python backend puts the version folder on sys.path (python_backend r25.04
 * src/pb_stub.cc:2077), so model.py imports its neighbours by name.
 */
const PYTHON_FILES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  preprocessing: { "model.py": "preprocessing/model.py", "word_lists.py": "shared/word_lists.py" },
  postprocessing: {
    "model.py": "postprocessing/model.py",
    "incremental_text.py": "shared/incremental_text.py",
    "stop_strings.py": "shared/stop_strings.py",
  },
  [STREAMING_MODEL]: {
    "model.py": "tensorrt_llm_bls/model.py",
    "incremental_text.py": "shared/incremental_text.py",
    "stop_strings.py": "shared/stop_strings.py",
    "word_lists.py": "shared/word_lists.py",
  },
};

/** A Python file as shipped in this package, byte for byte (`<folder>/<file>` under python/). */
export function pythonSource(relativePath: string): string {
  return readFileSync(join(__dirname, "python", relativePath), "utf8");
}

/** The model.py of a Python model as shipped in this package. */
export function pythonModelSource(model: string): string {
  const files = PYTHON_FILES[model];
  if (files === undefined) throw new Error(`'${model}' is not a Python model of the repository`);
  return pythonSource(files["model.py"]);
}

/**
 * Every file of the repository except the engine and the tokenizer, which the packer adds under
 * `engineFolder` and `tokenizerFolder`. The version folders that hold no rendered file are listed
 * as directory entries so a writer creates them: Triton skips a model without a version folder.
 * Entries are sorted by path.
 */
export function renderModelRepository(spec: ModelRepositorySpec): RepositoryEntry[] {
  const models = repositoryModels(spec);
  const problems = checkEnsembleWiring(models);
  if (problems.length > 0) {
    throw new Error(`the rendered model repository is miswired:\n${problems.join("\n")}`);
  }
  const root = spec.repositoryFolder;
  const entries: RepositoryEntry[] = models.map((model) => ({
    kind: "file",
    path: `${root}/${model.name}/config.pbtxt`,
    contents: toTextFormat(model),
    mode: 0o644,
  }));
  for (const model of models) {
    for (const [file, source] of Object.entries(PYTHON_FILES[model.name] ?? {})) {
      entries.push({
        kind: "file",
        path: `${root}/${model.name}/1/${file}`,
        contents: pythonSource(source),
        mode: 0o644,
      });
    }
  }
  entries.push({ kind: "directory", path: `${root}/ensemble/1`, mode: 0o755 });
  entries.push({ kind: "directory", path: engineFolder(root), mode: 0o755 });
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

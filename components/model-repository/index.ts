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
import { chatFormat } from "../config/chat-templates";
import type { StackConfig } from "../config/config";
import { decoupledServing, defaultMaxTokens } from "../config/views";
import {
  modelRepositoryPath,
  repositoryPath,
  STREAMING_MODEL,
  TOKENIZER_FOLDER,
} from "../deployment/container-spec";
import {
  CHAT_TEMPLATE_FILE,
  type DeploymentApi,
  OPENAI_LAUNCHER,
  OPENAI_MODEL,
  OPENAI_MODELS_FOLDER,
} from "../deployment/openai-frontend";
import { requireServingImage } from "../config/image-catalog";
import { toTextFormat } from "./model-config";
import { repositoryModels, type ModelRepositorySpec } from "./models";
import { checkEnsembleWiring } from "./wiring";

export { checkEnsembleWiring } from "./wiring";
export { toTextFormat } from "./model-config";
export type { ModelConfig } from "./model-config";
export { repositoryModels, type ModelRepositorySpec } from "./models";
export { requestInputs, samplingKnobs, type SamplingKnob } from "./request-interface";

/**
 * Folder of the Triton models, relative to the artifact root: the artifact's folder itself, or on an
 * OpenAI stack its models/ subfolder, since the frontend loads every model its repository holds.
 */
export function modelsFolder(repositoryFolder: string, api: DeploymentApi = "triton"): string {
  return api === "openai" ? `${repositoryFolder}/${OPENAI_MODELS_FOLDER}` : repositoryFolder;
}

/** Folder of the engine (`rank<N>.engine` + `config.json`), relative to the artifact root. */
export function engineFolder(repositoryFolder: string, api: DeploymentApi = "triton"): string {
  return `${modelsFolder(repositoryFolder, api)}/tensorrt_llm/1`;
}

/** Folder of the tokenizer files, relative to the artifact root. */
export function tokenizerFolder(repositoryFolder: string): string {
  return `${repositoryFolder}/${TOKENIZER_FOLDER}`;
}

/**
 * Throws (with key, value and fix) for an image outside the catalogue: the request names would be
 * guesses, and a wrong name is ignored by the backend without an error.
 */
export function modelRepositorySpec(config: StackConfig): ModelRepositorySpec {
  const folder = config.serving.repositoryFolder;
  const mount = repositoryPath(folder);
  const image = requireServingImage(config.image.source);
  const { api } = config.deployment;
  const format = chatFormat(config.model.huggingFaceId);
  return {
    repositoryFolder: folder,
    api,
    maxBatchSize: config.engine.maxBatchSize,
    maxInputLen: config.engine.maxInputLen,
    decoupled: decoupledServing(config),
    requestNames: image.requestNames,
    endId: config.model.resolved.eosTokenId,
    padId: config.model.resolved.padTokenId,
    tokenizerDir: `${mount}/${TOKENIZER_FOLDER}`,
    engineDir: `${modelRepositoryPath(folder, api)}/tensorrt_llm/1`,
    kvCacheFreeGpuMemFraction: config.serving.kvCacheFreeGpuMemFraction,
    batchSchedulerPolicy: config.serving.batchSchedulerPolicy,
    enableChunkedContext: config.serving.enableChunkedContext,
    maxQueueDelayMicroseconds: config.serving.maxQueueDelayMicroseconds,
    maxQueueSize: config.serving.maxQueueSize,
    preprocessingInstances: config.serving.preprocessingInstances,
    postprocessingInstances: config.serving.postprocessingInstances,
    // Hugging Face's own defaults: a raw prompt gets the model's BOS (Llama needs it, Falcon has
    // none to add), and the completion comes back without eos or other control tokens. On an OpenAI
    // stack the prompt is a chat template's text, which holds the BOS already where the model has
    // one (Llama 3.1's and Mistral's templates begin with it): encoded as it is, not given a second.
    addSpecialTokens: api !== "openai",
    skipSpecialTokens: true,
    ...(api === "openai"
      ? {
          defaultMaxTokens: defaultMaxTokens(config),
          ...(format?.kind === "written" ? { chatTemplate: format.template } : {}),
        }
      : {}),
  };
}

export type RepositoryEntry =
  | { readonly kind: "file"; readonly path: string; readonly contents: string; readonly mode: number }
  | { readonly kind: "directory"; readonly path: string; readonly mode: number };

/** The API a rendered repository is laid out for: an OpenAI stack's holds the frontend's launcher. */
export function repositoryApi(entries: readonly RepositoryEntry[], repositoryFolder: string): DeploymentApi {
  const launcher = `${repositoryFolder}/${OPENAI_LAUNCHER}`;
  return entries.some((entry) => entry.path === launcher) ? "openai" : "triton";
}

/** The chat template an OpenAI stack's repository carries for its tokenizer, if this stack writes one. */
export function writtenChatTemplate(
  entries: readonly RepositoryEntry[],
  repositoryFolder: string,
): string | undefined {
  const file = `${repositoryFolder}/${CHAT_TEMPLATE_FILE}`;
  const entry = entries.find((candidate) => candidate.path === file);
  return entry?.kind === "file" ? entry.contents : undefined;
}

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
// The OpenAI frontend's served model is tensorrt_llm_bls under the name clients send.
const MODEL_FILES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  ...PYTHON_FILES,
  [OPENAI_MODEL]: PYTHON_FILES[STREAMING_MODEL],
};

/** The OpenAI frontend's launcher, shipped at the top of an OpenAI stack's artifact folder. */
const LAUNCHER_SOURCE = "launcher/openai_frontend.py";

/** A Python file as shipped in this package, byte for byte (`<folder>/<file>` under python/). */
export function pythonSource(relativePath: string): string {
  return readFileSync(join(__dirname, "python", relativePath), "utf8");
}

/** The model.py of a Python model as shipped in this package. */
export function pythonModelSource(model: string): string {
  const files = MODEL_FILES[model];
  if (files === undefined) throw new Error(`'${model}' is not a Python model of the repository`);
  return pythonSource(files["model.py"]);
}

/**
 * Every file of the repository except the engine and the tokenizer, which the packer adds under
 * `engineFolder` and `tokenizerFolder`. The version folders that hold no rendered file are listed
 * as directory entries so a writer creates them: Triton skips a model without a version folder.
 * An OpenAI stack's models go under models/, with the frontend's launcher and the chat template this
 * stack writes (where the model has none) beside them. Entries are sorted by path.
 */
export function renderModelRepository(spec: ModelRepositorySpec): RepositoryEntry[] {
  const models = repositoryModels(spec);
  const problems = checkEnsembleWiring(models);
  if (problems.length > 0) {
    throw new Error(`the rendered model repository is miswired:\n${problems.join("\n")}`);
  }
  const root = spec.repositoryFolder;
  const modelsRoot = modelsFolder(root, spec.api);
  const entries: RepositoryEntry[] = models.map((model) => ({
    kind: "file",
    path: `${modelsRoot}/${model.name}/config.pbtxt`,
    contents: toTextFormat(model),
    mode: 0o644,
  }));
  for (const model of models) {
    for (const [file, source] of Object.entries(MODEL_FILES[model.name] ?? {})) {
      entries.push({
        kind: "file",
        path: `${modelsRoot}/${model.name}/1/${file}`,
        contents: pythonSource(source),
        mode: 0o644,
      });
    }
  }
  if (models.some((model) => model.name === "ensemble")) {
    entries.push({ kind: "directory", path: `${modelsRoot}/ensemble/1`, mode: 0o755 });
  }
  entries.push({ kind: "directory", path: engineFolder(root, spec.api), mode: 0o755 });
  if (spec.api === "openai") {
    entries.push({
      kind: "file",
      path: `${root}/${OPENAI_LAUNCHER}`,
      contents: pythonSource(LAUNCHER_SOURCE),
      mode: 0o644,
    });
    if (spec.chatTemplate !== undefined) {
      entries.push({
        kind: "file",
        path: `${root}/${CHAT_TEMPLATE_FILE}`,
        contents: spec.chatTemplate,
        mode: 0o644,
      });
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

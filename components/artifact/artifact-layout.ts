/**
 * What a servable artifact holds: the Triton model repository's models, the engine beside its
 * build config, and the tokenizer files chosen from a model snapshot.
 */
import {
  OPENAI_LAUNCHER,
  OPENAI_MODELS_FOLDER,
  OPENAI_REPOSITORY_MODELS,
} from "../deployment/openai-frontend";
import { normalizeZipFolder } from "./zip-paths";

const TOKENIZER_FILES = new Set([
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "vocab.txt",
  "added_tokens.json",
  "generation_config.json",
  // AutoTokenizer reads the model config to pick the tokenizer class.
  "config.json",
]);

/**
 * Whether a file of a Hugging Face model snapshot belongs in the artifact's tokenizer folder. Takes
 * the path relative to the snapshot root; only top-level files qualify, because AutoTokenizer reads
 * the root, and subfolders of a snapshot hold other variants (onnx/, original/...). Weights, indexes
 * and READMEs never qualify. Usable as `PackSource.include` as is.
 */
export function isTokenizerFile(name: string): boolean {
  return !name.includes("/") && TOKENIZER_FILES.has(name);
}

const TRITON_MODELS = ["ensemble", "preprocessing", "postprocessing", "tensorrt_llm"] as const;
const PYTHON_MODELS = ["preprocessing", "postprocessing"] as const;

/**
 * The models of each layout and the Python ones among them. An artifact whose folder holds the
 * OpenAI frontend's launcher is an OpenAI stack's: its models under models/, which must hold them
 * alone, since the frontend loads every model it finds there (deployment/openai-frontend.ts).
 */
const LAYOUTS = {
  triton: { models: TRITON_MODELS, python: PYTHON_MODELS, modelsFolder: "", exclusive: false },
  openai: {
    models: OPENAI_REPOSITORY_MODELS,
    python: OPENAI_REPOSITORY_MODELS.filter((model) => model !== "tensorrt_llm"),
    modelsFolder: OPENAI_MODELS_FOLDER,
    exclusive: true,
  },
} as const;

/**
 * Problems that keep a zip from being a servable artifact, one sentence each (what is missing, how to
 * fix it); empty when complete. `entryPaths` are zip paths, directories ending in "/";
 * `repositoryFolder` is the zip folder of the Triton model repository ("" for the zip root).
 */
export function checkArtifactLayout(entryPaths: string[], repositoryFolder: string): string[] {
  const folder = normalizeZipFolder(repositoryFolder, "repositoryFolder");
  const top = (rel: string): string => (folder === "" ? rel : `${folder}/${rel}`);
  const entries = new Set(entryPaths);
  const layout = entries.has(top(OPENAI_LAUNCHER)) ? LAYOUTS.openai : LAYOUTS.triton;
  const at = (rel: string): string => top(layout.modelsFolder === "" ? rel : `${layout.modelsFolder}/${rel}`);
  const problems: string[] = [];
  for (const model of layout.models) {
    if (!entries.has(at(`${model}/config.pbtxt`))) {
      problems.push(
        `missing ${at(`${model}/config.pbtxt`)}: Triton cannot load model '${model}' without it; render the model repository into the packed folder`,
      );
    }
  }
  for (const model of layout.python) {
    if (!entries.has(at(`${model}/1/model.py`))) {
      problems.push(
        `missing ${at(`${model}/1/model.py`)}: the Python backend runs version 1 of '${model}' from it; render the model repository into the packed folder`,
      );
    }
  }
  if (layout.exclusive) {
    const modelsDir = at("");
    const others = new Set(
      entryPaths
        .filter((p) => p.startsWith(modelsDir) && p.length > modelsDir.length)
        .map((p) => p.slice(modelsDir.length).split("/")[0])
        .filter((name) => !(layout.models as readonly string[]).includes(name)),
    );
    for (const other of [...others].sort()) {
      problems.push(
        `unexpected ${modelsDir}${other}: the OpenAI frontend loads every model of ${modelsDir} and serves it; remove it from the packed folder`,
      );
    }
  } else {
    const ensembleVersion = at("ensemble/1/");
    if (!entryPaths.some((p) => p.startsWith(ensembleVersion))) {
      problems.push(
        `missing folder ${ensembleVersion}: Triton needs a version folder for the ensemble even though it is empty; create it (mkdir) in the packed folder`,
      );
    }
  }
  const engineDir = at("tensorrt_llm/1/");
  const engineFiles = entryPaths
    .filter((p) => p.startsWith(engineDir))
    .map((p) => p.slice(engineDir.length))
    .filter((name) => name !== "" && !name.includes("/"));
  if (!engineFiles.some((name) => name.endsWith(".engine"))) {
    problems.push(
      `missing engine in ${engineDir}: it must hold the rank<N>.engine files written by trtllm-build; copy the build's output dir there`,
    );
  }
  if (!engineFiles.includes("config.json")) {
    problems.push(
      `missing ${engineDir}config.json: the TensorRT-LLM backend reads the engine's build config from it; copy it from the trtllm-build output dir beside the engine`,
    );
  }
  const tokenizerDir = top("tokenizer/");
  if (!entries.has(`${tokenizerDir}tokenizer.json`) && !entries.has(`${tokenizerDir}tokenizer.model`)) {
    problems.push(
      `missing tokenizer in ${tokenizerDir}: pre/postprocessing load tokenizer.json or tokenizer.model from it; pack the model snapshot's tokenizer files there (include: isTokenizerFile)`,
    );
  }
  if (layout.exclusive && !entries.has(`${tokenizerDir}tokenizer_config.json`)) {
    problems.push(
      `missing ${tokenizerDir}tokenizer_config.json: the OpenAI frontend renders chat prompts with the chat template it holds; pack the model snapshot's tokenizer files there`,
    );
  }
  return problems;
}

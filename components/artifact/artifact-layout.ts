/**
 * What a servable artifact holds: the Triton model repository's models, the engine beside its
 * build config, and the tokenizer files chosen from a model snapshot.
 */
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
 * Problems that keep a zip from being a servable artifact, one sentence each (what is missing, how to
 * fix it); empty when complete. `entryPaths` are zip paths, directories ending in "/";
 * `repositoryFolder` is the zip folder of the Triton model repository ("" for the zip root).
 */
export function checkArtifactLayout(entryPaths: string[], repositoryFolder: string): string[] {
  const folder = normalizeZipFolder(repositoryFolder, "repositoryFolder");
  const at = (rel: string): string => (folder === "" ? rel : `${folder}/${rel}`);
  const entries = new Set(entryPaths);
  const problems: string[] = [];
  for (const model of TRITON_MODELS) {
    if (!entries.has(at(`${model}/config.pbtxt`))) {
      problems.push(
        `missing ${at(`${model}/config.pbtxt`)}: Triton cannot load model '${model}' without it; render the model repository into the packed folder`,
      );
    }
  }
  for (const model of PYTHON_MODELS) {
    if (!entries.has(at(`${model}/1/model.py`))) {
      problems.push(
        `missing ${at(`${model}/1/model.py`)}: the Python backend runs version 1 of '${model}' from it; render the model repository into the packed folder`,
      );
    }
  }
  const ensembleVersion = at("ensemble/1/");
  if (!entryPaths.some((p) => p.startsWith(ensembleVersion))) {
    problems.push(
      `missing folder ${ensembleVersion}: Triton needs a version folder for the ensemble even though it is empty; create it (mkdir) in the packed folder`,
    );
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
  const tokenizerDir = at("tokenizer/");
  if (!entries.has(`${tokenizerDir}tokenizer.json`) && !entries.has(`${tokenizerDir}tokenizer.model`)) {
    problems.push(
      `missing tokenizer in ${tokenizerDir}: pre/postprocessing load tokenizer.json or tokenizer.model from it; pack the model snapshot's tokenizer files there (include: isTokenizerFile)`,
    );
  }
  return problems;
}

/**
 * The Triton model repository of the deployment, derived from the stack configuration: four models
 * (preprocessing -> tensorrt_llm -> postprocessing, chained by the ensemble) and, on a decoupled
 * (streaming) stack, the `tensorrt_llm_bls` model that streams exact text. Pure apart from reading
 * the Python files shipped beside this file.
 *
 * Every path this module returns starts with the repository folder (`<serving.repositoryFolder>/`)
 * and uses `/`, exactly as the paths appear in the artifact zip and under ARTIFACT_MOUNT.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "../config/config";
import { repositoryPath, STREAMING_MODEL } from "../deployment/container-spec";
import { requireServingImage, type RequestTensorNames } from "../config/image-catalog";
import { DataType, ModelConfig, ModelInput, ModelOutput, toTextFormat } from "./model-config";
import { checkEnsembleWiring } from "./wiring";

export { checkEnsembleWiring } from "./wiring";
export { toTextFormat } from "./model-config";
export type { ModelConfig } from "./model-config";

/** Everything the rendered repository depends on; built from the stack by `modelRepositorySpec`. */
export interface ModelRepositorySpec {
  readonly repositoryFolder: string;
  /** The engine's own max batch size: it wins at run time, so every model must agree with it. */
  readonly maxBatchSize: number;
  /** Longest prompt the engine accepts; preprocessing rejects longer ones with a clear message. */
  readonly maxInputLen: number;
  /** Decoupled (streaming) transaction policy, on exactly when the deployment streams. */
  readonly decoupled: boolean;
  /** The names the serving image's TensorRT-LLM backend reads for the renamed request knobs. */
  readonly requestNames: RequestTensorNames;
  /** Defaults for requests that send no `end_id` / `pad_id`. */
  readonly endId: number;
  readonly padId: number;
  /** Absolute paths inside the serving container. */
  readonly tokenizerDir: string;
  readonly engineDir: string;
  readonly kvCacheFreeGpuMemFraction: number;
  readonly batchSchedulerPolicy: "guaranteed_no_evict" | "max_utilization";
  readonly enableChunkedContext: boolean;
  readonly maxQueueDelayMicroseconds: number;
  readonly maxQueueSize: number;
  readonly preprocessingInstances: number;
  readonly postprocessingInstances: number;
  readonly addSpecialTokens: boolean;
  readonly skipSpecialTokens: boolean;
}

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

const scalar = (name: string, dataType: DataType, optional = false): ModelInput => ({
  name,
  dataType,
  dims: [1],
  ...(optional ? { optional } : {}),
});

/** The same tensor as the tensorrt_llm backend reads it: one value per request, not a vector. */
const engineScalar = (name: string, dataType: DataType, optional = false): ModelInput => ({
  ...scalar(name, dataType, optional),
  reshape: [],
});

/**
 * What a `/generate` request may send besides the sampling knobs: the ensemble's inputs, handed to
 * preprocessing as they are. `stream` is read only to refuse it: the ensemble decodes each partial
 * response alone, which breaks multi-byte characters, so it never streams.
 */
const REQUEST_INPUTS: readonly ModelInput[] = [
  scalar("text_input", "TYPE_STRING"),
  scalar("max_tokens", "TYPE_INT32"),
  { name: "bad_words", dataType: "TYPE_STRING", dims: [-1], optional: true },
  { name: "stop_words", dataType: "TYPE_STRING", dims: [-1], optional: true },
  scalar("end_id", "TYPE_INT32", true),
  scalar("pad_id", "TYPE_INT32", true),
  scalar("stream", "TYPE_BOOL", true),
];

/** What the engine returns and postprocessing detokenizes. */
const ENGINE_OUTPUTS: readonly ModelOutput[] = [
  { name: "output_ids", dataType: "TYPE_INT32", dims: [-1, -1] },
  { name: "sequence_length", dataType: "TYPE_INT32", dims: [-1] },
];

/**
 * Which row of a multi-row request a response belongs to: a decoupled engine answers each row on
 * its own (tensorrtllm_backend v0.18.2 OutputFieldsNames::batchIndex, inflight_batcher_llm/src/utils.h:124).
 */
const BATCH_INDEX: ModelOutput = { name: "batch_index", dataType: "TYPE_INT32", dims: [1] };

const TEXT_OUTPUT: ModelOutput = { name: "text_output", dataType: "TYPE_STRING", dims: [-1] };

/** `[2, L]`: row 0 the concatenated token ids of all words, row 1 each word's end offset. */
const wordList = (name: string): ModelInput => ({
  name,
  dataType: "TYPE_INT32",
  dims: [2, -1],
  optional: true,
  allowRaggedBatch: true,
});

/** A request knob passed straight to the engine: the request's name, the engine's, the type. */
export interface SamplingKnob {
  readonly request: string;
  readonly engine: string;
  readonly dataType: DataType;
}

/**
 * The sampling knobs a request may send. The names of the two that TensorRT-LLM renamed come from
 * the image catalogue; request and engine use the same name for them, as NVIDIA's ensemble does.
 */
export function samplingKnobs(names: RequestTensorNames): SamplingKnob[] {
  return [
    { request: "top_k", engine: "runtime_top_k", dataType: "TYPE_INT32" },
    { request: "top_p", engine: "runtime_top_p", dataType: "TYPE_FP32" },
    { request: "temperature", engine: "temperature", dataType: "TYPE_FP32" },
    { request: "repetition_penalty", engine: "repetition_penalty", dataType: "TYPE_FP32" },
    { request: "presence_penalty", engine: "presence_penalty", dataType: "TYPE_FP32" },
    { request: "frequency_penalty", engine: "frequency_penalty", dataType: "TYPE_FP32" },
    { request: names.minTokens, engine: names.minTokens, dataType: "TYPE_INT32" },
    { request: names.seed, engine: names.seed, dataType: "TYPE_UINT64" },
  ];
}

function preprocessing(spec: ModelRepositorySpec): ModelConfig {
  return {
    name: "preprocessing",
    backend: "python",
    maxBatchSize: spec.maxBatchSize,
    input: REQUEST_INPUTS,
    output: [
      { name: "input_ids", dataType: "TYPE_INT32", dims: [-1] },
      { name: "input_lengths", dataType: "TYPE_INT32", dims: [1] },
      { name: "request_output_len", dataType: "TYPE_INT32", dims: [1] },
      { name: "bad_words_list", dataType: "TYPE_INT32", dims: [2, -1] },
      { name: "stop_words_list", dataType: "TYPE_INT32", dims: [2, -1] },
      { name: "resolved_end_id", dataType: "TYPE_INT32", dims: [1] },
      { name: "resolved_pad_id", dataType: "TYPE_INT32", dims: [1] },
    ],
    instanceGroup: [{ count: spec.preprocessingInstances, kind: "KIND_CPU" }],
    dynamicBatching: {
      maxQueueDelayMicroseconds: spec.maxQueueDelayMicroseconds,
      maxQueueSize: spec.maxQueueSize,
    },
    parameters: {
      tokenizer_dir: spec.tokenizerDir,
      add_special_tokens: String(spec.addSpecialTokens),
      default_end_id: String(spec.endId),
      default_pad_id: String(spec.padId),
      max_input_len: String(spec.maxInputLen),
      // Where a `stream: true` request is sent instead; empty when the stack does not stream.
      streaming_model: spec.decoupled ? STREAMING_MODEL : "",
    },
  };
}

function tensorrtLlm(spec: ModelRepositorySpec): ModelConfig {
  return {
    name: "tensorrt_llm",
    backend: "tensorrtllm",
    maxBatchSize: spec.maxBatchSize,
    decoupled: spec.decoupled,
    dynamicBatching: {
      maxQueueDelayMicroseconds: spec.maxQueueDelayMicroseconds,
      maxQueueSize: spec.maxQueueSize,
    },
    // Only inputs a caller feeds are declared. An optional input left out of the ensemble's step
    // (`streaming`, fed by the streaming model only) is accepted by Triton 25.04: NVIDIA's v0.18.2
    // ensemble leaves most of tensorrt_llm's optional inputs unmapped, `stop` among them.
    input: [
      // Ragged rows let Triton hand prompts of different lengths over together; with input
      // padding removed in the engine, each request keeps only input_lengths of its ids.
      { name: "input_ids", dataType: "TYPE_INT32", dims: [-1], allowRaggedBatch: true },
      engineScalar("input_lengths", "TYPE_INT32"),
      engineScalar("request_output_len", "TYPE_INT32"),
      engineScalar("end_id", "TYPE_INT32", true),
      engineScalar("pad_id", "TYPE_INT32", true),
      wordList("bad_words_list"),
      wordList("stop_words_list"),
      ...samplingKnobs(spec.requestNames).map((knob) => engineScalar(knob.engine, knob.dataType, true)),
      // utils.h:133 (v0.18.2) kStreamingInputTensorName.
      engineScalar("streaming", "TYPE_BOOL", true),
    ],
    output: [...ENGINE_OUTPUTS, BATCH_INDEX],
    // The backend places the engine on the GPUs itself (one MPI rank per GPU); a GPU instance
    // group would make Triton load one copy per device.
    instanceGroup: [{ count: 1, kind: "KIND_CPU" }],
    parameters: {
      gpt_model_type: "inflight_fused_batching",
      gpt_model_path: spec.engineDir,
      max_beam_width: "1",
      // The paged KV cache takes this share of the GPU memory left after the weights load.
      kv_cache_free_gpu_mem_fraction: String(spec.kvCacheFreeGpuMemFraction),
      batch_scheduler_policy: spec.batchSchedulerPolicy,
      enable_chunked_context: String(spec.enableChunkedContext),
      // The completion only: /generate returns what the model wrote, not the prompt again.
      exclude_input_in_output: "true",
      FORCE_CPU_ONLY_INPUT_TENSORS: "no",
    },
  };
}

function postprocessing(spec: ModelRepositorySpec): ModelConfig {
  return {
    name: "postprocessing",
    backend: "python",
    maxBatchSize: spec.maxBatchSize,
    input: ENGINE_OUTPUTS,
    output: [TEXT_OUTPUT],
    instanceGroup: [{ count: spec.postprocessingInstances, kind: "KIND_CPU" }],
    dynamicBatching: {},
    parameters: {
      tokenizer_dir: spec.tokenizerDir,
      skip_special_tokens: String(spec.skipSpecialTokens),
    },
  };
}

/** Every input a client may send to the ensemble or the streaming model, with its type. */
export function requestInputs(spec: ModelRepositorySpec): ModelInput[] {
  return [
    ...REQUEST_INPUTS,
    ...samplingKnobs(spec.requestNames).map((knob) => scalar(knob.request, knob.dataType, true)),
  ];
}

function ensemble(spec: ModelRepositorySpec): ModelConfig {
  const knobs = samplingKnobs(spec.requestNames);
  return {
    name: "ensemble",
    platform: "ensemble",
    maxBatchSize: spec.maxBatchSize,
    // Triton derives this from the steps; written out so the file states what the server does.
    decoupled: spec.decoupled,
    input: requestInputs(spec),
    output: [TEXT_OUTPUT, BATCH_INDEX],
    ensembleSteps: [
      {
        modelName: "preprocessing",
        modelVersion: -1,
        inputMap: Object.fromEntries(REQUEST_INPUTS.map(({ name }) => [name, name])),
        outputMap: {
          input_ids: "_input_ids",
          input_lengths: "_input_lengths",
          request_output_len: "_request_output_len",
          bad_words_list: "_bad_words_list",
          stop_words_list: "_stop_words_list",
          resolved_end_id: "_end_id",
          resolved_pad_id: "_pad_id",
        },
      },
      {
        modelName: "tensorrt_llm",
        modelVersion: -1,
        inputMap: {
          input_ids: "_input_ids",
          input_lengths: "_input_lengths",
          request_output_len: "_request_output_len",
          bad_words_list: "_bad_words_list",
          stop_words_list: "_stop_words_list",
          end_id: "_end_id",
          pad_id: "_pad_id",
          ...Object.fromEntries(knobs.map((knob) => [knob.engine, knob.request])),
        },
        outputMap: {
          output_ids: "_output_ids",
          sequence_length: "_sequence_length",
          batch_index: "batch_index",
        },
      },
      {
        // Fed by tensorrt_llm alone: Triton rejects a step mixing tensors from a decoupled model
        // with any other source.
        modelName: "postprocessing",
        modelVersion: -1,
        inputMap: { output_ids: "_output_ids", sequence_length: "_sequence_length" },
        outputMap: { text_output: "text_output" },
      },
    ],
  };
}

/**
 * The decoupled BLS model a streaming stack serves `/generate_stream` from: it calls preprocessing
 * and tensorrt_llm itself, re-decodes the tokens generated so far and sends only the new complete
 * text, so the streamed pieces add up to exactly the whole answer.
 */
function streamingModel(spec: ModelRepositorySpec): ModelConfig {
  const knobs = samplingKnobs(spec.requestNames);
  return {
    name: STREAMING_MODEL,
    backend: "python",
    maxBatchSize: spec.maxBatchSize,
    decoupled: true,
    input: requestInputs(spec),
    output: [TEXT_OUTPUT, BATCH_INDEX],
    instanceGroup: [{ count: 1, kind: "KIND_CPU" }],
    parameters: {
      tokenizer_dir: spec.tokenizerDir,
      skip_special_tokens: String(spec.skipSpecialTokens),
      // Request knob -> engine input, from the image catalogue.
      engine_inputs: JSON.stringify(Object.fromEntries(knobs.map((knob) => [knob.request, knob.engine]))),
    },
  };
}

/** The model configurations, in the order Triton loads them (the ensemble after its steps). */
export function repositoryModels(spec: ModelRepositorySpec): ModelConfig[] {
  const models = [preprocessing(spec), tensorrtLlm(spec), postprocessing(spec), ensemble(spec)];
  return spec.decoupled ? [...models, streamingModel(spec)] : models;
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
  preprocessing: { "model.py": "preprocessing/model.py", "word_lists.py": "preprocessing/word_lists.py" },
  postprocessing: {
    "model.py": "postprocessing/model.py",
    "incremental_text.py": "tensorrt_llm_bls/incremental_text.py",
  },
  [STREAMING_MODEL]: {
    "model.py": "tensorrt_llm_bls/model.py",
    "incremental_text.py": "tensorrt_llm_bls/incremental_text.py",
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

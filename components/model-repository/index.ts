/**
 * The Triton model repository of the deployment: four models (preprocessing -> tensorrt_llm ->
 * postprocessing, chained by the ensemble) derived from the stack configuration. Pure apart from
 * reading the two Python models shipped beside this file.
 *
 * Every path this module returns starts with the repository folder (`<serving.repositoryFolder>/`)
 * and uses `/`, exactly as the paths appear in the artifact zip and under ARTIFACT_MOUNT.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "../config";
import { repositoryPath } from "../container-spec";
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

export function modelRepositorySpec(config: StackConfig): ModelRepositorySpec {
  const folder = config.serving.repositoryFolder;
  const mount = repositoryPath(folder);
  return {
    repositoryFolder: folder,
    maxBatchSize: config.engine.maxBatchSize,
    maxInputLen: config.engine.maxInputLen,
    decoupled: config.deployment.streaming,
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

/** What a `/generate` request may send: the ensemble's inputs, handed to preprocessing as they are. */
const REQUEST_INPUTS: readonly ModelInput[] = [
  scalar("text_input", "TYPE_STRING"),
  scalar("max_tokens", "TYPE_INT32"),
  { name: "bad_words", dataType: "TYPE_STRING", dims: [-1], optional: true },
  { name: "stop_words", dataType: "TYPE_STRING", dims: [-1], optional: true },
  scalar("end_id", "TYPE_INT32", true),
  scalar("pad_id", "TYPE_INT32", true),
];

/** What the engine returns and postprocessing detokenizes. */
const ENGINE_OUTPUTS: readonly ModelOutput[] = [
  { name: "output_ids", dataType: "TYPE_INT32", dims: [-1, -1] },
  { name: "sequence_length", dataType: "TYPE_INT32", dims: [-1] },
];

/** `[2, L]`: row 0 the concatenated token ids of all words, row 1 each word's end offset. */
const wordList = (name: string): ModelInput => ({
  name,
  dataType: "TYPE_INT32",
  dims: [2, -1],
  optional: true,
  allowRaggedBatch: true,
});

/**
 * Request knobs passed straight from the ensemble to the engine: [ensemble input, engine input,
 * type]. The engine-side names are those of TensorRT-LLM's Triton backend since it moved into
 * the TensorRT-LLM repository (`min_tokens`, `seed`).
 */
const SAMPLING: readonly (readonly [string, string, DataType])[] = [
  ["top_k", "runtime_top_k", "TYPE_INT32"],
  ["top_p", "runtime_top_p", "TYPE_FP32"],
  ["temperature", "temperature", "TYPE_FP32"],
  ["repetition_penalty", "repetition_penalty", "TYPE_FP32"],
  ["presence_penalty", "presence_penalty", "TYPE_FP32"],
  ["frequency_penalty", "frequency_penalty", "TYPE_FP32"],
  ["min_tokens", "min_tokens", "TYPE_INT32"],
  ["random_seed", "seed", "TYPE_UINT64"],
  ["stream", "streaming", "TYPE_BOOL"],
];

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
    // Only inputs the ensemble feeds are declared: Triton versions before optional-input support
    // in ensembles reject a step whose model has unmapped inputs.
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
      ...SAMPLING.map(([, engineName, dataType]) => engineScalar(engineName, dataType, true)),
    ],
    output: ENGINE_OUTPUTS,
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
    output: [{ name: "text_output", dataType: "TYPE_STRING", dims: [-1] }],
    instanceGroup: [{ count: spec.postprocessingInstances, kind: "KIND_CPU" }],
    dynamicBatching: {},
    parameters: {
      tokenizer_dir: spec.tokenizerDir,
      skip_special_tokens: String(spec.skipSpecialTokens),
    },
  };
}

function ensemble(spec: ModelRepositorySpec): ModelConfig {
  return {
    name: "ensemble",
    platform: "ensemble",
    maxBatchSize: spec.maxBatchSize,
    // Triton derives this from the steps; written out so the file states what the server does.
    decoupled: spec.decoupled,
    input: [...REQUEST_INPUTS, ...SAMPLING.map(([name, , dataType]) => scalar(name, dataType, true))],
    output: [{ name: "text_output", dataType: "TYPE_STRING", dims: [-1] }],
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
          ...Object.fromEntries(SAMPLING.map(([name, engineName]) => [engineName, name])),
        },
        outputMap: { output_ids: "_output_ids", sequence_length: "_sequence_length" },
      },
      {
        // Fed by tensorrt_llm alone: with streaming, every partial response passes through here,
        // and Triton rejects a step mixing tensors from a decoupled model with any other source.
        modelName: "postprocessing",
        modelVersion: -1,
        inputMap: { output_ids: "_output_ids", sequence_length: "_sequence_length" },
        outputMap: { text_output: "text_output" },
      },
    ],
  };
}

/** The four model configurations, in the order Triton loads them (the ensemble last). */
export function repositoryModels(spec: ModelRepositorySpec): ModelConfig[] {
  return [preprocessing(spec), tensorrtLlm(spec), postprocessing(spec), ensemble(spec)];
}

export type RepositoryEntry =
  | { readonly kind: "file"; readonly path: string; readonly contents: string; readonly mode: number }
  | { readonly kind: "directory"; readonly path: string; readonly mode: number };

/** The Python models as shipped in this package, byte for byte. */
export function pythonModelSource(model: "preprocessing" | "postprocessing"): string {
  return readFileSync(join(__dirname, "python", model, "model.py"), "utf8");
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
  for (const model of ["preprocessing", "postprocessing"] as const) {
    entries.push({
      kind: "file",
      path: `${root}/${model}/1/model.py`,
      contents: pythonModelSource(model),
      mode: 0o644,
    });
  }
  entries.push({ kind: "directory", path: `${root}/ensemble/1`, mode: 0o755 });
  entries.push({ kind: "directory", path: engineFolder(root), mode: 0o755 });
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

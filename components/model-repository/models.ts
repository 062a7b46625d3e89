/**
 * The config.pbtxt of each model of the repository, as typed data: four models (preprocessing ->
 * tensorrt_llm -> postprocessing, chained by the ensemble) and, on a decoupled (streaming) stack, the
 * `tensorrt_llm_bls` model that streams exact text and applies stop strings. Pure.
 */
import { STREAMING_MODEL } from "../deployment/container-spec";
import { type DeploymentApi, OPENAI_MODEL } from "../deployment/openai-frontend";
import type { RequestTensorNames } from "../config/image-catalog";
import type { DataType, ModelConfig, ModelInput, ModelOutput } from "./model-config";
import {
  INCLUDE_STOP_STRING,
  PREPROCESSING_REQUEST_INPUTS,
  requestInputs,
  samplingKnobs,
  scalar,
  STOP_WORDS,
} from "./request-interface";

/** Everything the rendered repository depends on; built from the stack by `modelRepositorySpec`. */
export interface ModelRepositorySpec {
  readonly repositoryFolder: string;
  /**
   * `openai`: the repository the image's OpenAI frontend loads whole (deployment/openai-frontend.ts):
   * preprocessing, tensorrt_llm and the streaming model under the name clients send, nothing else.
   */
  readonly api: DeploymentApi;
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
  /**
   * OpenAI stacks: tokens to generate for a request that sends no max_tokens (the frontend sends none
   * when the client sets none, python/launcher/openai_frontend.py says why).
   */
  readonly defaultMaxTokens?: number;
  /** OpenAI stacks whose model has no chat template: the one this stack writes (config/chat-templates.ts). */
  readonly chatTemplate?: string;
}

/** The same tensor as the tensorrt_llm backend reads it: one value per request, not a vector. */
const engineScalar = (name: string, dataType: DataType, optional = false): ModelInput => ({
  ...scalar(name, dataType, optional),
  reshape: [],
});

/**
 * What the engine returns and postprocessing detokenizes (tensorrtllm_backend v0.18.2
 * inflight_batcher_llm/src/model_instance_state.cc:973,986: [1, beams, tokens] and [1, beams] per
 * response).
 */
const ENGINE_OUTPUTS: readonly ModelOutput[] = [
  { name: "output_ids", dataType: "TYPE_INT32", dims: [-1, -1] },
  { name: "sequence_length", dataType: "TYPE_INT32", dims: [-1] },
];

/**
 * Which row of a multi-row request a response belongs to: a decoupled engine answers each row on
 * its own (tensorrtllm_backend v0.18.2 OutputFieldsNames::batchIndex, inflight_batcher_llm/src/utils.h:124),
 * and sends it only when the request has more than one row (model_instance_state.cc:1103).
 */
const BATCH_INDEX: ModelOutput = { name: "batch_index", dataType: "TYPE_INT32", dims: [1] };

const TEXT_OUTPUT: ModelOutput = { name: "text_output", dataType: "TYPE_STRING", dims: [-1] };

/** The prompt as preprocessing hands it on: ids padded to the longest row, and each row's length. */
const PROMPT_IDS: ModelOutput = { name: "input_ids", dataType: "TYPE_INT32", dims: [-1] };
const PROMPT_LENGTHS: ModelOutput = { name: "input_lengths", dataType: "TYPE_INT32", dims: [1] };

/** `[2, L]`: row 0 the concatenated token ids of all words, row 1 each word's end offset. */
const wordList = (name: string): ModelInput => ({
  name,
  dataType: "TYPE_INT32",
  dims: [2, -1],
  optional: true,
  allowRaggedBatch: true,
});

function preprocessing(spec: ModelRepositorySpec): ModelConfig {
  return {
    name: "preprocessing",
    backend: "python",
    maxBatchSize: spec.maxBatchSize,
    input: PREPROCESSING_REQUEST_INPUTS,
    output: [
      PROMPT_IDS,
      PROMPT_LENGTHS,
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
      // What a streaming stack serves instead of the ensemble (stream, stop_words); empty when the
      // stack does not stream, and then a request of several rows is refused (the engine is not
      // decoupled).
      streaming_model: spec.decoupled ? servedStreamingModel(spec) : "",
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
      // How often the backend looks for cancelled requests and stops their engine work
      // (tensorrtllm_backend v0.18.2 inflight_batcher_llm/src/model_instance_state.cc:708-718,
      // the loop at :1375-1394; 100 ms when unset). A client that goes away, or a streaming
      // model that has its answer at a stop string, frees the engine's row within 10 ms instead.
      // (NVIDIA's template also sets FORCE_CPU_ONLY_INPUT_TENSORS, which only the Python backend
      // reads, python_backend r25.04 src/python_be.cc:1870-1891; this C++ backend never does.)
      cancellation_check_period_ms: "10",
    },
  };
}

function postprocessing(spec: ModelRepositorySpec): ModelConfig {
  return {
    name: "postprocessing",
    backend: "python",
    maxBatchSize: spec.maxBatchSize,
    // The prompt and the stop strings are optional: only the ensemble of a stack that does not
    // stream can hand them over (see the postprocessing step of `ensemble`).
    input: [
      ...ENGINE_OUTPUTS,
      { ...PROMPT_IDS, optional: true },
      { ...PROMPT_LENGTHS, optional: true },
      STOP_WORDS,
      INCLUDE_STOP_STRING,
    ],
    output: [TEXT_OUTPUT],
    instanceGroup: [{ count: spec.postprocessingInstances, kind: "KIND_CPU" }],
    dynamicBatching: {},
    parameters: {
      tokenizer_dir: spec.tokenizerDir,
      skip_special_tokens: String(spec.skipSpecialTokens),
    },
  };
}

/**
 * What postprocessing reads besides the engine's tokens. A stack that does not stream hands it the
 * prompt (its completion is decoded behind the prompt's last tokens) and the request's stop strings.
 * On a streaming stack the engine is decoupled and Triton rejects a step that mixes a decoupled
 * model's responses with any other tensor, so the ensemble there decodes the tokens alone and its
 * preprocessing refuses stop_words: that stack serves tensorrt_llm_bls, which does both.
 */
function postprocessingContext(spec: ModelRepositorySpec): Record<string, string> {
  if (spec.decoupled) return {};
  return {
    input_ids: "_input_ids",
    input_lengths: "_input_lengths",
    stop_words: STOP_WORDS.name,
    include_stop_str_in_output: INCLUDE_STOP_STRING.name,
  };
}

function ensemble(spec: ModelRepositorySpec): ModelConfig {
  const knobs = samplingKnobs(spec.requestNames);
  const inputs = requestInputs(spec.requestNames);
  return {
    name: "ensemble",
    platform: "ensemble",
    maxBatchSize: spec.maxBatchSize,
    // Triton derives this from the steps; written out so the file states what the server does.
    decoupled: spec.decoupled,
    // A streaming stack's ensemble has nothing to give include_stop_str_in_output to.
    input: spec.decoupled ? inputs.filter((input) => input !== INCLUDE_STOP_STRING) : inputs,
    output: [TEXT_OUTPUT, BATCH_INDEX],
    ensembleSteps: [
      {
        modelName: "preprocessing",
        modelVersion: -1,
        inputMap: Object.fromEntries(PREPROCESSING_REQUEST_INPUTS.map(({ name }) => [name, name])),
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
        modelName: "postprocessing",
        modelVersion: -1,
        inputMap: {
          output_ids: "_output_ids",
          sequence_length: "_sequence_length",
          ...postprocessingContext(spec),
        },
        outputMap: { text_output: "text_output" },
      },
    ],
  };
}

/** The decoupled model the stack serves: tensorrt_llm_bls, named as OpenAI clients name it there. */
function servedStreamingModel(spec: ModelRepositorySpec): string {
  return spec.api === "openai" ? OPENAI_MODEL : STREAMING_MODEL;
}

/**
 * The decoupled BLS model a streaming stack serves (`/predict` and `/predictWithResponseStream`
 * alike): it calls preprocessing and tensorrt_llm itself, re-decodes the tokens generated so far,
 * ends the answer at a stop string and sends only new text that can no longer change, so the
 * streamed pieces add up to exactly the whole answer. On an OpenAI stack it is the frontend's one
 * model, which takes every input the frontend sends with the type it sends it in
 * (engine/utils/triton.py:81-106 of server v2.57.0: text_input and stream always; max_tokens,
 * stop_words, top_p, temperature, frequency_penalty, presence_penalty, random_seed when set), and
 * `max_tokens` is optional there: the frontend sends none for a client that set none, and the model
 * then generates `default_max_tokens`.
 */
function streamingModel(spec: ModelRepositorySpec): ModelConfig {
  const knobs = samplingKnobs(spec.requestNames);
  const inputs = requestInputs(spec.requestNames);
  const { defaultMaxTokens } = spec;
  return {
    name: servedStreamingModel(spec),
    backend: "python",
    maxBatchSize: spec.maxBatchSize,
    decoupled: true,
    input:
      defaultMaxTokens === undefined
        ? inputs
        : inputs.map((input) => (input.name === "max_tokens" ? { ...input, optional: true } : input)),
    output: [TEXT_OUTPUT, BATCH_INDEX],
    instanceGroup: [{ count: 1, kind: "KIND_CPU" }],
    parameters: {
      tokenizer_dir: spec.tokenizerDir,
      skip_special_tokens: String(spec.skipSpecialTokens),
      // Request knob -> engine input, from the image catalogue.
      engine_inputs: JSON.stringify(Object.fromEntries(knobs.map((knob) => [knob.request, knob.engine]))),
      ...(defaultMaxTokens === undefined ? {} : { default_max_tokens: String(defaultMaxTokens) }),
    },
  };
}

/**
 * The model configurations, in the order Triton loads them (the ensemble after its steps). An
 * OpenAI stack's repository holds what its served model calls and that model alone: the frontend
 * loads and lists every model it finds.
 */
export function repositoryModels(spec: ModelRepositorySpec): ModelConfig[] {
  if (spec.api === "openai") return [preprocessing(spec), tensorrtLlm(spec), streamingModel(spec)];
  const models = [preprocessing(spec), tensorrtLlm(spec), postprocessing(spec), ensemble(spec)];
  return spec.decoupled ? [...models, streamingModel(spec)] : models;
}

/**
 * GPU memory budget and cost of a configuration, as pure functions of catalogue data, modelled on how
 * TensorRT-LLM's C++ runtime fills a GPU:
 *
 * 1. The engine loads: its weights, and the activation memory TensorRT sized at build time for the
 *    largest step, `max_num_tokens` tokens (TensorRT-LLM docs/source/reference/memory.md, "Weights
 *    size" and "Activation size"). Beside them the process holds a CUDA context and workspaces.
 * 2. The paged KV cache then takes `kv_cache_free_gpu_mem_fraction` of the memory still free:
 *    "the maximum fraction of GPU memory (after loading the model) that may be used for KV cache"
 *    (tensorrtllm_backend v0.18.2 docs/model_config.md:123). TensorRT-LLM reads the free memory
 *    once, multiplies it by the fraction and divides by the bytes of one token's K and V
 *    (cpp/tensorrt_llm/batch_manager/kvCacheManager.cpp, `calculateFreeMemBytes` and
 *    `calculateMaxNumBlocks`, read at commit 002ba6a; the backend's 0.18.2 docs above say the same).
 * 3. Requests take blocks of that cache; the scheduler admits one only while there are blocks for
 *    it, and under `guaranteed_no_evict` a started request is never paused (model_config.md:158). So
 *    the cache need not hold every sequence of the batch at full length: it must hold one (a shorter
 *    cache clamps the attention window, `calculateMaxAttentionWindow` in kvCacheManager.cpp), and
 *    how many it holds at once is how many the stack serves concurrently at full length.
 *
 * A stack fits when the engine and the runtime fit the GPU and the cache the fraction leaves holds
 * at least one full-length sequence.
 */
import {
  EngineDtype,
  GPU_SHAPES,
  GpuShape,
  MIN_COMPUTE_CAPABILITY,
  ModelArchitecture,
  Quantization,
} from "./catalog";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** The engine parameters that decide memory. */
export interface EngineShape {
  readonly dtype: EngineDtype;
  readonly quantization: Quantization;
  readonly tensorParallel: number;
  readonly maxBatchSize: number;
  readonly maxInputLen: number;
  readonly maxOutputLen: number;
}

/** Bytes per GPU, and what the paged KV cache holds. */
export interface MemoryBudget {
  readonly weightsBytes: number;
  readonly activationBytes: number;
  readonly runtimeReserveBytes: number;
  /** Weights, activations and runtime: what the GPU holds before the KV cache is sized. */
  readonly engineBytes: number;
  readonly gpuMemoryBytes: number;
  /** The share of the memory left after the engine that the KV cache takes. */
  readonly kvCacheFreeGpuMemFraction: number;
  /** The paged KV cache: the fraction of what is left after the engine (0 when nothing is). */
  readonly kvCacheBytes: number;
  readonly kvBytesPerToken: number;
  readonly kvCacheTokens: number;
  /** `maxInputLen + maxOutputLen`: one sequence at full length. */
  readonly sequenceTokens: number;
  /** How many sequences at full length the cache holds at once. */
  readonly fullLengthSequences: number;
  /** The least GPU memory that serves: the engine, and a cache of one full-length sequence. */
  readonly minimumBytes: number;
  readonly fits: boolean;
}

// Bytes of one quantized linear-layer weight. AWQ adds one fp16 scale per group of 128 weights
// (TensorRT-LLM's default group size); per-channel scales of the other schemes are negligible.
const LINEAR_WEIGHT_BYTES: Record<Quantization, number> = {
  none: 2,
  fp8: 1,
  int8_sq: 1,
  int8_weight_only: 1,
  int4_weight_only: 0.5,
  int4_awq: 0.5 + 2 / 128,
};

// CUDA context, cuBLAS/TensorRT workspaces and allocator slack of a Triton + TensorRT-LLM process.
// An estimate: the runtime reports 1-1.5 GiB of non-model memory on 24 GB boards.
const RUNTIME_RESERVE_BYTES = 1.5 * GIB;

// trtllm-build's default `max_num_tokens` (`BuildConfig.max_num_tokens = 8192`, tensorrt_llm/builder.py;
// the stack's build passes no --max_num_tokens, engine-build/build-engine.sh `build_flags`): the most
// tokens one step processes, which TensorRT sizes the activation memory for at build time.
export const DEFAULT_MAX_NUM_TOKENS = 8192;

// The backend's default `kv_cache_free_gpu_mem_fraction` (tensorrtllm_backend v0.18.2
// docs/model_config.md:123, "default=0.9"), also the schema's for serving.kvCacheFreeGpuMemFraction.
export const DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION = 0.9;

export function headDim(model: ModelArchitecture): number {
  return model.hiddenSize / model.queryHeads;
}

/** KV cache bytes per token on one GPU: K and V, every layer, this rank's share of the KV heads. */
export function kvBytesPerToken(model: ModelArchitecture, engine: EngineShape): number {
  const elementBytes = engine.quantization === "fp8" ? 1 : 2;
  const kvHeadsPerRank = Math.max(1, model.kvHeads / engine.tensorParallel);
  return 2 * model.layers * kvHeadsPerRank * headDim(model) * elementBytes;
}

/**
 * Weight bytes on one GPU. `parameterCount` counts the LM head once, as its own matrix: TensorRT-LLM
 * holds it apart from the embedding even where the Hugging Face model ties the two (tensorrt_llm/
 * models/falcon/convert.py `load_weights_from_hf_model` writes `lm_head.weight` from a clone of the
 * word embeddings). Embedding and LM head stay 16-bit under every scheme; the embedding is replicated
 * on every rank, the LM head and the transformer layers are split.
 */
export function weightBytes(model: ModelArchitecture, engine: EngineShape): number {
  const embeddingParams = model.vocabSize * model.hiddenSize;
  const lmHeadParams = embeddingParams;
  const linearParams = model.parameterCount - embeddingParams - lmHeadParams;
  const linearBytes = linearParams * LINEAR_WEIGHT_BYTES[engine.quantization];
  return embeddingParams * 2 + (lmHeadParams * 2 + linearBytes) / engine.tensorParallel;
}

/**
 * Activation memory of one step of `max_num_tokens` tokens: the MLP's intermediate and a few
 * hidden-size tensors per token in 16-bit, and fp32 logits for the batch. An estimate of what
 * TensorRT reports as the engine's device memory, not a figure read from it.
 */
function activationBytes(model: ModelArchitecture, engine: EngineShape): number {
  const perTokenActivation =
    ((2 * model.intermediateSize) / engine.tensorParallel + 4 * model.hiddenSize) * 2;
  const logitsBytes = engine.maxBatchSize * model.vocabSize * 4;
  return DEFAULT_MAX_NUM_TOKENS * perTokenActivation + logitsBytes;
}

export function memoryBudget(
  model: ModelArchitecture,
  engine: EngineShape,
  shape: GpuShape,
  kvCacheFreeGpuMemFraction: number = DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION,
): MemoryBudget {
  const weightsBytes = weightBytes(model, engine);
  const activations = activationBytes(model, engine);
  const engineBytes = weightsBytes + activations + RUNTIME_RESERVE_BYTES;
  const gpuMemoryBytes = shape.gpuMemoryMiB * MIB;
  const kvCacheBytes = Math.max(0, gpuMemoryBytes - engineBytes) * kvCacheFreeGpuMemFraction;
  const perToken = kvBytesPerToken(model, engine);
  const kvCacheTokens = Math.floor(kvCacheBytes / perToken);
  const sequenceTokens = engine.maxInputLen + engine.maxOutputLen;
  const fullLengthSequences = Math.floor(kvCacheTokens / sequenceTokens);
  return {
    weightsBytes,
    activationBytes: activations,
    runtimeReserveBytes: RUNTIME_RESERVE_BYTES,
    engineBytes,
    gpuMemoryBytes,
    kvCacheFreeGpuMemFraction,
    kvCacheBytes,
    kvBytesPerToken: perToken,
    kvCacheTokens,
    sequenceTokens,
    fullLengthSequences,
    minimumBytes: engineBytes + (sequenceTokens * perToken) / kvCacheFreeGpuMemFraction,
    fits: fullLengthSequences >= 1,
  };
}

/** Tensor-parallel degrees the model's attention can be split into on a shape. */
export function validTensorParallelDegrees(model: ModelArchitecture, gpuCount: number): number[] {
  const degrees: number[] = [];
  for (let tp = 1; tp <= gpuCount; tp++) {
    if (model.queryHeads % tp === 0 && model.kvHeads % tp === 0) degrees.push(tp);
  }
  return degrees;
}

export interface ShapeFit {
  readonly shape: GpuShape;
  readonly tensorParallel: number;
}

/**
 * The cheapest catalogue shape (and the smallest tensor parallelism on it) whose GPUs run the
 * quantization and serve the engine; undefined when nothing in the catalogue does.
 */
export function cheapestFittingShape(
  model: ModelArchitecture,
  engine: EngineShape,
  kvCacheFreeGpuMemFraction: number = DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION,
  shapes: readonly GpuShape[] = GPU_SHAPES,
): ShapeFit | undefined {
  const byPrice = [...shapes].sort((a, b) => a.usdPerHour - b.usdPerHour);
  for (const shape of byPrice) {
    if (shape.computeCapability < MIN_COMPUTE_CAPABILITY[engine.quantization]) continue;
    for (const tensorParallel of validTensorParallelDegrees(model, shape.gpuCount)) {
      if (memoryBudget(model, { ...engine, tensorParallel }, shape, kvCacheFreeGpuMemFraction).fits) {
        return { shape, tensorParallel };
      }
    }
  }
  return undefined;
}

export function gib(bytes: number): number {
  return Math.round((bytes / GIB) * 100) / 100;
}

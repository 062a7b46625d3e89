/**
 * GPU memory budget and cost of a configuration, as pure functions of catalogue data. The budget is
 * a worst case: every sequence of the largest batch at full length, which is what the engine's
 * `max_batch_size` and paged KV cache can reach under load.
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

/** Bytes per GPU, the quantities the sizing summary prints. */
export interface MemoryBudget {
  readonly weightsBytes: number;
  readonly kvCacheBytes: number;
  readonly activationBytes: number;
  readonly runtimeReserveBytes: number;
  readonly requiredBytes: number;
  readonly gpuMemoryBytes: number;
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

// trtllm-build's default `max_num_tokens`: the most tokens one context-phase step processes, which
// sizes the activation buffers.
const DEFAULT_MAX_NUM_TOKENS = 8192;

export function headDim(model: ModelArchitecture): number {
  return model.hiddenSize / model.queryHeads;
}

/** KV cache bytes per token on one GPU: K and V, every layer, this rank's share of the KV heads. */
export function kvBytesPerToken(model: ModelArchitecture, engine: EngineShape): number {
  const elementBytes = engine.quantization === "fp8" ? 1 : 2;
  const kvHeadsPerRank = Math.max(1, model.kvHeads / engine.tensorParallel);
  return 2 * model.layers * kvHeadsPerRank * headDim(model) * elementBytes;
}

export function memoryBudget(model: ModelArchitecture, engine: EngineShape, shape: GpuShape): MemoryBudget {
  const tp = engine.tensorParallel;
  const embeddingParams = model.vocabSize * model.hiddenSize;
  // Embedding and LM head stay in 16-bit under every scheme; the embedding is replicated on every
  // rank, the LM head and the transformer layers are split.
  const linearBytes = (model.parameterCount - embeddingParams) * LINEAR_WEIGHT_BYTES[engine.quantization];
  const weightsBytes = embeddingParams * 2 + (embeddingParams * 2 + linearBytes) / tp;

  const sequenceTokens = engine.maxInputLen + engine.maxOutputLen;
  const kvCacheBytes = engine.maxBatchSize * sequenceTokens * kvBytesPerToken(model, engine);

  const contextTokens = Math.min(engine.maxBatchSize * engine.maxInputLen, DEFAULT_MAX_NUM_TOKENS);
  const perTokenActivation = ((2 * model.intermediateSize) / tp + 4 * model.hiddenSize) * 2;
  const logitsBytes = engine.maxBatchSize * model.vocabSize * 4;
  const activationBytes = contextTokens * perTokenActivation + logitsBytes;

  const requiredBytes = weightsBytes + kvCacheBytes + activationBytes + RUNTIME_RESERVE_BYTES;
  const gpuMemoryBytes = shape.gpuMemoryMiB * MIB;
  return {
    weightsBytes,
    kvCacheBytes,
    activationBytes,
    runtimeReserveBytes: RUNTIME_RESERVE_BYTES,
    requiredBytes,
    gpuMemoryBytes,
    fits: requiredBytes <= gpuMemoryBytes,
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
 * quantization and hold the budget; undefined when nothing in the catalogue does.
 */
export function cheapestFittingShape(
  model: ModelArchitecture,
  engine: EngineShape,
  shapes: readonly GpuShape[] = GPU_SHAPES,
): ShapeFit | undefined {
  const byPrice = [...shapes].sort((a, b) => a.usdPerHour - b.usdPerHour);
  for (const shape of byPrice) {
    if (shape.computeCapability < MIN_COMPUTE_CAPABILITY[engine.quantization]) continue;
    for (const tensorParallel of validTensorParallelDegrees(model, shape.gpuCount)) {
      if (memoryBudget(model, { ...engine, tensorParallel }, shape).fits) return { shape, tensorParallel };
    }
  }
  return undefined;
}

export function gib(bytes: number): number {
  return Math.round((bytes / GIB) * 100) / 100;
}

/**
 * Built-in catalogues: GPU shapes and model architectures, as data. Every figure carries its source;
 * prices and GPU facts decide sizing errors and cost estimates, so a wrong figure here is a wrong
 * answer everywhere.
 */

export type Quantization = "none" | "fp8" | "int8_sq" | "int4_awq" | "int8_weight_only" | "int4_weight_only";

export const QUANTIZATIONS: readonly Quantization[] = [
  "none",
  "fp8",
  "int8_sq",
  "int4_awq",
  "int8_weight_only",
  "int4_weight_only",
];

export type EngineDtype = "float16" | "bfloat16";

export interface GpuShape {
  readonly name: string;
  readonly gpuModel: string;
  readonly gpuCount: number;
  /** Total memory of one GPU as nvidia-smi reports it. */
  readonly gpuMemoryMiB: number;
  /** CUDA compute capability, e.g. 8.6 for A10. Engines do not port across it. */
  readonly computeCapability: number;
  /** On-demand list price for the whole shape. */
  readonly usdPerHour: number;
  readonly priceDate: string;
}

// Prices: OCI's compute price list (oracle.com/cloud/compute/pricing), Nov 2023, for the A10,
// A100-40GB and H100 shapes; A100-80GB and L40S from the same list per GPU-hour
// ($4.00 and $3.50), same period. GPU memory: nvidia-smi totals for each board. Compute
// capability: NVIDIA CUDA GPUs table (A10 8.6, A100 8.0, H100 9.0, L40S 8.9).
export const GPU_SHAPES: readonly GpuShape[] = [
  {
    name: "VM.GPU.A10.1",
    gpuModel: "A10",
    gpuCount: 1,
    gpuMemoryMiB: 23028,
    computeCapability: 8.6,
    usdPerHour: 2.0,
    priceDate: "2023-11",
  },
  {
    name: "VM.GPU.A10.2",
    gpuModel: "A10",
    gpuCount: 2,
    gpuMemoryMiB: 23028,
    computeCapability: 8.6,
    usdPerHour: 4.0,
    priceDate: "2023-11",
  },
  {
    name: "BM.GPU.A10.4",
    gpuModel: "A10",
    gpuCount: 4,
    gpuMemoryMiB: 23028,
    computeCapability: 8.6,
    usdPerHour: 8.0,
    priceDate: "2023-11",
  },
  {
    name: "BM.GPU.L40S.4",
    gpuModel: "L40S",
    gpuCount: 4,
    gpuMemoryMiB: 46068,
    computeCapability: 8.9,
    usdPerHour: 14.0,
    priceDate: "2023-11",
  },
  {
    name: "BM.GPU4.8",
    gpuModel: "A100-40GB",
    gpuCount: 8,
    gpuMemoryMiB: 40960,
    computeCapability: 8.0,
    usdPerHour: 24.4,
    priceDate: "2023-11",
  },
  {
    name: "BM.GPU.A100-v2.8",
    gpuModel: "A100-80GB",
    gpuCount: 8,
    gpuMemoryMiB: 81920,
    computeCapability: 8.0,
    usdPerHour: 32.0,
    priceDate: "2023-11",
  },
  {
    name: "BM.GPU.H100.8",
    gpuModel: "H100",
    gpuCount: 8,
    gpuMemoryMiB: 81559,
    computeCapability: 9.0,
    usdPerHour: 80.0,
    priceDate: "2023-11",
  },
];

export function findShape(name: string): GpuShape | undefined {
  return GPU_SHAPES.find((shape) => shape.name === name);
}

/**
 * Lowest compute capability whose tensor cores run each scheme in TensorRT-LLM (its support
 * matrix): FP8 needs Ada or Hopper; AWQ and SmoothQuant kernels start at Ampere.
 */
export const MIN_COMPUTE_CAPABILITY: Record<Quantization, number> = {
  none: 7.0,
  fp8: 8.9,
  int8_sq: 8.0,
  int4_awq: 8.0,
  int8_weight_only: 7.0,
  int4_weight_only: 7.0,
};

/** TensorRT-LLM example family whose checkpoint converter builds the model. */
export type ModelFamily = "falcon" | "llama";

export interface ModelArchitecture {
  readonly family: ModelFamily;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly queryHeads: number;
  readonly kvHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly contextLength: number;
  /**
   * Every weight of the model, the embedding and the LM head each counted once as its own matrix:
   * what Hugging Face's model page counts, and what a TensorRT-LLM engine holds (it keeps an LM head
   * of its own even where the model ties it to the embedding; see sizing.ts `weightBytes`).
   */
  readonly parameterCount: number;
  readonly eosTokenId: number;
  /** Models without a pad token pad with eos, which generation never emits past. */
  readonly padTokenId: number;
}

/** A prompt whose greedy completion must hold `expect`: the build host's check of a served engine. */
export interface KnownAnswer {
  readonly prompt: string;
  readonly expect: string;
}

/**
 * The build host's default check per family (`build.validation` overrides it): a plain completion
 * prompt, no chat template, so a base and an instruct model of the family both continue it with
 * the fact.
 */
export const FAMILY_KNOWN_ANSWERS: Record<ModelFamily, KnownAnswer> = {
  falcon: { prompt: "The capital of France is", expect: "Paris" },
  llama: { prompt: "The capital of France is", expect: "Paris" },
};

/** Quantization schemes each family's TensorRT-LLM example supports (its README matrix). */
export const FAMILY_QUANTIZATIONS: Record<ModelFamily, readonly Quantization[]> = {
  falcon: ["none", "fp8", "int4_awq", "int8_weight_only", "int4_weight_only"],
  llama: QUANTIZATIONS,
};

// Falcon: Hugging Face config.json of tiiuae/falcon-7b(-instruct) and tiiuae/falcon-40b(-instruct)
// (huggingface.co/tiiuae/falcon-7b-instruct/blob/main/config.json and the 40B's); `<|endoftext|>` is
// id 11 in tokenizer.json and there is no pad token.
//
// Parameter counts, summed from those config.json files, LM head once (the model cards,
// huggingface.co/tiiuae/falcon-7b-instruct and .../falcon-40b-instruct, round them to "7B" and
// "40B"). Falcon-7B, multi-query attention, no biases: 32 layers x (fused QKV
// 4544 x (4544 + 2 x 64) + dense 4544^2 + MLP 2 x 4544 x 18176 + one LayerNorm 2 x 4544) + embedding
// 65024 x 4544 + final LayerNorm 2 x 4544 = 6,921,720,704, plus the LM head 65024 x 4544 that
// TensorRT-LLM writes apart = 7,217,189,760. Falcon-40B, 8 KV heads: 60 x (8192 x (128 + 16) x 64 +
// 8192^2 + 2 x 8192 x 32768 + two LayerNorms 4 x 8192) + 65024 x 8192 + 2 x 8192 + the LM head
// 65024 x 8192 = 41,835,970,560.
const FALCON_7B: ModelArchitecture = {
  family: "falcon",
  layers: 32,
  hiddenSize: 4544,
  queryHeads: 71,
  kvHeads: 1,
  intermediateSize: 18176,
  vocabSize: 65024,
  contextLength: 2048,
  parameterCount: 7_217_189_760,
  eosTokenId: 11,
  padTokenId: 11,
};

const FALCON_40B: ModelArchitecture = {
  family: "falcon",
  layers: 60,
  hiddenSize: 8192,
  queryHeads: 128,
  kvHeads: 8,
  intermediateSize: 32768,
  vocabSize: 65024,
  contextLength: 2048,
  parameterCount: 41_835_970_560,
  eosTokenId: 11,
  padTokenId: 11,
};

// Llama 3.1 8B Instruct: Hugging Face config.json and generation_config.json (eos <|eot_id|> 128009).
// Parameters, summed from config.json, the untied LM head (`tie_word_embeddings: false`) once (the
// card, huggingface.co/meta-llama/Llama-3.1-8B-Instruct, rounds it to "8B"): 32 x
// (attention 2 x 4096^2 + 2 x 4096 x 1024 + MLP 3 x 4096 x 14336 + two RMSNorms 2 x 4096) + embedding
// and LM head 2 x 128256 x 4096 + final norm 4096 = 8,030,261,248.
const LLAMA_31_8B_INSTRUCT: ModelArchitecture = {
  family: "llama",
  layers: 32,
  hiddenSize: 4096,
  queryHeads: 32,
  kvHeads: 8,
  intermediateSize: 14336,
  vocabSize: 128256,
  contextLength: 131072,
  parameterCount: 8_030_261_248,
  eosTokenId: 128009,
  padTokenId: 128009,
};

// Mistral 7B Instruct v0.2: Hugging Face config.json (eos </s> 2, no pad token); TensorRT-LLM
// builds it with the llama converter. Parameters: the Llama sum above with its 32000-token
// vocabulary, untied LM head once = 7,241,732,096 (the card,
// huggingface.co/mistralai/Mistral-7B-Instruct-v0.2, names no count; "7B" in its name).
const MISTRAL_7B_INSTRUCT: ModelArchitecture = {
  family: "llama",
  layers: 32,
  hiddenSize: 4096,
  queryHeads: 32,
  kvHeads: 8,
  intermediateSize: 14336,
  vocabSize: 32000,
  contextLength: 32768,
  parameterCount: 7_241_732_096,
  eosTokenId: 2,
  padTokenId: 2,
};

export const MODELS: Readonly<Record<string, ModelArchitecture>> = {
  "tiiuae/falcon-7b": FALCON_7B,
  "tiiuae/falcon-7b-instruct": FALCON_7B,
  "tiiuae/falcon-40b": FALCON_40B,
  "tiiuae/falcon-40b-instruct": FALCON_40B,
  "meta-llama/Llama-3.1-8B-Instruct": LLAMA_31_8B_INSTRUCT,
  "mistralai/Mistral-7B-Instruct-v0.2": MISTRAL_7B_INSTRUCT,
};

/**
 * Hugging Face owners whose models are gated: the files download only with a token of an account
 * that accepted the licence (the build's download answers 401 otherwise, about 25 minutes into a
 * GPU build). Each entry cites the model card that shows the gate.
 */
export const GATED_OWNERS: Readonly<Record<string, string>> = {
  // "You need to agree to share your contact information to access this model" with the Llama 3.1
  // Community License: https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct (every meta-llama repo).
  "meta-llama": "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct",
  // The same contact-information gate on Mistral AI's repositories:
  // https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.2
  mistralai: "https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.2",
};

/** The model card showing the gate when `huggingFaceId` is gated; undefined for public models. */
export function gatedModelCard(huggingFaceId: string): string | undefined {
  const owner = huggingFaceId.split("/")[0];
  return Object.hasOwn(GATED_OWNERS, owner) ? GATED_OWNERS[owner] : undefined;
}

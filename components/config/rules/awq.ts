/**
 * int4 AWQ quantizes each weight matrix in blocks along its input dimension, so the block size must
 * divide every input dimension a GPU holds: the hidden size (attention and the MLP's first layer)
 * and the MLP's intermediate size, each split across the tensor-parallel ranks. TensorRT-LLM's
 * quantize.py defaults to 128 (`--awq_block_size`, examples/quantization/quantize.py) and its kernels
 * take 64 or 128 (NVIDIA/TensorRT-LLM issue #988, maintainer: "GPTQ/AWQ only supports groupsize = 64
 * or 128"). Falcon-7B's hidden size 4544 = 64 x 71 needs 64; with 128 the quantization fails after
 * about 20 minutes of GPU time.
 */
import type { ModelArchitecture } from "../catalog";
import type { Rule } from "../schema";

export const AWQ_BLOCK_SIZES = [128, 64] as const;

/** The input dimensions of the quantized matrices on one rank. */
function inputDimensions(model: ModelArchitecture, tensorParallel: number): number[] {
  return [model.hiddenSize / tensorParallel, model.intermediateSize / tensorParallel];
}

/** The largest block size the kernels take that divides every input dimension, or undefined. */
export function awqBlockSize(model: ModelArchitecture, tensorParallel: number): number | undefined {
  const dimensions = inputDimensions(model, tensorParallel);
  return AWQ_BLOCK_SIZES.find((size) => dimensions.every((dimension) => Number.isInteger(dimension / size)));
}

export const awqBlockSizeRule: Rule = (config) => {
  const { quantization, tensorParallel } = config.engine;
  const model = config.model.resolved;
  if (quantization !== "int4_awq" || awqBlockSize(model, tensorParallel) !== undefined) return [];
  const [hidden, intermediate] = inputDimensions(model, tensorParallel);
  return [
    {
      key: "engine.quantization",
      value: quantization,
      message: `int4_awq needs a block size of ${AWQ_BLOCK_SIZES.join(" or ")} that divides the hidden size ${model.hiddenSize} and the intermediate size ${model.intermediateSize} per GPU (${hidden} and ${intermediate} at engine.tensorParallel ${tensorParallel}); neither does`,
      fix: "use int4_weight_only or int8_weight_only (no block size), or another engine.tensorParallel",
    },
  ];
};

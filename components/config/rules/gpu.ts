/**
 * Rules on the GPUs: the mistakes that otherwise surface after 30-60 minutes of GPU time, when the
 * engine build fails or the engine does not fit or run on the deployment's GPU.
 */
import { FAMILY_QUANTIZATIONS, MIN_COMPUTE_CAPABILITY, QUANTIZATIONS } from "../catalog";
import type { ConfigError, Rule } from "../schema";
import {
  cheapestFittingShape,
  DEFAULT_MAX_NUM_TOKENS,
  gib,
  memoryBudget,
  validTensorParallelDegrees,
} from "../sizing";
import { shapes } from "../views";

export const quantizationRule: Rule = (config) => {
  const errors: ConfigError[] = [];
  const { quantization } = config.engine;
  const { family } = config.model.resolved;
  if (!FAMILY_QUANTIZATIONS[family].includes(quantization)) {
    errors.push({
      key: "engine.quantization",
      value: quantization,
      message: `TensorRT-LLM's ${family} models do not support ${quantization}`,
      fix: `use one of: ${FAMILY_QUANTIZATIONS[family].join(", ")}`,
    });
  }
  const needed = MIN_COMPUTE_CAPABILITY[quantization];
  const seen = new Set<string>();
  const { deployment, build } = shapes(config);
  for (const [key, shape] of [
    ["deployment.shape", deployment],
    ["build.shape", build],
  ] as const) {
    if (shape.computeCapability >= needed || seen.has(shape.name)) continue;
    seen.add(shape.name);
    const runnable = QUANTIZATIONS.filter(
      (q) => MIN_COMPUTE_CAPABILITY[q] <= shape.computeCapability && FAMILY_QUANTIZATIONS[family].includes(q),
    );
    errors.push({
      key: "engine.quantization",
      value: quantization,
      message: `${quantization} needs GPU compute capability ${needed}+, but ${key} ${shape.name} has ${shape.gpuModel} (${shape.computeCapability.toFixed(1)})`,
      fix: `on ${shape.gpuModel} use one of: ${runnable.join(", ")}; for ${quantization} pick a shape with compute capability ${needed}+ (e.g. BM.GPU.L40S.4, BM.GPU.H100.8)`,
    });
  }
  return errors;
};

export const tensorParallelRule: Rule = (config) => {
  const tp = config.engine.tensorParallel;
  const model = config.model.resolved;
  const shape = shapes(config).deployment;
  const errors: ConfigError[] = [];
  const possible = validTensorParallelDegrees(model, Math.max(tp, shape.gpuCount));
  if (model.queryHeads % tp !== 0 || model.kvHeads % tp !== 0) {
    errors.push({
      key: "engine.tensorParallel",
      value: tp,
      message: `must divide the model's ${model.queryHeads} query heads and ${model.kvHeads} KV heads`,
      fix: `use one of: ${possible.join(", ")}`,
    });
  }
  if (tp > shape.gpuCount) {
    errors.push({
      key: "engine.tensorParallel",
      value: tp,
      message: `needs ${tp} GPUs, but deployment.shape ${shape.name} has ${shape.gpuCount}`,
      fix: `use at most ${shape.gpuCount}, or a shape with ${tp}+ GPUs`,
    });
  }
  return errors;
};

export const contextLengthRule: Rule = (config) => {
  const { maxInputLen, maxOutputLen } = config.engine;
  const limit = config.model.resolved.contextLength;
  if (maxInputLen + maxOutputLen <= limit) return [];
  return [
    {
      key: "engine.maxOutputLen",
      value: maxOutputLen,
      message: `engine.maxInputLen (${maxInputLen}) + engine.maxOutputLen (${maxOutputLen}) exceeds the model's context of ${limit} tokens`,
      fix: `make the two add up to at most ${limit}, e.g. maxInputLen ${Math.floor(limit / 2)} and maxOutputLen ${limit - Math.floor(limit / 2)}`,
    },
  ];
};

export const memoryRule: Rule = (config) => {
  const { deployment } = shapes(config);
  const model = config.model.resolved;
  const fraction = config.serving.kvCacheFreeGpuMemFraction;
  const budget = memoryBudget(model, config.engine, deployment, fraction);
  if (budget.fits) return [];
  const { maxInputLen, maxOutputLen } = config.engine;
  const fit = cheapestFittingShape(model, config.engine, fraction);
  const left = Math.max(0, budget.gpuMemoryBytes - budget.engineBytes);
  // A larger share of what is left helps only when the engine itself leaves something.
  const raiseFraction = left > 0 ? ", or raise serving.kvCacheFreeGpuMemFraction (below 1)" : "";
  return [
    {
      key: "deployment.shape",
      value: deployment.name,
      message:
        `needs ${gib(budget.minimumBytes)} GiB per GPU: weights ${gib(budget.weightsBytes)}, activations ${gib(budget.activationBytes)}` +
        ` (${DEFAULT_MAX_NUM_TOKENS} tokens a step), runtime ${gib(budget.runtimeReserveBytes)}, and a paged KV cache of one` +
        ` ${budget.sequenceTokens}-token sequence (${maxInputLen} in + ${maxOutputLen} out, ${gib(budget.sequenceTokens * budget.kvBytesPerToken)} GiB)` +
        ` from serving.kvCacheFreeGpuMemFraction ${fraction} of what the engine leaves free;` +
        ` ${deployment.gpuModel} has ${gib(budget.gpuMemoryBytes)} GiB, which leaves ${gib(left)} GiB and a cache of ${budget.kvCacheTokens} tokens`,
      fix: fit
        ? `use ${fit.shape.name} ($${fit.shape.usdPerHour}/h) with engine.tensorParallel ${fit.tensorParallel}, the cheapest shape that serves it; or lower engine.maxInputLen / engine.maxOutputLen, or quantize (engine.quantization)${raiseFraction}`
        : `no catalogue shape serves it: lower engine.maxInputLen / engine.maxOutputLen, or quantize (engine.quantization)${raiseFraction}`,
    },
  ];
};

export const gpuArchitectureRule: Rule = (config) => {
  const { deployment, build } = shapes(config);
  if (build.gpuModel === deployment.gpuModel) return [];
  return [
    {
      key: "build.shape",
      value: build.name,
      message: `builds on ${build.gpuModel} (compute capability ${build.computeCapability.toFixed(1)}) but deployment.shape ${deployment.name} serves on ${deployment.gpuModel} (${deployment.computeCapability.toFixed(1)}); a TensorRT engine only runs on the GPU it was built for`,
      fix: `build on a shape with ${deployment.gpuModel} GPUs (e.g. ${deployment.name}) or remove build.shape to build on the deployment shape`,
    },
  ];
};

/** Advice that does not stop a deployment but costs money or reproducibility. */
import type { Rule } from "../schema";
import { validTensorParallelDegrees } from "../sizing";
import { shapes } from "../views";

export const idleGpusWarning: Rule = (config) => {
  const shape = shapes(config).deployment;
  const tp = config.engine.tensorParallel;
  if (tp >= shape.gpuCount) return [];
  const canUseAll = validTensorParallelDegrees(config.model.resolved, shape.gpuCount).includes(
    shape.gpuCount,
  );
  return [
    {
      key: "engine.tensorParallel",
      value: tp,
      message: `uses ${tp} of ${shape.name}'s ${shape.gpuCount} GPUs; the rest are paid for and idle`,
      fix: canUseAll
        ? `set engine.tensorParallel ${shape.gpuCount}, or pick a shape with ${tp} GPU(s)`
        : `pick a shape with ${tp} GPU(s): the model's heads do not split ${shape.gpuCount} ways`,
    },
  ];
};

export const movingImageTagWarning: Rule = (config) =>
  config.image.source.includes("@sha256:")
    ? []
    : [
        {
          key: "image.source",
          value: config.image.source,
          message: "is a moving tag: the build and serving images must be the same TensorRT-LLM version",
          fix: "pin it by digest: <image>:<tag>@sha256:<digest>",
        },
      ];

export const openSshWarning: Rule = (config) =>
  config.build.sshAllowedCidr?.endsWith("/0")
    ? [
        {
          key: "build.sshAllowedCidr",
          value: config.build.sshAllowedCidr,
          message: "opens SSH on the build instance to the whole internet",
          fix: "use your address as a /32",
        },
      ]
    : [];

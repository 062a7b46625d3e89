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

/**
 * `build.sshAllowedCidr` is accepted for one release and ignored: the build host has no public
 * address and is reached through an OCI Bastion session, from any machine.
 */
export const deprecatedSshCidrWarning: Rule = (config) =>
  config.build.sshAllowedCidr === undefined
    ? []
    : [
        {
          key: "build.sshAllowedCidr",
          value: config.build.sshAllowedCidr,
          message:
            "is deprecated and ignored: the build instance has no public address and is reached through an OCI Bastion session, so no address of this machine is needed",
          fix: "remove it: pulumi config rm --path build.sshAllowedCidr (it stops being accepted in the next release)",
        },
      ];

/**
 * Views of a parsed configuration that the rules, the sizing summary and the program share: its
 * catalogued shapes, and the container settings read lazily.
 */
import { findShape, type GpuShape } from "./catalog";
import type { ContainerSpecInput } from "../deployment/container-spec";
import { deploymentTimeoutMinutes } from "../deployment/deployment-timeout";
import { engineBytes, imageCompressedGB } from "./build-estimate";
import type { StackConfig } from "./schema";

export function shapes(config: StackConfig): { deployment: GpuShape; build: GpuShape } {
  const deployment = findShape(config.deployment.shape);
  const build = findShape(config.build.shape);
  // parseStackConfig only hands over configurations whose shapes are catalogued.
  if (deployment === undefined || build === undefined) throw new Error("shape missing from catalogue");
  return { deployment, build };
}

/**
 * Whether the served model is decoupled and streams: on a streaming stack, and on every OpenAI stack
 * (the frontend serves `stream: true` from the same model, tensorrt_llm_bls, as whole answers).
 */
export function decoupledServing(config: StackConfig): boolean {
  return config.deployment.streaming || config.deployment.api === "openai";
}

/** What the OpenAI frontend's served model generates for a request that sets no max_tokens. */
export function defaultMaxTokens(config: StackConfig): number {
  return config.deployment.defaultMaxTokens ?? config.engine.maxOutputLen;
}

/**
 * The container's settings, each read from the configuration only when used: a rule that needs
 * a few of them (the managed variable names) then does not depend on the others being valid.
 */
export function containerSpecInput(config: StackConfig): ContainerSpecInput {
  return {
    get repositoryFolder() {
      return config.serving.repositoryFolder;
    },
    get httpPort() {
      return config.deployment.httpPort;
    },
    get tensorParallel() {
      return config.engine.tensorParallel;
    },
    get streaming() {
      return config.deployment.streaming;
    },
    get api() {
      return config.deployment.api;
    },
    get storageSizeInGBs() {
      return config.deployment.storageSizeInGBs;
    },
    // From the configuration alone, so every run sizes it alike: the built artifact's exact size
    // would change the variable, and so update the serving deployment, on the run after a build.
    get deploymentTimeoutMinutes() {
      return deploymentTimeoutMinutes({
        imageCompressedGB: imageCompressedGB(config.image.source),
        artifactBytes: engineBytes(config),
      });
    },
    get environment() {
      return config.deployment.environment;
    },
  };
}

/**
 * What the catalog model records about its artifact. Only what the artifact's digest already fixes is
 * recorded there, so the model never changes without being replaced; the image digest and the
 * deployment shape, which change without a new artifact, are tags on the deployment instead
 * (model-deployment.ts).
 */
import type { StackConfig } from "../config/config";

/** Provenance of the catalog model: what its artifact was built from. */
export function modelProvenance(config: StackConfig, artifactSha256: string): Record<string, string> {
  const engine = config.engine;
  return {
    huggingFaceId: config.model.huggingFaceId,
    revision: config.model.revision,
    engine: `dtype=${engine.dtype} quantization=${engine.quantization} tp=${engine.tensorParallel} maxBatchSize=${engine.maxBatchSize} maxInputLen=${engine.maxInputLen} maxOutputLen=${engine.maxOutputLen}`,
    artifactSha256,
  };
}

/** Custom metadata entries: OCI's `Other` category holds free keys; values are capped at 255 chars. */
export function customMetadata(
  metadata: Record<string, string>,
): { key: string; value: string; category: string }[] {
  return Object.keys(metadata)
    .sort()
    .map((key) => ({ key, value: metadata[key].slice(0, 255), category: "Other" }));
}

/** The description carries the artifact digest so a new artifact forces a new model. */
export function modelDescription(sha256: string): string {
  return `Triton TensorRT-LLM model repository, artifact sha256:${sha256}`;
}

/**
 * Serving images, as data: which TensorRT-LLM release each Triton image carries, and the names its
 * `tensorrtllm` backend reads for the request knobs that were renamed between releases. The backend
 * ignores an input it does not know, without an error, so a name from the wrong release silently
 * does nothing (a request's seed or minimum length is dropped). The renderer and the example request
 * take the names from here, never from a constant.
 */
import { formatConfigError, type ConfigError } from "./config";

/** Request tensor names that differ between TensorRT-LLM releases; the same name on the ensemble. */
export interface RequestTensorNames {
  /** Fewest tokens to generate before end_id may stop the sequence (TYPE_INT32). */
  readonly minTokens: string;
  /** Sampling seed (TYPE_UINT64). */
  readonly seed: string;
}

export interface ServingImage {
  /** The image tag on nvcr.io/nvidia/tritonserver. */
  readonly tag: string;
  readonly tensorrtLlmVersion: string;
  /** Where the names were read: repository, tag, file and lines. */
  readonly namesSource: string;
  readonly requestNames: RequestTensorNames;
}

// TensorRT-LLM releases per image: NVIDIA's Triton release notes for 25.04 and 25.05
// (docs.nvidia.com/deeplearning/triton-inference-server/release-notes/rel-25-04.html and
// rel-25-05.html: 25.04 ships TensorRT-LLM 0.18.2, 25.05 ships 0.19.0).
export const SERVING_IMAGES: readonly ServingImage[] = [
  {
    tag: "25.04-trtllm-python-py3",
    tensorrtLlmVersion: "0.18.2",
    // InputFieldsNames::minLength and ::randomSeed; the v0.18.2 ensemble and tensorrt_llm configs
    // (all_models/inflight_batcher_llm/{ensemble,tensorrt_llm}/config.pbtxt) use the same names.
    namesSource:
      "triton-inference-server/tensorrtllm_backend v0.18.2 inflight_batcher_llm/src/utils.h:86 (min_length), :90 (random_seed)",
    requestNames: { minTokens: "min_length", seed: "random_seed" },
  },
  {
    tag: "25.05-trtllm-python-py3",
    tensorrtLlmVersion: "0.19.0",
    namesSource:
      "triton-inference-server/tensorrtllm_backend v0.19.0 inflight_batcher_llm/src/utils.h:92 (min_length), :96 (random_seed)",
    requestNames: { minTokens: "min_length", seed: "random_seed" },
  },
];

/** The tag of an image reference (`registry/path:tag[@sha256:...]`); undefined without one. */
export function imageTag(source: string): string | undefined {
  const withoutDigest = source.split("@")[0];
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  return colon >= 0 ? lastSegment.slice(colon + 1) : undefined;
}

/**
 * The catalogued image `source` refers to, by its tag, whatever registry it is mirrored from; a
 * reference pinned only by digest has no tag and is not found.
 */
export function findServingImage(source: string): ServingImage | undefined {
  const tag = imageTag(source);
  return SERVING_IMAGES.find((image) => image.tag === tag);
}

/** Why `image.source` cannot be served by this stack, or undefined when it is catalogued. */
export function servingImageProblem(source: string): ConfigError | undefined {
  return findServingImage(source) === undefined ? unknownServingImage(source) : undefined;
}

/** The error for an image outside the catalogue. */
export function unknownServingImage(source: string): ConfigError {
  const tags = SERVING_IMAGES.map((image) => image.tag).join(", ");
  return {
    key: "image.source",
    value: source,
    message:
      "is not a catalogued Triton TensorRT-LLM image, so the request tensor names its backend reads are unknown (an unknown name is silently ignored)",
    fix: `use nvcr.io/nvidia/tritonserver:<tag>@sha256:<digest> with one of the tags ${tags}, or add the image to components/config/image-catalog.ts after checking its backend's inflight_batcher_llm/src/utils.h`,
  };
}

/**
 * The catalogued image `source` refers to; throws the `unknownServingImage` error (key, value, fix)
 * otherwise, so no request name is ever guessed.
 */
export function requireServingImage(source: string): ServingImage {
  const image = findServingImage(source);
  if (image === undefined) throw new Error(formatConfigError(unknownServingImage(source)));
  return image;
}

// The serving-image catalogue: image reference -> TensorRT-LLM release -> the request names its
// Triton backend reads. The expected names are NVIDIA's (tensorrtllm_backend inflight_batcher_llm/
// src/utils.h at v0.18.2 lines 86/90 and v0.19.0 lines 92/96); the newer backend inside the
// TensorRT-LLM repository reads min_tokens/seed, which must never reach a 0.18/0.19 engine.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  findServingImage,
  imageTag,
  SERVING_IMAGES,
  servingImageProblem,
} from "../components/config/image-catalog";

describe("image catalogue", () => {
  test("25.04 carries TensorRT-LLM 0.18.2, which reads min_length and random_seed", () => {
    const image = findServingImage("nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3");
    assert.equal(image?.tensorrtLlmVersion, "0.18.2");
    assert.deepEqual(image?.requestNames, { minTokens: "min_length", seed: "random_seed" });
    assert.match(
      image?.namesSource ?? "",
      /tensorrtllm_backend v0\.18\.2 inflight_batcher_llm\/src\/utils\.h:86/,
    );
  });

  test("25.05 carries TensorRT-LLM 0.19.0, still min_length and random_seed", () => {
    const image = findServingImage("nvcr.io/nvidia/tritonserver:25.05-trtllm-python-py3");
    assert.equal(image?.tensorrtLlmVersion, "0.19.0");
    assert.deepEqual(image?.requestNames, { minTokens: "min_length", seed: "random_seed" });
  });

  test("no catalogued release is given the newer backend's names", () => {
    for (const image of SERVING_IMAGES) {
      assert.notEqual(image.requestNames.minTokens, "min_tokens", image.tag);
      assert.notEqual(image.requestNames.seed, "seed", image.tag);
    }
  });

  test("the tag is read past registries with ports and digests", () => {
    const digest = `sha256:${"0f".repeat(32)}`;
    assert.equal(
      imageTag(`nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@${digest}`),
      "25.04-trtllm-python-py3",
    );
    assert.equal(imageTag("localhost:5000/triton:25.04-trtllm-python-py3"), "25.04-trtllm-python-py3");
    assert.equal(imageTag("localhost:5000/triton"), undefined);
    assert.equal(imageTag(`nvcr.io/nvidia/tritonserver@${digest}`), undefined);
  });

  test("an unknown image is an error naming the key, the value and the catalogued tags", () => {
    assert.equal(servingImageProblem("nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3"), undefined);
    const problem = servingImageProblem("nvcr.io/nvidia/tritonserver:24.04-trtllm-python-py3");
    assert.equal(problem?.key, "image.source");
    assert.equal(problem?.value, "nvcr.io/nvidia/tritonserver:24.04-trtllm-python-py3");
    assert.match(problem?.message ?? "", /silently ignored/);
    assert.match(problem?.fix ?? "", /25\.04-trtllm-python-py3, 25\.05-trtllm-python-py3/);
  });
});

// Memory budget and shape choice against the published figures (Hugging Face config.json of the
// models, OCI's shape list), worked by hand.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { findShape, GPU_SHAPES, GpuShape, MODELS } from "../components/config/catalog";
import {
  cheapestFittingShape,
  EngineShape,
  gib,
  headDim,
  kvBytesPerToken,
  memoryBudget,
  validTensorParallelDegrees,
} from "../components/config/sizing";
import { estimateCopyHost, estimateCopyMinutes } from "../components/config/image-copy";
import { formatSizingSummary, sizingSummary } from "../components/config/summary";
import { configWith, validConfig } from "./support/stack-fixtures";

const KIB = 1024;
const GIB = 1024 ** 3;
const FALCON_7B = MODELS["tiiuae/falcon-7b-instruct"];
const FALCON_40B = MODELS["tiiuae/falcon-40b-instruct"];
const LLAMA = MODELS["meta-llama/Llama-3.1-8B-Instruct"];

/** The dev stack's engine: bf16, batch 32, 1024 in + 1024 out. */
const DEV_ENGINE: EngineShape = {
  dtype: "bfloat16",
  quantization: "none",
  tensorParallel: 1,
  maxBatchSize: 32,
  maxInputLen: 1024,
  maxOutputLen: 1024,
};

function shape(name: string): GpuShape {
  const found = findShape(name);
  assert.ok(found, `${name} is not in the catalogue`);
  return found;
}

describe("kvBytesPerToken", () => {
  test("Falcon-7B in bf16 holds 8 KiB per token (2 x 1 KV head x 64 x 2 bytes x 32 layers)", () => {
    assert.equal(headDim(FALCON_7B), 64);
    assert.equal(kvBytesPerToken(FALCON_7B, DEV_ENGINE), 8 * KIB);
    assert.equal(kvBytesPerToken(FALCON_7B, { ...DEV_ENGINE, dtype: "float16" }), 8 * KIB);
  });

  test("an FP8 KV cache halves it", () => {
    assert.equal(kvBytesPerToken(FALCON_7B, { ...DEV_ENGINE, quantization: "fp8" }), 4 * KIB);
  });

  test("Falcon-40B's 8 KV heads are split across tensor-parallel ranks", () => {
    // 2 x 8 heads x 64 x 2 bytes x 60 layers = 120 KiB on one GPU; one head per rank at TP 8.
    assert.equal(kvBytesPerToken(FALCON_40B, DEV_ENGINE), 120 * KIB);
    assert.equal(kvBytesPerToken(FALCON_40B, { ...DEV_ENGINE, tensorParallel: 8 }), 15 * KIB);
  });
});

describe("memoryBudget", () => {
  const a10 = shape("VM.GPU.A10.1");

  test("Falcon-7B bf16 weights are about 14.4 GB", () => {
    const { weightsBytes } = memoryBudget(FALCON_7B, DEV_ENGINE, a10);
    assert.ok(weightsBytes > 14.3e9 && weightsBytes < 14.5e9, String(weightsBytes));
  });

  test("Falcon-40B bf16 weights are about 84 GB on one GPU", () => {
    const { weightsBytes } = memoryBudget(FALCON_40B, DEV_ENGINE, shape("BM.GPU.H100.8"));
    assert.ok(weightsBytes > 83e9 && weightsBytes < 86e9, String(weightsBytes));
  });

  test("the dev engine on an A10: 0.5 GiB of KV cache, and it fits in the A10's 23028 MiB", () => {
    const budget = memoryBudget(FALCON_7B, DEV_ENGINE, a10);
    // 32 sequences x 2048 tokens x 8 KiB.
    assert.equal(budget.kvCacheBytes, 32 * 2048 * 8 * KIB);
    assert.equal(budget.gpuMemoryBytes, 23028 * 1024 * 1024);
    assert.equal(
      budget.requiredBytes,
      budget.weightsBytes + budget.kvCacheBytes + budget.activationBytes + budget.runtimeReserveBytes,
    );
    assert.ok(budget.activationBytes > 0 && budget.runtimeReserveBytes > 0);
    assert.equal(budget.fits, true);
  });

  test("KV cache grows with batch and lengths", () => {
    const double = memoryBudget(FALCON_7B, { ...DEV_ENGINE, maxBatchSize: 64 }, a10);
    assert.equal(double.kvCacheBytes, 2 * memoryBudget(FALCON_7B, DEV_ENGINE, a10).kvCacheBytes);
  });

  test("tensor parallelism splits the weights; only the 1.07 GB embedding stays whole on every rank", () => {
    const h100 = shape("BM.GPU.H100.8");
    const tp1 = memoryBudget(FALCON_40B, DEV_ENGINE, h100).weightsBytes;
    const tp8 = memoryBudget(FALCON_40B, { ...DEV_ENGINE, tensorParallel: 8 }, h100).weightsBytes;
    const embeddingBytes = 65024 * 8192 * 2;
    // Every rank holds its eighth plus the replicated embedding: nothing is lost, nothing else repeats.
    assert.ok(Math.abs(8 * tp8 - tp1 - 7 * embeddingBytes) < 1, `${8 * tp8 - tp1} vs ${7 * embeddingBytes}`);
    assert.ok(tp8 < tp1 / 8 + embeddingBytes + 1);
  });

  test("quantized weights are smaller: FP8 about half of bf16, INT4 about a quarter", () => {
    const bf16 = memoryBudget(FALCON_7B, DEV_ENGINE, a10).weightsBytes;
    const fp8 = memoryBudget(FALCON_7B, { ...DEV_ENGINE, quantization: "fp8" }, a10).weightsBytes;
    const int4 = memoryBudget(
      FALCON_7B,
      { ...DEV_ENGINE, quantization: "int4_weight_only" },
      a10,
    ).weightsBytes;
    // The embedding and LM head stay 16-bit, so the ratios sit a little above 1/2 and 1/4.
    assert.ok(fp8 / bf16 > 0.5 && fp8 / bf16 < 0.6, String(fp8 / bf16));
    assert.ok(int4 / bf16 > 0.25 && int4 / bf16 < 0.35, String(int4 / bf16));
  });

  test("Falcon-40B bf16 does not fit one A10", () => {
    assert.equal(memoryBudget(FALCON_40B, DEV_ENGINE, a10).fits, false);
  });
});

describe("validTensorParallelDegrees", () => {
  test("Falcon-7B (71 query heads, 1 KV head) allows TP 1 only, however many GPUs", () => {
    assert.deepEqual(validTensorParallelDegrees(FALCON_7B, 1), [1]);
    assert.deepEqual(validTensorParallelDegrees(FALCON_7B, 8), [1]);
  });

  test("128 query / 8 KV heads on 8 GPUs allow 1, 2, 4, 8", () => {
    assert.deepEqual(validTensorParallelDegrees(FALCON_40B, 8), [1, 2, 4, 8]);
    assert.deepEqual(validTensorParallelDegrees(FALCON_40B, 4), [1, 2, 4]);
    assert.deepEqual(validTensorParallelDegrees(LLAMA, 2), [1, 2]);
  });
});

describe("cheapestFittingShape", () => {
  test("the catalogue is searched by price, whatever order it is given in", () => {
    const shuffled = [
      shape("BM.GPU.H100.8"),
      shape("VM.GPU.A10.2"),
      shape("VM.GPU.A10.1"),
      shape("BM.GPU4.8"),
    ];
    const fit = cheapestFittingShape(FALCON_7B, DEV_ENGINE, shuffled);
    assert.equal(fit?.shape.name, "VM.GPU.A10.1");
    assert.equal(fit?.tensorParallel, 1);
  });

  test("a big batch of Falcon-7B goes to the L40S ($14/h), not the larger A100s", () => {
    // 1024 x 2048 x 8 KiB = 16 GiB KV cache + 13.4 GiB weights: beyond an A10's 22.5 GiB, and TP 1
    // only; BM.GPU.L40S.4 (45 GiB per GPU, $14) is cheaper than BM.GPU4.8 ($24.4) and A100-80GB ($32).
    const fit = cheapestFittingShape(FALCON_7B, { ...DEV_ENGINE, maxBatchSize: 1024 });
    assert.equal(fit?.shape.name, "BM.GPU.L40S.4");
    assert.equal(fit?.tensorParallel, 1);
  });

  test("Falcon-40B bf16: BM.GPU.L40S.4 at TP 4 (the A10 shapes run out of memory)", () => {
    const fit = cheapestFittingShape(FALCON_40B, DEV_ENGINE);
    assert.equal(fit?.shape.name, "BM.GPU.L40S.4");
    assert.equal(fit?.tensorParallel, 4);
  });

  test("FP8 skips shapes below compute capability 8.9 even when they have the memory", () => {
    // Falcon-40B FP8 at TP 4 on BM.GPU.A10.4 needs about 14 GiB per GPU, but A10 is 8.6; on the L40S
    // TP 2 is enough (20.7 GiB weights + 1.9 GiB KV + 1 GiB activations + 1.5 GiB runtime).
    const fp8 = { ...DEV_ENGINE, quantization: "fp8" as const };
    assert.equal(memoryBudget(FALCON_40B, { ...fp8, tensorParallel: 4 }, shape("BM.GPU.A10.4")).fits, true);
    const fit = cheapestFittingShape(FALCON_40B, fp8);
    assert.equal(fit?.shape.name, "BM.GPU.L40S.4");
    assert.equal(fit?.tensorParallel, 2);
  });

  test("nothing fits: undefined", () => {
    assert.equal(cheapestFittingShape(FALCON_7B, { ...DEV_ENGINE, maxBatchSize: 4096 }), undefined);
    assert.equal(cheapestFittingShape(FALCON_40B, DEV_ENGINE, [shape("VM.GPU.A10.1")]), undefined);
  });

  test("every catalogue price is positive and every shape has GPUs", () => {
    for (const s of GPU_SHAPES) assert.ok(s.usdPerHour > 0 && s.gpuCount >= 1 && s.gpuMemoryMiB > 0, s.name);
  });
});

describe("sizing summary", () => {
  test("the dev stack: Falcon-7B on one A10 at $2/h, no build instance, $16 over 8 hours", () => {
    const summary = sizingSummary(validConfig());
    assert.equal(summary.deploymentShape, "VM.GPU.A10.1");
    assert.equal(summary.gpu, "1 x A10");
    assert.equal(summary.kvCacheKiBPerToken, 8);
    assert.equal(summary.perGpuGiB.kvCache, 0.5);
    // 6.92e9 parameters plus the separate 65024 x 4544 LM head, 2 bytes each: 14,430,938,112 bytes
    // (about 14.4 GB of bf16 weights) = 13.44 GiB.
    assert.equal(summary.perGpuGiB.weights, 13.44);
    assert.equal(summary.perGpuGiB.available, 22.49);
    assert.ok(
      summary.perGpuGiB.headroom > 5 && summary.perGpuGiB.headroom < 7.5,
      String(summary.perGpuGiB.headroom),
    );
    assert.equal(summary.cost.deploymentUsdPerHour, 2);
    // The engine is prebuilt: no GPU build instance runs.
    assert.equal(summary.cost.buildUsdPerHour, 0);
    assert.equal(summary.cost.evaluationUsd, 16);
    const text = formatSizingSummary(summary);
    assert.match(text, /KV cache 0\.5 \(8 KiB\/token\)/);
    assert.match(text, /deployment 2,/);
  });

  test("cost scales with instances; without evaluation.ttlHours there is no evaluation line", () => {
    const summary = sizingSummary(
      validConfig({ "deployment.instanceCount": 3, "evaluation.ttlHours": undefined }),
    );
    assert.equal(summary.cost.deploymentUsdPerHour, 6);
    assert.equal(summary.cost.evaluationUsd, undefined);
    assert.doesNotMatch(formatSizingSummary(summary), /evaluation/);
    // Found in a newcomer run: the line said "deployment 6" with nothing showing where the 6 came from.
    assert.match(formatSizingSummary(summary), /deployment 2 x 3 instances = 6,/);
    assert.match(formatSizingSummary(sizingSummary(validConfig())), /deployment 2, /);
  });

  test("without a prebuilt engine the build shape's price is counted", () => {
    const summary = sizingSummary(
      configWith({ "engine.prebuiltDir": undefined, "build.shape": "VM.GPU.A10.2" }),
    );
    assert.equal(summary.cost.buildUsdPerHour, 4);
  });
});

describe("image line of the summary", () => {
  test("oci: the copy's estimate from the catalogue's 17 GB for 25.04 at the stated 50 MB/s", () => {
    const summary = sizingSummary(validConfig({ "image.mirror": "oci" }));
    // 17e9 bytes / 50e6 bytes/s = 340 s, rounded up to whole minutes.
    assert.deepEqual(summary.image, { mirror: "oci", estimatedCopyMinutes: 6 });
    assert.equal(estimateCopyMinutes("nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3"), 6);
    assert.match(formatSizingSummary(summary), /image .*shared OCIR repository.*about 6 min when it is not/);
  });

  test("an uncatalogued tag is planned at the largest image, 34 GB", () => {
    assert.equal(estimateCopyMinutes("nvcr.io/nvidia/tritonserver:99.01-trtllm-python-py3"), 12);
  });

  test("the host that only copies: the smallest boot volume, its launch and cloud-init, then the copy", () => {
    // 3 min to boot, 12 of cloud-init, 6 of copying 17 GB at 50 MB/s.
    assert.deepEqual(estimateCopyHost(validConfig({ "image.mirror": "oci" })), {
      bootVolumeGB: 100,
      totalMinutes: 21,
    });
  });

  test("local: no copy estimate, the daemon named", () => {
    const summary = sizingSummary(validConfig({ "image.mirror": "local" }));
    assert.deepEqual(summary.image, { mirror: "local" });
    assert.match(formatSizingSummary(summary), /image .*through a Docker daemon/);
  });
});

test("gib() rounds to hundredths of a GiB", () => {
  assert.equal(gib(GIB), 1);
  assert.equal(gib(1.5 * GIB + 4 * 1024 * 1024), 1.5);
});

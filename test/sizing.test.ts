// Memory budget and shape choice against the published figures (Hugging Face config.json of the
// models, OCI's shape list, TensorRT-LLM's paged KV cache: the fraction of what the engine leaves),
// worked by hand.

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

describe("parameter counts: the config.json sums, the LM head once", () => {
  // Each catalogue count is the sum of the model's matrices from its config.json (catalog.ts shows
  // the sums), with the LM head as one matrix of its own: recomputed here from the architecture
  // fields, so a count that holds the LM head twice, or not at all, fails.
  const falconSum = (
    layers: number,
    hidden: number,
    heads: number,
    kvHeads: number,
    ffn: number,
    vocab: number,
  ) => {
    const head = hidden / heads;
    const norms = kvHeads > 1 ? 4 * hidden : 2 * hidden; // the 40B has two LayerNorms a layer
    const layer = hidden * (heads + 2 * kvHeads) * head + hidden * hidden + 2 * hidden * ffn + norms;
    return layers * layer + 2 * vocab * hidden + 2 * hidden;
  };
  const llamaSum = (m: (typeof MODELS)[string]) => {
    const kv = m.kvHeads * headDim(m);
    const layer =
      2 * m.hiddenSize * m.hiddenSize +
      2 * m.hiddenSize * kv +
      3 * m.hiddenSize * m.intermediateSize +
      2 * m.hiddenSize;
    return m.layers * layer + 2 * m.vocabSize * m.hiddenSize + m.hiddenSize;
  };

  test("Falcon-7B: 6,921,720,704 in the Hugging Face model (tied head) + the 65024 x 4544 LM head TensorRT-LLM writes", () => {
    assert.equal(FALCON_7B.parameterCount, falconSum(32, 4544, 71, 1, 18176, 65024));
    assert.equal(FALCON_7B.parameterCount - 65024 * 4544, 6_921_720_704);
    assert.equal(FALCON_40B.parameterCount, falconSum(60, 8192, 128, 8, 32768, 65024));
  });

  test("Llama-3.1-8B: 8.03e9 already holds its untied LM head; Mistral-7B likewise", () => {
    assert.equal(LLAMA.parameterCount, llamaSum(LLAMA));
    assert.equal(Math.round(LLAMA.parameterCount / 1e7) / 100, 8.03);
    const mistral = MODELS["mistralai/Mistral-7B-Instruct-v0.2"];
    assert.equal(mistral.parameterCount, llamaSum(mistral));
  });
});

describe("memoryBudget", () => {
  const a10 = shape("VM.GPU.A10.1");

  test("weights in bf16 at TP 1 are 2 bytes per parameter: the LM head is in the count once", () => {
    assert.equal(memoryBudget(FALCON_7B, DEV_ENGINE, a10).weightsBytes, 2 * FALCON_7B.parameterCount);
    // Found in a newcomer run: 15.94 GiB, the head counted twice; 8,030,261,248 x 2 B = 14.96 GiB.
    assert.equal(gib(memoryBudget(LLAMA, DEV_ENGINE, a10).weightsBytes), 14.96);
    assert.equal(gib(memoryBudget(FALCON_7B, DEV_ENGINE, a10).weightsBytes), 13.44);
  });

  test("Falcon-40B bf16 weights are about 84 GB on one GPU", () => {
    const { weightsBytes } = memoryBudget(FALCON_40B, DEV_ENGINE, shape("BM.GPU.H100.8"));
    assert.ok(weightsBytes > 83e9 && weightsBytes < 86e9, String(weightsBytes));
  });

  test("the dev engine on an A10: the paged cache takes 0.9 of what the engine leaves, 386 sequences of 2048 tokens", () => {
    const budget = memoryBudget(FALCON_7B, DEV_ENGINE, a10, 0.9);
    assert.equal(budget.gpuMemoryBytes, 23028 * 1024 * 1024);
    assert.equal(
      budget.engineBytes,
      budget.weightsBytes + budget.activationBytes + budget.runtimeReserveBytes,
    );
    assert.equal(budget.kvCacheBytes, 0.9 * (budget.gpuMemoryBytes - budget.engineBytes));
    // 13.44 + 0.84 + 1.5 = 15.78 GiB of 22.49 leaves 6.71; 0.9 of it is 6.03 GiB = 791,005 tokens of 8 KiB.
    assert.equal(gib(budget.engineBytes), 15.78);
    assert.equal(gib(budget.kvCacheBytes), 6.03);
    assert.equal(budget.kvCacheTokens, Math.floor(budget.kvCacheBytes / (8 * KIB)));
    assert.equal(budget.kvCacheTokens, 791_005);
    assert.equal(budget.sequenceTokens, 2048);
    assert.equal(budget.fullLengthSequences, 386);
    assert.equal(budget.fits, true);
  });

  test("found in a newcomer run: Llama-3.1-8B, batch 32, on one A10 was refused as needing 26.14 GiB; it serves 19 full-length sequences", () => {
    const budget = memoryBudget(LLAMA, DEV_ENGINE, a10, 0.9);
    // 14.96 + 0.7 + 1.5 = 17.16 GiB leaves 5.33; 0.9 of it is 4.8 GiB = 39,282 tokens of 128 KiB.
    assert.equal(gib(budget.engineBytes), 17.16);
    assert.equal(budget.kvBytesPerToken, 128 * KIB);
    assert.equal(budget.kvCacheTokens, 39_282);
    assert.equal(budget.fullLengthSequences, 19);
    assert.equal(budget.fits, true);
    // The least that serves: the engine and 2048 x 128 KiB = 0.25 GiB of cache at 0.9.
    assert.equal(gib(budget.minimumBytes), 17.44);
  });

  test("the cache is what the GPU has left, not the batch at full length: the batch moves only the logits", () => {
    const dev = memoryBudget(FALCON_7B, DEV_ENGINE, a10, 0.9);
    const wide = memoryBudget(FALCON_7B, { ...DEV_ENGINE, maxBatchSize: 64 }, a10, 0.9);
    // 32 more rows of fp32 logits (65024 x 4 B each) come out of the cache, and nothing else changes.
    assert.equal(wide.activationBytes - dev.activationBytes, 32 * 65024 * 4);
    assert.ok(Math.abs(dev.kvCacheBytes - wide.kvCacheBytes - 0.9 * 32 * 65024 * 4) < 1);
    assert.equal(wide.fits, true);
  });

  test("serving.kvCacheFreeGpuMemFraction scales the cache; the default is the backend's 0.9", () => {
    const half = memoryBudget(FALCON_7B, DEV_ENGINE, a10, 0.5);
    const full = memoryBudget(FALCON_7B, DEV_ENGINE, a10, 0.9);
    assert.ok(Math.abs(half.kvCacheBytes / full.kvCacheBytes - 0.5 / 0.9) < 1e-12);
    assert.deepEqual(memoryBudget(FALCON_7B, DEV_ENGINE, a10), full);
  });

  test("a stack fits only when the cache holds one full-length sequence, however close the engine comes", () => {
    // Falcon-40B bf16 at TP 4 on A10s: 22.48 GiB of engine per 22.49 GiB GPU leaves a cache of 157
    // tokens, not the 2048 of one sequence.
    const tight = memoryBudget(FALCON_40B, { ...DEV_ENGINE, tensorParallel: 4 }, shape("BM.GPU.A10.4"), 0.9);
    assert.ok(tight.engineBytes < tight.gpuMemoryBytes);
    assert.equal(tight.kvCacheTokens, 157);
    assert.equal(tight.fullLengthSequences, 0);
    assert.equal(tight.fits, false);
    assert.ok(tight.minimumBytes > tight.gpuMemoryBytes);
    // Llama with 16384 in + 16384 out (4 GiB a sequence) fits the A10 at 0.9 of its 5.33 GiB, not at 0.5.
    const long = { ...DEV_ENGINE, maxInputLen: 16384, maxOutputLen: 16384 };
    assert.equal(memoryBudget(LLAMA, long, a10, 0.9).fullLengthSequences, 1);
    assert.equal(memoryBudget(LLAMA, long, a10, 0.5).fits, false);
  });

  test("an engine bigger than the GPU leaves no cache at all", () => {
    const budget = memoryBudget(FALCON_40B, DEV_ENGINE, a10, 0.9);
    assert.equal(budget.kvCacheBytes, 0);
    assert.equal(budget.kvCacheTokens, 0);
    assert.equal(budget.fits, false);
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
    const fit = cheapestFittingShape(FALCON_7B, DEV_ENGINE, 0.9, shuffled);
    assert.equal(fit?.shape.name, "VM.GPU.A10.1");
    assert.equal(fit?.tensorParallel, 1);
  });

  test("Llama-3.1-8B at batch 32 stays on one A10; a 64K-token sequence goes to two A10s at TP 2 ($4/h)", () => {
    assert.equal(cheapestFittingShape(LLAMA, DEV_ENGINE)?.shape.name, "VM.GPU.A10.1");
    // 65,536 tokens x 128 KiB = 8 GiB, beyond the 4.8 GiB one A10 leaves. At TP 2 each rank holds
    // 7.97 GiB of weights and 64 KiB a token: 9.95 GiB of engine leaves a cache of 184,854 tokens.
    const long = { ...DEV_ENGINE, maxInputLen: 32768, maxOutputLen: 32768 };
    const fit = cheapestFittingShape(LLAMA, long);
    assert.equal(fit?.shape.name, "VM.GPU.A10.2");
    assert.equal(fit?.tensorParallel, 2);
    assert.equal(
      memoryBudget(LLAMA, { ...long, tensorParallel: 2 }, shape("VM.GPU.A10.2")).fullLengthSequences,
      2,
    );
  });

  test("Falcon-40B bf16: BM.GPU.L40S.4 at TP 2 (the A10 shapes run out of memory)", () => {
    // At TP 2 a rank holds 39.46 GiB of weights, 41.97 GiB with activations and runtime, of 45 GiB:
    // 0.9 of the rest is 47,526 tokens of 60 KiB, 23 sequences. BM.GPU.A10.4 at TP 4 leaves 157 tokens.
    const fit = cheapestFittingShape(FALCON_40B, DEV_ENGINE);
    assert.equal(fit?.shape.name, "BM.GPU.L40S.4");
    assert.equal(fit?.tensorParallel, 2);
    assert.equal(
      memoryBudget(FALCON_40B, { ...DEV_ENGINE, tensorParallel: 2 }, shape("BM.GPU.L40S.4"))
        .fullLengthSequences,
      23,
    );
  });

  test("FP8 skips shapes below compute capability 8.9 even when they have the memory", () => {
    // Falcon-40B FP8 at TP 4 serves on BM.GPU.A10.4 by memory, but A10 is 8.6; on the L40S TP 1 is
    // enough (39.95 GiB of weights, 42.96 GiB of engine, 15 sequences of 2048 tokens at 60 KiB).
    const fp8 = { ...DEV_ENGINE, quantization: "fp8" as const };
    assert.equal(memoryBudget(FALCON_40B, { ...fp8, tensorParallel: 4 }, shape("BM.GPU.A10.4")).fits, true);
    const fit = cheapestFittingShape(FALCON_40B, fp8);
    assert.equal(fit?.shape.name, "BM.GPU.L40S.4");
    assert.equal(fit?.tensorParallel, 1);
  });

  test("nothing fits: undefined", () => {
    // A trillion parameters: 250 GB a rank even at TP 8 on the 80 GB boards.
    assert.equal(cheapestFittingShape({ ...FALCON_40B, parameterCount: 1e12 }, DEV_ENGINE), undefined);
    assert.equal(cheapestFittingShape(FALCON_40B, DEV_ENGINE, 0.9, [shape("VM.GPU.A10.1")]), undefined);
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
    // 7,217,189,760 parameters, the LM head once, 2 bytes each: 13.44 GiB.
    assert.equal(summary.perGpuGiB.weights, 13.44);
    assert.equal(summary.perGpuGiB.available, 22.49);
    // The paged cache takes 0.9 of the 6.71 GiB the engine leaves; the rest is headroom.
    assert.equal(summary.perGpuGiB.kvCache, 6.03);
    assert.equal(summary.perGpuGiB.required, 21.82);
    assert.equal(summary.perGpuGiB.headroom, 0.67);
    assert.equal(summary.perGpuGiB.minimum, 15.8);
    assert.deepEqual(summary.kvCache, {
      freeGpuMemFraction: 0.9,
      tokens: 791_005,
      sequenceTokens: 2048,
      fullLengthSequences: 386,
      maxBatchSize: 32,
      maxNumTokens: 8192,
    });
    assert.equal(summary.cost.deploymentUsdPerHour, 2);
    // The engine is prebuilt: no GPU build instance runs.
    assert.equal(summary.cost.buildUsdPerHour, 0);
    assert.equal(summary.cost.evaluationUsd, 16);
    const text = formatSizingSummary(summary);
    assert.match(text, /KV cache 6\.03 \(8 KiB\/token\)/);
    assert.match(text, /= 21\.82 of 22\.49 \(headroom 0\.67; at least 15\.8 serves\)/);
    assert.match(
      text,
      /KV cache +791,005 tokens .*: 386 full-length sequences of 2,048 tokens at once; the engine runs at most engine\.maxBatchSize 32 at once/,
    );
    assert.match(text, /deployment 2,/);
  });

  test("check prints how many full-length sequences fit, and says when fewer than the batch", () => {
    const llama = sizingSummary(
      validConfig({
        "model.huggingFaceId": "meta-llama/Llama-3.1-8B-Instruct",
        "engine.maxInputLen": 16384,
        "engine.maxOutputLen": 16384,
      }),
    );
    assert.equal(llama.kvCache.fullLengthSequences, 1);
    assert.match(
      formatSizingSummary(llama),
      /KV cache +39,282 tokens .*: 1 full-length sequence of 32,768 tokens at once; fewer than engine\.maxBatchSize 32/,
    );
    const half = sizingSummary(validConfig({ "serving.kvCacheFreeGpuMemFraction": 0.5 }));
    assert.equal(half.kvCache.freeGpuMemFraction, 0.5);
    assert.equal(half.perGpuGiB.kvCache, 3.35);
    assert.match(
      formatSizingSummary(half),
      /serving\.kvCacheFreeGpuMemFraction 0\.5 of what the engine leaves/,
    );
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

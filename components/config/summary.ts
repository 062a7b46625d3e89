/**
 * The sizing summary and cost estimate the program exports and `check` prints: what the engine
 * needs from each GPU, what the shape offers, and what the stack costs while it runs.
 */
import { describeBuildPhases, estimateBuild, type BuildEstimate } from "./build-estimate";
import { estimateCopyMinutes } from "./image-copy";
import type { ImageMirror } from "./image-mirror";
import type { StackConfig } from "./schema";
import { shapes } from "./views";
import { DEFAULT_MAX_NUM_TOKENS, gib, memoryBudget } from "./sizing";

export interface SizingSummary {
  readonly model: string;
  readonly deploymentShape: string;
  readonly gpu: string;
  readonly tensorParallel: number;
  /**
   * What each GPU holds once the engine has started: the engine (weights, activations, runtime), then
   * the paged KV cache, which takes `kvCache.freeGpuMemFraction` of what the engine leaves; `required`
   * is their sum and `headroom` the rest of the GPU. `minimum` is the least that serves: the engine
   * and a cache of one full-length sequence.
   */
  readonly perGpuGiB: {
    readonly weights: number;
    readonly kvCache: number;
    readonly activations: number;
    readonly runtimeReserve: number;
    readonly required: number;
    readonly available: number;
    readonly headroom: number;
    readonly minimum: number;
  };
  readonly kvCacheKiBPerToken: number;
  /** What the paged KV cache holds per GPU. */
  readonly kvCache: {
    readonly freeGpuMemFraction: number;
    readonly tokens: number;
    /** `engine.maxInputLen + engine.maxOutputLen`. */
    readonly sequenceTokens: number;
    /** Sequences at full length the cache holds at once. */
    readonly fullLengthSequences: number;
    /** `engine.maxBatchSize`: the most sequences the engine runs at once, whatever the cache holds. */
    readonly maxBatchSize: number;
    /** The `max_num_tokens` the activations are sized for. */
    readonly maxNumTokens: number;
  };
  readonly cost: {
    /** All instances together. */
    readonly deploymentUsdPerHour: number;
    readonly instanceCount: number;
    /** One instance of the deployment shape. */
    readonly shapeUsdPerHour: number;
    /** Zero when the engine comes from `engine.prebuiltDir`: no build instance is created. */
    readonly buildUsdPerHour: number;
    /** Deployment cost over `evaluation.ttlHours`, when set. */
    readonly evaluationUsd?: number;
    readonly priceDate: string;
  };
  /**
   * What building the engine costs when the bucket's cache misses (`build`) and when only the engine
   * is cached (`assemble`: the artifact re-packed and validated in Triton), both on the GPU shape;
   * absent with `engine.prebuiltDir`. Which one a run takes is decided at preview and exported as the
   * `engine` output.
   */
  readonly build?: { readonly onMiss: BuildEstimate; readonly onEngineHit: BuildEstimate };
  /**
   * How the serving image reaches OCIR. With `oci`, whether the digest is already mirrored is looked
   * up at preview (the `image` stack output); a copy, when one is needed, takes about this long.
   */
  readonly image: { readonly mirror: ImageMirror; readonly estimatedCopyMinutes?: number };
}

export function sizingSummary(config: StackConfig): SizingSummary {
  const { deployment, build } = shapes(config);
  const fraction = config.serving.kvCacheFreeGpuMemFraction;
  const budget = memoryBudget(config.model.resolved, config.engine, deployment, fraction);
  const inUse = budget.engineBytes + budget.kvCacheBytes;
  const deploymentUsdPerHour = round(deployment.usdPerHour * config.deployment.instanceCount);
  const ttl = config.evaluation.ttlHours;
  return {
    model: config.model.huggingFaceId,
    deploymentShape: deployment.name,
    gpu: `${deployment.gpuCount} x ${deployment.gpuModel}`,
    tensorParallel: config.engine.tensorParallel,
    perGpuGiB: {
      weights: gib(budget.weightsBytes),
      kvCache: gib(budget.kvCacheBytes),
      activations: gib(budget.activationBytes),
      runtimeReserve: gib(budget.runtimeReserveBytes),
      required: gib(inUse),
      available: gib(budget.gpuMemoryBytes),
      headroom: gib(budget.gpuMemoryBytes - inUse),
      minimum: gib(budget.minimumBytes),
    },
    kvCacheKiBPerToken: budget.kvBytesPerToken / 1024,
    kvCache: {
      freeGpuMemFraction: fraction,
      tokens: budget.kvCacheTokens,
      sequenceTokens: budget.sequenceTokens,
      fullLengthSequences: budget.fullLengthSequences,
      maxBatchSize: config.engine.maxBatchSize,
      maxNumTokens: DEFAULT_MAX_NUM_TOKENS,
    },
    cost: {
      deploymentUsdPerHour,
      instanceCount: config.deployment.instanceCount,
      shapeUsdPerHour: deployment.usdPerHour,
      buildUsdPerHour: config.engine.prebuiltDir === undefined ? build.usdPerHour : 0,
      ...(ttl === undefined ? {} : { evaluationUsd: round(deploymentUsdPerHour * ttl) }),
      priceDate: deployment.priceDate,
    },
    ...(config.engine.prebuiltDir === undefined
      ? { build: { onMiss: estimateBuild(config, "build"), onEngineHit: estimateBuild(config, "assemble") } }
      : {}),
    image:
      config.image.mirror === "oci"
        ? { mirror: "oci", estimatedCopyMinutes: estimateCopyMinutes(config.image.source) }
        : { mirror: "local" },
  };
}

function round(usd: number): number {
  return Math.round(usd * 100) / 100;
}

function deploymentCost(cost: SizingSummary["cost"]): string {
  return cost.instanceCount === 1
    ? String(cost.deploymentUsdPerHour)
    : `${cost.shapeUsdPerHour} x ${cost.instanceCount} instances = ${cost.deploymentUsdPerHour}`;
}

const count = (n: number) => n.toLocaleString("en-US");

/** How many tokens the paged KV cache holds, and so how many full-length sequences at once. */
function kvCacheLine(summary: SizingSummary): string {
  const kv = summary.kvCache;
  const concurrency =
    kv.fullLengthSequences >= kv.maxBatchSize
      ? `; the engine runs at most engine.maxBatchSize ${kv.maxBatchSize} at once`
      : `; fewer than engine.maxBatchSize ${kv.maxBatchSize}: at full length, not all of a full batch runs at once`;
  return (
    `KV cache         ${count(kv.tokens)} tokens (serving.kvCacheFreeGpuMemFraction ${kv.freeGpuMemFraction} of what the engine leaves; activations sized for ${count(kv.maxNumTokens)} tokens a step):` +
    ` ${count(kv.fullLengthSequences)} full-length sequence${kv.fullLengthSequences === 1 ? "" : "s"} of ${count(kv.sequenceTokens)} tokens at once${concurrency}`
  );
}

export function formatSizingSummary(summary: SizingSummary): string {
  const m = summary.perGpuGiB;
  const lines = [
    `model            ${summary.model}`,
    `deployment       ${summary.deploymentShape} (${summary.gpu}), tensor parallel ${summary.tensorParallel}`,
    `per GPU (GiB)    weights ${m.weights} + KV cache ${m.kvCache} (${summary.kvCacheKiBPerToken} KiB/token) + activations ${m.activations} + runtime ${m.runtimeReserve} = ${m.required} of ${m.available} (headroom ${m.headroom}; at least ${m.minimum} serves)`,
    kvCacheLine(summary),
    `cost (USD/h)     deployment ${deploymentCost(summary.cost)}, build instance ${summary.cost.buildUsdPerHour} while building (list prices ${summary.cost.priceDate})`,
  ];
  if (summary.cost.evaluationUsd !== undefined) {
    lines.push(
      `evaluation       ${summary.cost.evaluationUsd} USD for the deployment over evaluation.ttlHours`,
    );
  }
  if (summary.build !== undefined) {
    const { onMiss, onEngineHit } = summary.build;
    lines.push(
      `engine build     on a cache miss about ${onMiss.totalMinutes} min on ${onMiss.shape} (${onMiss.bootVolumeGB} GB boot volume), about ${onMiss.usd} USD; on an engine-cache hit about ${onEngineHit.totalMinutes} min on ${onEngineHit.shape}, about ${onEngineHit.usd} USD; nothing on an artifact-cache hit (estimates)`,
      `  by phase on a miss (image pull and weight download overlap), assumed:`,
      ...describeBuildPhases(onMiss).map((line) => `    ${line}`),
    );
  }
  lines.push(
    summary.image.mirror === "oci"
      ? `image            copied inside OCI by digest into the shared OCIR repository unless it is there already (pulumi preview looks): about ${summary.image.estimatedCopyMinutes} min when it is not (estimate)`
      : "image            pulled and pushed to OCIR through a Docker daemon (image.mirror local: docker.host, else this machine's)",
  );
  return lines.join("\n");
}

/**
 * Autoscaling of the model deployment, as pure functions of the configuration: how much one
 * instance serves, the scale-out and scale-in MQL queries OCI evaluates, the provider's
 * `scalingPolicy` input, the load balancer's bandwidth range and the cost range.
 *
 * OCI's threshold autoscaling evaluates one MQL query per direction as a Monitoring alarm on the
 * deployment's own metrics (namespace `oci_datascience_modeldeploy`: PredictRequestCount,
 * PredictLatency, PredictResponse, PredictBandwidth, CPU and memory; OCI docs "Model Deployment
 * Metrics") and adds or removes `instanceCountAdjustment` instances when it fires, at most once per
 * cooldown. A custom query must name the deployment as `{resourceId = "MODEL_DEPLOYMENT_OCID"}`,
 * which the service replaces with the deployment's OCID; no traffic emits no metric at all, so a
 * scale-in query needs `absent()` (OCI docs "Custom Scaling Metric Type to Configure
 * Autoscaling", whose example scale-in query joins `.absent() == 1 || ... .sum() < 5`).
 *
 * For an LLM the CPU says little: the GPU does the work. The request rate and the latency track the
 * load, so the presets are those two:
 *
 * - `p95LatencyMs`: the 95th percentile of PredictLatency over a minute. An engine that runs
 *   `concurrentSequences` at once and has more waiting answers late: the request waits for a free
 *   slot. The default is the time the engine takes at best for its longest answer (`engine.
 *   maxOutputLen` decode steps), so a p95 above it means requests waited or the batch was full.
 * - `requestsPerMinutePerInstance`: PredictRequestCount summed over a minute. The metric has the
 *   deployment as its only dimension (no instance), and a query cannot read how many instances run,
 *   so a per-instance rate is written for `minInstances` instances: scale-out fires once the
 *   smallest fleet would be past the rate (and keeps adding while the rate stays above it), scale-in
 *   once the whole deployment is below what `minInstances` instances take at the rate, so removing
 *   an instance never leaves fewer than the rate needs.
 *
 * Defaults: scale out on p95 latency, scale in on the request rate (with `absent()`), both sized
 * from the engine as `sizing.ts` sizes it: the sequences one instance serves at once (the engine's
 * batch or what its KV cache holds at full length, whichever is fewer) and its fastest decode step
 * (every step reads every weight once from GPU memory, so a step takes at least the weights' bytes
 * over the GPU's memory bandwidth; an estimate of a floor, not a measurement).
 */
import type { AutoscalingSettings, ScalingPreset, ScalingRule } from "../config/production-schema";
import type { StackConfig } from "../config/schema";
import { memoryBudget, weightBytes } from "../config/sizing";
import { shapes } from "../config/views";
import { engineBytes, imageCompressedGB } from "../config/build-estimate";
import { expectedStartMinutes } from "./deployment-timeout";

export const METRIC_NAMESPACE = "oci_datascience_modeldeploy";

/** What OCI replaces with the deployment's OCID in an autoscaling query. */
export const DEPLOYMENT_PLACEHOLDER = '{resourceId = "MODEL_DEPLOYMENT_OCID"}';
const PLACEHOLDER_PATTERN = /\{[^}]*\bresourceId\s*=\s*"MODEL_DEPLOYMENT_OCID"[^}]*\}/;

export function hasDeploymentPlaceholder(query: string): boolean {
  return PLACEHOLDER_PATTERN.test(query);
}

export function usesAbsent(query: string): boolean {
  return /\.absent\(/.test(query);
}

// Memory bandwidth of one GPU, from NVIDIA's datasheets: A10 600 GB/s; L40S 864 GB/s; A100 SXM4
// 40 GB 1,555 GB/s and 80 GB 2,039 GB/s; H100 SXM5 3.35 TB/s. The catalogue's gpuModel names them
// (components/config/catalog.ts); OCI's BM.GPU4.8, BM.GPU.A100-v2.8 and BM.GPU.H100.8 carry SXM boards.
const GPU_MEMORY_BYTES_PER_SECOND: Readonly<Record<string, number>> = {
  A10: 600e9,
  L40S: 864e9,
  "A100-40GB": 1555e9,
  "A100-80GB": 2039e9,
  H100: 3350e9,
};
const SLOWEST_GPU_BYTES_PER_SECOND = 600e9;

// OCI ends a /predict call after 60 seconds (FACTS section 4; operations/endpoint/deployment-client.ts): a
// latency threshold at or past it can never be measured on an answered call.
export const PREDICT_TIMEOUT_MS = 60_000;
// The latency default stays well inside that limit: at 45 s a request still answers.
const LATENCY_CEILING_MS = 45_000;

// How long a condition must hold before OCI acts (ISO 8601, PT3M to PT1H: @pulumi/oci 4.20
// types/input.d.ts, scaleOutConfiguration.pendingDuration). Out: five minutes, so a burst shorter
// than that buys no instance that would serve only after it has passed. In: fifteen, so a lull
// between bursts does not take one away.
export const SCALE_OUT_PENDING_MINUTES = 5;
export const SCALE_IN_PENDING_MINUTES = 15;
// Twice OCI's 300-second floor (production-schema.ts MIN_COOLDOWN_SECONDS). The cooldown starts once
// the deployment is ACTIVE after a scaling operation (@pulumi/oci 4.20 coolDownInSeconds), i.e. once
// the new instance serves; ten minutes let its effect show in a five-minute condition.
export const DEFAULT_COOLDOWN_SECONDS = 600;
// absent() stops returning values after two hours of absence, its default detection period (OCI
// docs "Creating an Absence Alarm"): a scale-in driven by absent() must be done by then.
export const ABSENCE_DETECTION_MINUTES = 120;
// The load balancer's maximum is at most twice its minimum (OCI docs "Creating a Model Deployment
// with Autoscaling"), and the bandwidth at most 8000 Mbps (schema.ts deployment.bandwidthMbps).
export const MAX_BANDWIDTH_FACTOR = 2;
const MAX_BANDWIDTH_MBPS = 8000;

/** What one instance of the deployment serves, as the sizing sees it. */
export interface InstanceCapacity {
  /** The engine's batch, or the full-length sequences its KV cache holds, whichever is fewer. */
  readonly concurrentSequences: number;
  /** The fastest decode step: the weights on one GPU over its memory bandwidth. */
  readonly decodeStepMs: number;
  /** `engine.maxOutputLen` such steps: the engine's longest answer at best. */
  readonly longestAnswerSeconds: number;
  /** Requests a minute when every one is a longest answer: `concurrentSequences` per longest answer. */
  readonly fullLengthRequestsPerMinute: number;
}

export function instanceCapacity(config: StackConfig): InstanceCapacity {
  const { deployment } = shapes(config);
  const model = config.model.resolved;
  const budget = memoryBudget(model, config.engine, deployment, config.serving.kvCacheFreeGpuMemFraction);
  const concurrentSequences = Math.max(1, Math.min(config.engine.maxBatchSize, budget.fullLengthSequences));
  const bandwidth = GPU_MEMORY_BYTES_PER_SECOND[deployment.gpuModel] ?? SLOWEST_GPU_BYTES_PER_SECOND;
  const stepSeconds = weightBytes(model, config.engine) / bandwidth;
  const longestAnswerSeconds = stepSeconds * config.engine.maxOutputLen;
  return {
    concurrentSequences,
    decodeStepMs: round(stepSeconds * 1000, 2),
    longestAnswerSeconds: round(longestAnswerSeconds, 1),
    fullLengthRequestsPerMinute: round((concurrentSequences * 60) / longestAnswerSeconds, 1),
  };
}

/** One direction's condition, as OCI evaluates it. */
export interface ScalingCondition {
  /** The preset it came from, with its threshold in the preset's own unit; absent for a raw query. */
  readonly preset?: { readonly name: ScalingPreset; readonly threshold: number; readonly derived: boolean };
  /** The MQL query, with the deployment placeholder OCI replaces. */
  readonly query: string;
  readonly pendingDuration: string;
}

export interface AutoscalingPlan {
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly initialInstances: number;
  readonly cooldownSeconds: number;
  /** The load balancer: `maxMbps` only where it may scale (above the minimum). */
  readonly bandwidth: { readonly minMbps: number; readonly maxMbps?: number };
  readonly scaleOut: ScalingCondition;
  readonly scaleIn: ScalingCondition;
  readonly capacity: InstanceCapacity;
  readonly usdPerHour: { readonly min: number; readonly max: number };
  readonly priceDate: string;
  /** Minutes from a scale-out to the new instance serving: provisioning, image pull, Triton's load. */
  readonly instanceStartMinutes: number;
  /** Minutes to go from maxInstances to minInstances with no traffic at all. */
  readonly drainMinutes: number;
}

const metric = (name: string) => `${name}[1m]${DEPLOYMENT_PLACEHOLDER}.grouping()`;

function latencyThreshold(capacity: InstanceCapacity): number {
  return Math.min(LATENCY_CEILING_MS, Math.ceil(capacity.longestAnswerSeconds) * 1000);
}

/** The default threshold of a preset in a direction, in the preset's unit. */
export function defaultThreshold(
  preset: ScalingPreset,
  direction: "out" | "in",
  capacity: InstanceCapacity,
): number {
  if (preset === "p95LatencyMs") {
    const out = latencyThreshold(capacity);
    return direction === "out" ? out : Math.max(1000, Math.floor(out / 2000) * 1000);
  }
  // Scale out at 80% of what an instance takes when every answer is a longest one; scale in below
  // half of it.
  const share = direction === "out" ? 0.8 : 0.5;
  return Math.max(1, Math.floor(capacity.fullLengthRequestsPerMinute * share));
}

function presetQuery(preset: ScalingPreset, direction: "out" | "in", total: number): string {
  const [name, statistic] =
    preset === "p95LatencyMs" ? ["PredictLatency", "percentile(0.95)"] : ["PredictRequestCount", "sum()"];
  if (direction === "out") return `${metric(name)}.${statistic} > ${total}`;
  return `${metric(name)}.absent() == 1 || ${metric(name)}.${statistic} < ${total}`;
}

function condition(
  rule: ScalingRule | undefined,
  fallback: ScalingPreset,
  direction: "out" | "in",
  capacity: InstanceCapacity,
  minInstances: number,
): ScalingCondition {
  const pendingDuration = `PT${direction === "out" ? SCALE_OUT_PENDING_MINUTES : SCALE_IN_PENDING_MINUTES}M`;
  if (rule?.query !== undefined) return { query: rule.query, pendingDuration };
  const name = rule?.preset ?? fallback;
  const derived = rule?.threshold === undefined;
  const threshold = rule?.threshold ?? defaultThreshold(name, direction, capacity);
  const total = name === "requestsPerMinutePerInstance" ? round(threshold * minInstances, 2) : threshold;
  return {
    preset: { name, threshold, derived },
    query: presetQuery(name, direction, total),
    pendingDuration,
  };
}

/** The load balancer's range: the configured maximum, else twice the minimum within OCI's bounds. */
export function bandwidthRange(
  minMbps: number,
  settings: Pick<AutoscalingSettings, "maxBandwidthMbps">,
): { minMbps: number; maxMbps?: number } {
  const max = settings.maxBandwidthMbps ?? Math.min(minMbps * MAX_BANDWIDTH_FACTOR, MAX_BANDWIDTH_MBPS);
  return max > minMbps ? { minMbps, maxMbps: max } : { minMbps };
}

/** The deployment's autoscaling, or undefined when `deployment.autoscaling` is not set. */
export function autoscalingPlan(config: StackConfig): AutoscalingPlan | undefined {
  const settings = config.deployment.autoscaling;
  if (settings === undefined) return undefined;
  const { deployment } = shapes(config);
  const capacity = instanceCapacity(config);
  const { minInstances, maxInstances } = settings;
  const cooldownSeconds = settings.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS;
  return {
    minInstances,
    maxInstances,
    initialInstances: settings.initialInstances ?? minInstances,
    cooldownSeconds,
    bandwidth: bandwidthRange(config.deployment.bandwidthMbps, settings),
    scaleOut: condition(settings.scaleOut, "p95LatencyMs", "out", capacity, minInstances),
    scaleIn: condition(settings.scaleIn, "requestsPerMinutePerInstance", "in", capacity, minInstances),
    capacity,
    usdPerHour: {
      min: round(deployment.usdPerHour * minInstances, 2),
      max: round(deployment.usdPerHour * maxInstances, 2),
    },
    priceDate: deployment.priceDate,
    instanceStartMinutes: Math.ceil(
      expectedStartMinutes({
        imageCompressedGB: imageCompressedGB(config.image.source),
        artifactBytes: engineBytes(config),
      }),
    ),
    drainMinutes:
      Math.max(0, maxInstances - minInstances) * (SCALE_IN_PENDING_MINUTES + cooldownSeconds / 60),
  };
}

/**
 * The provider's `scalingPolicy` (@pulumi/oci 4.20 types/input.d.ts:26590-26718,
 * ModelDeploymentModelDeploymentConfigurationDetailsModelConfigurationDetailsScalingPolicy): one
 * THRESHOLD policy with one CUSTOM_EXPRESSION rule, as terraform-provider-oci v8.28.0 maps it
 * (datascience_model_deployment_resource.go:3489-3538 mapToScalingPolicy,
 * :1602-1648 mapToAutoScalingPolicyDetails, :2494-2525 mapToMetricExpressionRule, and
 * :1751-1770 mapToCustomExpressionQueryScalingConfiguration, which sends a custom rule's
 * instance_count_adjustment, pending_duration and query, and no threshold: the query holds it).
 * Without a plan: FIXED_SIZE with the configured instance count, as before.
 */
export function scalingPolicyInput(plan: AutoscalingPlan | undefined, instanceCount: number) {
  if (plan === undefined) return { policyType: "FIXED_SIZE", instanceCount };
  const configuration = (condition: ScalingCondition) => ({
    scalingConfigurationType: "QUERY",
    query: condition.query,
    pendingDuration: condition.pendingDuration,
    instanceCountAdjustment: 1,
  });
  return {
    policyType: "AUTOSCALING",
    isEnabled: true,
    coolDownInSeconds: plan.cooldownSeconds,
    autoScalingPolicies: [
      {
        autoScalingPolicyType: "THRESHOLD",
        minimumInstanceCount: plan.minInstances,
        maximumInstanceCount: plan.maxInstances,
        initialInstanceCount: plan.initialInstances,
        rules: [
          {
            metricExpressionRuleType: "CUSTOM_EXPRESSION",
            scaleOutConfiguration: configuration(plan.scaleOut),
            scaleInConfiguration: configuration(plan.scaleIn),
          },
        ],
      },
    ],
  };
}

/** The lines `check` prints for an autoscaling stack. */
export function describeAutoscaling(plan: AutoscalingPlan): string[] {
  const describe = (direction: string, condition: ScalingCondition) => {
    const preset = condition.preset;
    const source =
      preset === undefined
        ? "your query"
        : `${preset.name} ${preset.threshold}${preset.derived ? " (derived from the engine)" : ""}`;
    return `  scale ${direction.padEnd(4)}${source}, held ${condition.pendingDuration}: ${condition.query}`;
  };
  const { capacity, bandwidth } = plan;
  return [
    `autoscaling      ${plan.minInstances} to ${plan.maxInstances} instances (initially ${plan.initialInstances}), cooldown ${plan.cooldownSeconds} s: ${plan.usdPerHour.min} to ${plan.usdPerHour.max} USD/h (list prices ${plan.priceDate})`,
    `  per instance   ${capacity.concurrentSequences} sequences at once; decode step at least ${capacity.decodeStepMs} ms, so the longest answer takes at least ${capacity.longestAnswerSeconds} s and an instance serves about ${capacity.fullLengthRequestsPerMinute} longest answers a minute (estimates)`,
    describe("out", plan.scaleOut),
    describe("in", plan.scaleIn),
    `  new instance   serves about ${plan.instanceStartMinutes} min after a scale-out (provisioning, image pull, Triton's load; estimate); from ${plan.maxInstances} to ${plan.minInstances} without traffic about ${plan.drainMinutes} min`,
    `  load balancer  ${bandwidth.maxMbps === undefined ? `${bandwidth.minMbps} Mbps, fixed` : `${bandwidth.minMbps} to ${bandwidth.maxMbps} Mbps`}`,
  ];
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

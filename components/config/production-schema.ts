/**
 * The schema of a production endpoint's settings under `deployment`: autoscaling, private access and
 * alerts. Pure data, like `schema.ts`, which places these in its `deployment` object; what depends
 * on other settings (min against max, a query's placeholder, the bandwidth range, the subnet's
 * access mode) is judged in `rules/production.ts`, where every error can name its key.
 */
import { z } from "zod";

/** The presets a scaling rule may name instead of a raw MQL query (components/deployment/autoscaling.ts). */
export const SCALING_PRESETS = ["requestsPerMinutePerInstance", "p95LatencyMs"] as const;
export type ScalingPreset = (typeof SCALING_PRESETS)[number];

export const ACCESS_MODES = ["public", "private"] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

// Pulumi hands values inside objects over as they were written, and YAML lets users quote numbers:
// "600" and 600 alike, nothing else.
const fromText = (v: unknown) =>
  typeof v === "string" && v.trim() !== "" && !isNaN(Number(v)) ? Number(v) : v;
const wholeNumber = (min: number, max: number) => z.preprocess(fromText, z.int().min(min).max(max));
const positive = z.preprocess(fromText, z.number().gt(0));

// OCIDs as OCI writes them: ocid1.<type>.<realm>.[region].<unique part>.
const OCID_OF = (type: string) => new RegExp(`^ocid1\\.${type}\\.oc[0-9]+\\.[a-z0-9-]*\\.[a-z0-9]{20,}$`);
const ocidOf = (type: string) => z.string().regex(OCID_OF(type), `not an OCID of type ${type}`);

/**
 * One scaling rule: a named preset (its threshold derived from the engine unless given), or a raw
 * MQL query. Exactly one of `preset` and `query`; `threshold` only with a preset.
 */
export const scalingRuleSchema = z
  .strictObject({
    preset: z.enum(SCALING_PRESETS).optional(),
    threshold: positive.optional(),
    query: z.string().min(1).max(4000).optional(),
  })
  .superRefine((rule, context) => {
    if ((rule.preset === undefined) === (rule.query === undefined)) {
      context.addIssue({
        code: "custom",
        path: rule.query === undefined ? ["preset"] : ["query"],
        message: `needs exactly one of preset (${SCALING_PRESETS.join(", ")}) and query (an MQL expression)`,
      });
    }
    if (rule.query !== undefined && rule.threshold !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["threshold"],
        message: "goes with a preset only: a query carries its own threshold",
      });
    }
  });
export type ScalingRule = z.infer<typeof scalingRuleSchema>;

// OCI's floor for the cooldown: "The minimum value is 300 seconds, which is also the default"
// (oci-datascience 2.139.1 lib/model/auto-scaling-policy.d.ts:20-26, coolDownInSeconds).
export const MIN_COOLDOWN_SECONDS = 300;

/**
 * `deployment.autoscaling`: the deployment's instance count follows its load between the two
 * bounds. Instance counts share `deployment.instanceCount`'s bound (1-10).
 */
export const autoscalingSchema = z.strictObject({
  minInstances: wholeNumber(1, 10),
  maxInstances: wholeNumber(1, 10),
  initialInstances: wholeNumber(1, 10).optional(),
  cooldownSeconds: wholeNumber(MIN_COOLDOWN_SECONDS, 86_400).optional(),
  /** The load balancer's maximum bandwidth; `deployment.bandwidthMbps` is its minimum. */
  maxBandwidthMbps: wholeNumber(10, 8000).optional(),
  scaleOut: scalingRuleSchema.optional(),
  scaleIn: scalingRuleSchema.optional(),
});
export type AutoscalingSettings = z.infer<typeof autoscalingSchema>;

/** `deployment.alerts`: alarms on the deployment's errors and latency, to an ONS topic. */
export const alertsSchema = z.strictObject({
  email: z.email("not an email address").optional(),
  topicId: ocidOf("onstopic").optional(),
  errorRatePercent: z.preprocess(fromText, z.number().gt(0).lte(100)).optional(),
  p95LatencyMs: wholeNumber(1, 3_600_000).optional(),
});
export type AlertSettings = z.infer<typeof alertsSchema>;

/** The keys this file adds to `deployment` (schema.ts spreads them into its object). */
export const productionDeploymentKeys = {
  autoscaling: autoscalingSchema.optional(),
  access: z.enum(ACCESS_MODES).default("public"),
  privateSubnetId: ocidOf("subnet").optional(),
  alerts: alertsSchema.optional(),
};

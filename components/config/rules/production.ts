/**
 * Rules on a production endpoint's settings (`deployment.autoscaling`, `deployment.access`,
 * `deployment.privateSubnetId`, `deployment.alerts`): the combinations OCI refuses, or accepts and
 * then serves badly, each named by its key before any resource exists.
 */
import {
  autoscalingPlan,
  hasDeploymentPlaceholder,
  MAX_BANDWIDTH_FACTOR,
  ABSENCE_DETECTION_MINUTES,
  PREDICT_TIMEOUT_MS,
  usesAbsent,
  DEPLOYMENT_PLACEHOLDER,
} from "../../deployment/autoscaling";
import { subnetRegionProblem } from "../../deployment/endpoint-lookups";
import type { ScalingRule } from "../production-schema";
import type { ConfigError, Rule, StackConfig } from "../schema";

const AUTOSCALING = "deployment.autoscaling";
const set = (key: string) => `pulumi config set --path ${key} <value>`;

function ruleProblems(direction: "scaleOut" | "scaleIn", rule: ScalingRule | undefined): ConfigError[] {
  const key = `${AUTOSCALING}.${direction}`;
  if (rule?.query !== undefined && !hasDeploymentPlaceholder(rule.query)) {
    return [
      {
        key: `${key}.query`,
        value: rule.query,
        message: `does not name the deployment as ${DEPLOYMENT_PLACEHOLDER}, which OCI replaces with the deployment's OCID; OCI refuses a custom scaling query without it`,
        fix: `put ${DEPLOYMENT_PLACEHOLDER} after the metric, e.g. PredictRequestCount[1m]${DEPLOYMENT_PLACEHOLDER}.grouping().sum() > 100`,
      },
    ];
  }
  if (
    rule?.preset === "p95LatencyMs" &&
    rule.threshold !== undefined &&
    rule.threshold >= PREDICT_TIMEOUT_MS
  ) {
    return [
      {
        key: `${key}.threshold`,
        value: rule.threshold,
        message: `is at or past OCI's ${PREDICT_TIMEOUT_MS} ms predict limit: calls end there, so no answered call's latency reaches it`,
        fix: `set a latency below ${PREDICT_TIMEOUT_MS} ms: ${set(`${key}.threshold`)}`,
      },
    ];
  }
  return [];
}

/** The instance counts, as OCI takes them. */
const instanceCountsRule: Rule = (config) => {
  const settings = config.deployment.autoscaling;
  if (settings === undefined) return [];
  const errors: ConfigError[] = [];
  const { minInstances, maxInstances, initialInstances } = settings;
  if (minInstances > maxInstances) {
    errors.push({
      key: `${AUTOSCALING}.minInstances`,
      value: minInstances,
      message: `is above ${AUTOSCALING}.maxInstances (${maxInstances}); OCI refuses a policy whose minimum exceeds its maximum`,
      fix: `set minInstances at most maxInstances: ${set(`${AUTOSCALING}.minInstances`)}`,
    });
  } else if (
    initialInstances !== undefined &&
    (initialInstances < minInstances || initialInstances > maxInstances)
  ) {
    errors.push({
      key: `${AUTOSCALING}.initialInstances`,
      value: initialInstances,
      message: `is outside ${minInstances}-${maxInstances} (minInstances-maxInstances)`,
      fix: `set it within them, or remove it to start at minInstances: pulumi config rm --path ${AUTOSCALING}.initialInstances`,
    });
  }
  return errors;
};

/** Each direction's query or preset threshold (a rule apart, so one bad setting hides no other). */
const scaleOutRule: Rule = (config) => ruleProblems("scaleOut", config.deployment.autoscaling?.scaleOut);
const scaleInRule: Rule = (config) => ruleProblems("scaleIn", config.deployment.autoscaling?.scaleIn);

/** The load balancer's range: from its minimum to at most twice it. */
const bandwidthRangeRule: Rule = (config) => {
  const settings = config.deployment.autoscaling;
  const maxBandwidth = settings?.maxBandwidthMbps;
  if (maxBandwidth === undefined) return [];
  const bandwidth = config.deployment.bandwidthMbps;
  const errors: ConfigError[] = [];
  if (maxBandwidth < bandwidth || maxBandwidth > bandwidth * MAX_BANDWIDTH_FACTOR) {
    errors.push({
      key: `${AUTOSCALING}.maxBandwidthMbps`,
      value: maxBandwidth,
      message: `must be from deployment.bandwidthMbps (${bandwidth}) to twice it (${bandwidth * MAX_BANDWIDTH_FACTOR}): OCI's load balancer scales up to at most twice its minimum`,
      fix: `set it within ${bandwidth}-${bandwidth * MAX_BANDWIDTH_FACTOR} (equal to bandwidthMbps: a fixed bandwidth): ${set(`${AUTOSCALING}.maxBandwidthMbps`)}`,
    });
  }
  return errors;
};

/** Scale-in and scale-out on the same preset must leave a band between them, or they take turns. */
const thresholdBandRule: Rule = (config) => {
  if (config.deployment.autoscaling === undefined) return [];
  if (
    [
      ...ruleProblems("scaleOut", config.deployment.autoscaling.scaleOut),
      ...ruleProblems("scaleIn", config.deployment.autoscaling.scaleIn),
    ].length > 0
  )
    return [];
  const plan = autoscalingPlan(config);
  const out = plan?.scaleOut.preset;
  const inward = plan?.scaleIn.preset;
  if (out === undefined || inward === undefined || out.name !== inward.name) return [];
  if (inward.threshold < out.threshold) return [];
  return [
    {
      key: `${AUTOSCALING}.scaleIn.threshold`,
      value: inward.threshold,
      message: `is not below the scale-out threshold ${out.threshold} of the same preset (${out.name}): the deployment would add and remove instances in turn`,
      fix: `set scaleIn.threshold below ${out.threshold}: ${set(`${AUTOSCALING}.scaleIn.threshold`)}`,
    },
  ];
};

/** A private endpoint needs its subnet, in the stack's region. */
export const accessRule: Rule = (config) => {
  const { access, privateSubnetId } = config.deployment;
  if (access !== "private") return [];
  if (privateSubnetId === undefined) {
    return [
      {
        key: "deployment.privateSubnetId",
        value: undefined,
        message:
          "is required with deployment.access private: the Data Science private endpoint takes a subnet of the VCN it is reached from",
        fix: "pulumi config set --path deployment.privateSubnetId <subnet OCID>, or set deployment.access public",
      },
    ];
  }
  const region = subnetRegionProblem(privateSubnetId, config.region);
  return region === undefined ? [] : [region];
};

/** An alarm that notifies no one pages no one. */
const alertRecipientRule: Rule = (config) => {
  const alerts = config.deployment.alerts;
  if (alerts === undefined) return [];
  const errors: ConfigError[] = [];
  if (alerts.email === undefined && alerts.topicId === undefined) {
    errors.push({
      key: "deployment.alerts.email",
      value: undefined,
      message: "is required unless deployment.alerts.topicId names a topic: alarms would notify no one",
      fix: "pulumi config set --path deployment.alerts.email <address>, or set deployment.alerts.topicId to an ONS topic OCID",
    });
  }
  return errors;
};

/** A latency alarm past OCI's predict limit never fires. */
const alertLatencyRule: Rule = (config) => {
  const alerts = config.deployment.alerts;
  const errors: ConfigError[] = [];
  if (alerts?.p95LatencyMs !== undefined && alerts.p95LatencyMs >= PREDICT_TIMEOUT_MS) {
    errors.push({
      key: "deployment.alerts.p95LatencyMs",
      value: alerts.p95LatencyMs,
      message: `is at or past OCI's ${PREDICT_TIMEOUT_MS} ms predict limit: no answered call's latency reaches it, so the alarm never fires`,
      fix: `set it below ${PREDICT_TIMEOUT_MS}, or remove it for the default: ${set("deployment.alerts.p95LatencyMs")}`,
    });
  }
  return errors;
};

/** Settings that are accepted but do not do what they seem to. */
export const productionWarnings: Rule = (config) => {
  const warnings: ConfigError[] = [];
  const { autoscaling, instanceCount, access, privateSubnetId } = config.deployment;
  if (autoscaling !== undefined && instanceCount !== 1) {
    warnings.push({
      key: "deployment.instanceCount",
      value: instanceCount,
      message: `is not used while ${AUTOSCALING} is set: the deployment runs minInstances to maxInstances`,
      fix: "remove it: pulumi config rm --path deployment.instanceCount",
    });
  }
  const scaleIn = autoscaling?.scaleIn?.query;
  if (scaleIn !== undefined && !usesAbsent(scaleIn)) {
    warnings.push({
      key: `${AUTOSCALING}.scaleIn.query`,
      value: scaleIn,
      message:
        "has no absent(): with no traffic the deployment emits no metric, the query returns nothing, and the deployment never scales in",
      fix: `join an absence: <metric>[1m]${DEPLOYMENT_PLACEHOLDER}.grouping().absent() == 1 || <your query>`,
    });
  }
  const plan = autoscaling === undefined ? undefined : autoscalingPlan(config);
  if (plan !== undefined && usesAbsent(plan.scaleIn.query) && plan.drainMinutes > ABSENCE_DETECTION_MINUTES) {
    warnings.push({
      key: `${AUTOSCALING}.cooldownSeconds`,
      value: plan.cooldownSeconds,
      message: `with no traffic, going from ${plan.maxInstances} to ${plan.minInstances} instances takes about ${plan.drainMinutes} min, past the ${ABSENCE_DETECTION_MINUTES} min after which absent() stops answering: the last instances above minInstances stay until traffic returns`,
      fix: `shorten the cooldown or narrow minInstances-maxInstances: ${set(`${AUTOSCALING}.cooldownSeconds`)}`,
    });
  }
  if (access === "public" && privateSubnetId !== undefined) {
    warnings.push({
      key: "deployment.privateSubnetId",
      value: privateSubnetId,
      message:
        "is not used while deployment.access is public: the endpoint stays reachable from the internet",
      fix: "pulumi config set --path deployment.access private, or remove it: pulumi config rm --path deployment.privateSubnetId",
    });
  }
  return warnings;
};

// Addresses of the reserved example domains (RFC 2606) stand in for the operator's own, like the
// committed example's placeholder OCIDs.
const EXAMPLE_EMAIL = /@(?:[a-z0-9-]+\.)*example\.(?:com|org|net)$/i;

/** The alert address of the committed example: valid to check, never to deploy. */
export function alertPlaceholders(config: Pick<StackConfig, "deployment">): ConfigError[] {
  const email = config.deployment.alerts?.email;
  if (email === undefined || !EXAMPLE_EMAIL.test(email)) return [];
  return [
    {
      key: "deployment.alerts.email",
      value: email,
      message: "is the placeholder of the committed example, not an address anyone reads",
      fix: "pulumi config set --path deployment.alerts.email <the on-call address>",
    },
  ];
}

/** Every rule of this file, each apart so that one bad setting silences no other's check. */
export const PRODUCTION_RULES: readonly Rule[] = [
  instanceCountsRule,
  scaleOutRule,
  scaleInRule,
  thresholdBandRule,
  bandwidthRangeRule,
  accessRule,
  alertRecipientRule,
  alertLatencyRule,
];

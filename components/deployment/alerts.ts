/**
 * The alarms that page someone about the deployment, as pure data: their MQL queries on the
 * deployment's own metrics (namespace `oci_datascience_modeldeploy`), thresholds, severities and
 * the message a recipient reads. The `DeploymentAlerts` component creates them.
 *
 * Both alarms are threshold alarms on metrics the deployment emits only while it answers requests
 * (OCI docs "Model Deployment Metrics"; "Custom Scaling Metric Type": no predict call, no metric):
 * with no traffic their queries return nothing, so they stay quiet, and neither uses `absent()`.
 * An idle production endpoint is not an incident; a deployment that stopped answering is one the
 * error alarm sees as soon as a client calls it.
 */
import type { AlertSettings } from "../config/production-schema";
import { PREDICT_TIMEOUT_MS } from "./autoscaling";

// A twentieth of the calls failing is past a bad client or two.
export const DEFAULT_ERROR_RATE_PERCENT = 5;
// Three quarters of OCI's 60-second predict limit: past it, longer answers start to be cut off.
export const DEFAULT_P95_LATENCY_MS = Math.round(PREDICT_TIMEOUT_MS * 0.75);
// The condition must hold this long before the alarm fires (OCI Monitoring alarms take PT1M-PT1D).
export const ALARM_PENDING_DURATION = "PT5M";

export interface AlertPlan {
  readonly errorRatePercent: number;
  readonly p95LatencyMs: number;
  /** An existing topic to notify; without it the component creates one. */
  readonly topicId?: string;
  /** Subscribed to the topic by email (the recipient confirms the subscription first). */
  readonly email?: string;
}

export function alertPlan(settings: AlertSettings | undefined): AlertPlan | undefined {
  if (settings === undefined) return undefined;
  return {
    errorRatePercent: settings.errorRatePercent ?? DEFAULT_ERROR_RATE_PERCENT,
    p95LatencyMs: settings.p95LatencyMs ?? DEFAULT_P95_LATENCY_MS,
    ...(settings.topicId === undefined ? {} : { topicId: settings.topicId }),
    ...(settings.email === undefined ? {} : { email: settings.email }),
  };
}

export interface AlarmSpec {
  /** Suffix of the resource name and the display name. */
  readonly key: "errors" | "latency";
  /** The MQL query on the deployment with this OCID. */
  query(deploymentId: string): string;
  readonly severity: "CRITICAL" | "WARNING";
  readonly body: string;
}

const stream = (metric: string, deploymentId: string, extra = "") =>
  `${metric}[5m]{resourceId = "${deploymentId}"${extra}}.grouping()`;

/**
 * The two alarms of a deployment:
 *
 * - errors: PredictResponse is the predict calls' success rate in percent, with the dimensions
 *   statusCode, result and statusFamily (OCI docs "Model Deployment Metrics": failures are 4XX and
 *   5XX). MQL compares a stream with a number and joins queries with `&&`, it does not divide one
 *   stream by another (OCI docs "Monitoring Query Language (MQL) Reference"), so the alarm fires when
 *   the success rate over five minutes is below 100 - errorRatePercent and at least one of those
 *   failures was a 5XX: a client's bad requests alone (4XX) page no one.
 * - latency: PredictLatency's 95th percentile over five minutes above p95LatencyMs.
 */
export function alarmSpecs(plan: AlertPlan): AlarmSpec[] {
  const successBelow = Math.round((100 - plan.errorRatePercent) * 100) / 100;
  return [
    {
      key: "errors",
      query: (deploymentId) =>
        `${stream("PredictResponse", deploymentId)}.mean() < ${successBelow} && ` +
        `${stream("PredictResponse", deploymentId, ', statusFamily = "5XX"')}.count() > 0`,
      severity: "CRITICAL",
      body:
        `More than ${plan.errorRatePercent}% of the predict calls failed over 5 minutes, some with a 5XX: ` +
        `the deployment is failing requests. Check its predict log and its state ` +
        `(oci data-science model-deployment get), then docs/production.md "What the alarms mean".`,
    },
    {
      key: "latency",
      query: (deploymentId) =>
        `${stream("PredictLatency", deploymentId)}.percentile(0.95) > ${plan.p95LatencyMs}`,
      severity: "WARNING",
      body:
        `The 95th percentile of predict latency was above ${plan.p95LatencyMs} ms over 5 minutes: requests ` +
        `wait for the engine, and past 60 s OCI cuts them off. Autoscaling adds instances if it is on ` +
        `(each serves only after it has started); see docs/production.md "What the alarms mean".`,
    },
  ];
}

/** ONS topic names: letters, digits, `-` and `_`, unique in the tenancy. */
export function topicName(baseName: string): string {
  return `${baseName.replace(/[^A-Za-z0-9_-]+/g, "-")}-alerts`.slice(0, 256);
}

/** The line `check` prints for a stack with alerts. */
export function describeAlerts(plan: AlertPlan): string {
  const to = [plan.email, plan.topicId ?? "a topic of its own"].filter((part) => part !== undefined);
  return `alerts           5XX failures above ${plan.errorRatePercent}% (CRITICAL) and p95 latency above ${plan.p95LatencyMs} ms (WARNING), 5 minutes each, quiet without traffic, to ${to.join(" through ")}`;
}

/**
 * DeploymentAlerts: the alarms that page someone about a model deployment. An ONS topic (or the one
 * given), an email subscription to it, and two Monitoring alarms on the deployment's own metrics:
 * its 5XX failures and its p95 latency (queries and thresholds: components/deployment/alerts.ts).
 * Everything here belongs to the stack: `pulumi destroy`, and the reaper that runs it for an expired
 * evaluation stack, delete it with the deployment.
 */
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { ALARM_PENDING_DURATION, type AlertPlan, alarmSpecs, topicName } from "./deployment/alerts";
import { METRIC_NAMESPACE } from "./deployment/autoscaling";

export interface DeploymentAlertsArgs {
  readonly compartmentId: pulumi.Input<string>;
  /** The model deployment the alarms watch; its metrics carry its OCID as `resourceId`. */
  readonly modelDeploymentId: pulumi.Input<string>;
  /** Thresholds, the topic to reuse and the address to subscribe (`alertPlan`). */
  readonly plan: AlertPlan;
  /** Prefix of the topic's and the alarms' names, e.g. the stack's base name. */
  readonly baseName: string;
  readonly freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export class DeploymentAlerts extends pulumi.ComponentResource {
  /** The topic the alarms notify. */
  public readonly topicId: pulumi.Output<string>;
  /** The alarms' OCIDs, by what they watch (`errors`, `latency`). */
  public readonly alarmIds: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: DeploymentAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:alerts:DeploymentAlerts", name, {}, opts);
    const { plan } = args;

    // terraform-provider-oci v8.28.0 internal/service/ons/ons_notification_topic_resource.go:40-44:
    // `name` is ForceNew, so a renamed stack gets a new topic.
    const topicId =
      plan.topicId === undefined
        ? new oci.ons.NotificationTopic(
            `${name}-topic`,
            {
              compartmentId: args.compartmentId,
              name: topicName(args.baseName),
              description: "Alarms of the Triton model deployment",
              freeformTags: args.freeformTags,
            },
            { parent: this },
          ).id
        : pulumi.output(plan.topicId);

    if (plan.email !== undefined) {
      // ons_subscription_resource.go:36-50: endpoint, protocol and topic_id are ForceNew; the
      // subscription is created PENDING (:138-143) and delivers nothing until the recipient
      // confirms the email OCI sends.
      new oci.ons.Subscription(
        `${name}-email`,
        {
          compartmentId: args.compartmentId,
          topicId,
          protocol: "EMAIL",
          endpoint: plan.email,
          freeformTags: args.freeformTags,
        },
        { parent: this },
      );
    }

    // monitoring_alarm_resource.go:30-66 (v8.28.0): no field is ForceNew, so a changed threshold
    // or a new deployment OCID updates the alarm in place.
    const alarms = alarmSpecs(plan).map((spec) => {
      const alarm = new oci.monitoring.Alarm(
        `${name}-${spec.key}`,
        {
          compartmentId: args.compartmentId,
          metricCompartmentId: args.compartmentId,
          namespace: METRIC_NAMESPACE,
          displayName: `${args.baseName}-${spec.key}`,
          query: pulumi.output(args.modelDeploymentId).apply((id) => spec.query(id)),
          severity: spec.severity,
          body: spec.body,
          pendingDuration: ALARM_PENDING_DURATION,
          destinations: [topicId],
          isEnabled: true,
          freeformTags: args.freeformTags,
        },
        { parent: this },
      );
      return pulumi.all([spec.key, alarm.id]);
    });

    this.topicId = topicId;
    this.alarmIds = pulumi.all(alarms).apply((pairs) => Object.fromEntries(pairs));
    this.registerOutputs({ topicId: this.topicId, alarmIds: this.alarmIds });
  }
}

// The provider behaviour of a production endpoint's resource types (issue 28), written from
// terraform-provider-oci v8.28.0's sources as ./providers.ts is: the Data Science private endpoint,
// the ONS topic and subscription, the Monitoring alarm. Each create checks what OCI checks of the
// resources it names (a subscription's topic, an alarm's destinations), so a wrong order fails here.

import type { Cloud } from "./cloud";
import { OciError } from "./commands";
import { generic, live, record } from "./generic-provider";
import type { ProviderBehaviour } from "./providers";

export const PRIVATE_ENDPOINT = "oci:DataScience/privateEndpoint:PrivateEndpoint";
export const TOPIC = "oci:Ons/notificationTopic:NotificationTopic";
export const SUBSCRIPTION = "oci:Ons/subscription:Subscription";
export const ALARM = "oci:Monitoring/alarm:Alarm";

/** The deployments that name a private endpoint, by what they are reached through. */
function deploymentsThrough(cloud: Cloud, endpointId: string): string[] {
  return cloud
    .liveDeployments()
    .filter(
      (deployment) =>
        record(record(deployment.configuration["modelConfigurationDetails"])["instanceConfiguration"])[
          "privateEndpointId"
        ] === endpointId,
    )
    .map((deployment) => deployment.id);
}

export const PRODUCTION_PROVIDERS: Record<string, ProviderBehaviour> = {
  // datascience_data_science_private_endpoint_resource.go: data_science_resource_type (39-43),
  // subnet_id (44-48) and sub_domain (83-88) are ForceNew; fqdn is computed (95-98). The subnet
  // must be one the tenancy has. An endpoint still attached to a Data Science resource cannot be
  // deleted (OCI docs "Deleting a Private Endpoint": "only if it's not attached to any Data Science
  // resource").
  [PRIVATE_ENDPOINT]: generic(
    "datascienceprivateendpoint",
    PRIVATE_ENDPOINT,
    ["dataScienceResourceType", "subnetId", "subDomain"],
    {
      create(cloud, inputs) {
        const subnetId = String(inputs["subnetId"]);
        if (!cloud.subnets.has(subnetId))
          throw new OciError(404, `NotAuthorizedOrNotFound: subnet ${subnetId}`);
        if (inputs["dataScienceResourceType"] !== "MODEL_DEPLOYMENT")
          throw new OciError(400, "InvalidParameter: a model deployment needs a MODEL_DEPLOYMENT endpoint");
        return { fqdn: `md-${cloud.subnets.size}.${subnetId.slice(-6)}.datascience.oci.oraclecloud.com` };
      },
      delete(cloud, id) {
        const users = deploymentsThrough(cloud, id);
        if (users.length > 0)
          throw new OciError(409, `Conflict: private endpoint ${id} is in use by ${users.join(", ")}`);
      },
    },
  ),
  // ons_notification_topic_resource.go: name is ForceNew (40-44); the name is unique across the
  // tenancy (OCI docs "Creating a Topic": "must be unique across the tenancy").
  [TOPIC]: generic("onstopic", TOPIC, ["name"], {
    create(cloud, inputs) {
      const name = String(inputs["name"]);
      const taken = [...cloud.generic.values()].some(
        (held) => held.type === TOPIC && !held.deleted && held.inputs["name"] === name,
      );
      if (taken) throw new OciError(409, `Conflict: a topic named ${name} exists in the tenancy`);
      return {};
    },
  }),
  // ons_subscription_resource.go: endpoint (36-40), protocol (41-45) and topic_id (46-50) are
  // ForceNew; a create ends PENDING or ACTIVE (138-143): an email subscription waits for its confirmation.
  [SUBSCRIPTION]: generic("onssubscription", SUBSCRIPTION, ["endpoint", "protocol", "topicId"], {
    create(cloud, inputs) {
      const topicId = String(inputs["topicId"]);
      if (!live(cloud, topicId, TOPIC)) throw new OciError(404, `NotAuthorizedOrNotFound: topic ${topicId}`);
      return { state: "PENDING" };
    },
  }),
  // monitoring_alarm_resource.go: no field is ForceNew (30-66): every change is an update. Its
  // destinations must be topics that exist.
  [ALARM]: generic("alarm", ALARM, [], {
    create(cloud, inputs) {
      for (const destination of (inputs["destinations"] as string[] | undefined) ?? []) {
        if (!live(cloud, destination, TOPIC))
          throw new OciError(404, `NotAuthorizedOrNotFound: destination ${destination}`);
      }
      return { state: "ACTIVE" };
    },
  }),
};

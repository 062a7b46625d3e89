// A production endpoint's components against Pulumi mocks: TritonDeployment with autoscaling, a
// load balancer range and a private endpoint; PrivateAccess; DeploymentAlerts with its topic,
// subscription and alarms; Iam with the autoscaling policy. Inputs are checked as OCI receives them.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import { autoscalingPlan, scalingPolicyInput } from "../components/deployment/autoscaling";
import { alertPlan } from "../components/deployment/alerts";
import { installMocks, OptionsRecorder, promiseOf } from "./support/mocks";
import { configWith } from "./support/stack-fixtures";

const FQDN = "md-1.abcdef.datascience.oci.oraclecloud.com";
const record = installMocks({
  state: (args) => {
    if (args.type === "oci:DataScience/privateEndpoint:PrivateEndpoint") return { fqdn: FQDN };
    // What the proof command prints when the deployment answered (cli/oci-task.ts prove-endpoint).
    if (args.type === "command:local:Command")
      return {
        stdout: `${JSON.stringify({ answer: " Paris", latencyMs: 700, firstByteMs: 700, checkedAt: "2026-12-07T09:00:00.000Z" })}\n`,
      };
    return undefined;
  },
});

let deployments: typeof import("../components/triton-deployment");
let access: typeof import("../components/private-access");
let alerts: typeof import("../components/deployment-alerts");
let iam: typeof import("../components/iam");
let spec: typeof import("../components/deployment/container-spec");
before(async () => {
  deployments = await import("../components/triton-deployment.js");
  access = await import("../components/private-access.js");
  alerts = await import("../components/deployment-alerts.js");
  iam = await import("../components/iam.js");
  spec = await import("../components/deployment/container-spec.js");
});

const COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexample";
const SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaasubnetsubnetsubnetsubnetsubnet";
const DIGEST = `sha256:${"5".repeat(64)}`;

function registered(type: string, name: string): Record<string, unknown> {
  const found = record.resources.find((r) => r.type === type && r.name === name);
  assert.ok(found, `${type} ${name} registered`);
  return found.inputs;
}

async function settle(
  component: { urn: import("@pulumi/pulumi").Output<string> },
  recorder: OptionsRecorder,
) {
  await promiseOf(component.urn);
  await recorder.settled();
}

describe("a production endpoint's components", () => {
  test("TritonDeployment: the autoscaling policy, the bandwidth range and the private endpoint, proven on its FQDN", async () => {
    const plan = autoscalingPlan(
      configWith({ "deployment.autoscaling": { minInstances: 2, maxInstances: 4 } }),
    );
    assert.ok(plan);
    const recorder = new OptionsRecorder();
    const privateAccess = new access.PrivateAccess(
      "access",
      { compartmentId: COMPARTMENT, subnetId: SUBNET, displayName: "prod-private" },
      { transformations: [recorder.transformation] },
    );
    const deployment = new deployments.TritonDeployment(
      "triton",
      {
        compartmentId: COMPARTMENT,
        projectId: "ocid1.datascienceproject.oc1.iad.aaaaaaaaproject",
        modelId: "ocid1.datasciencemodel.oc1.iad.aaaaaaaamodel",
        imageRef: `us-ashburn-1.ocir.io/testns/triton@${DIGEST}`,
        imageDigest: DIGEST,
        container: spec.containerSpec({
          repositoryFolder: "triton",
          httpPort: 9000,
          tensorParallel: 1,
          streaming: false,
          storageSizeInGBs: 500,
          deploymentTimeoutMinutes: 70,
          environment: {},
        }),
        shape: "VM.GPU.A10.1",
        instanceCount: 1,
        bandwidthMbps: 10,
        scalingPolicy: scalingPolicyInput(plan, 1),
        maximumBandwidthMbps: plan.bandwidth.maxMbps,
        privateEndpoint: { id: privateAccess.privateEndpointId, fqdn: privateAccess.fqdn },
        displayName: "prod",
        proof: { body: { text_input: "The capital of France is" }, expect: "Paris", region: "us-ashburn-1" },
      },
      { transformations: [recorder.transformation] },
    );
    await settle(deployment, recorder);

    const endpoint = registered("oci:DataScience/privateEndpoint:PrivateEndpoint", "access-endpoint");
    assert.equal(endpoint.dataScienceResourceType, "MODEL_DEPLOYMENT");
    assert.equal(endpoint.subnetId, SUBNET);
    const md = registered("oci:DataScience/modelDeployment:ModelDeployment", "triton-md") as {
      modelDeploymentConfigurationDetails: { modelConfigurationDetails: Record<string, unknown> };
    };
    const model = md.modelDeploymentConfigurationDetails.modelConfigurationDetails;
    assert.deepEqual(model.scalingPolicy, scalingPolicyInput(plan, 1));
    assert.equal(model.bandwidthMbps, 10);
    assert.equal(model.maximumBandwidthMbps, 20);
    assert.deepEqual(model.instanceConfiguration, {
      instanceShapeName: "VM.GPU.A10.1",
      privateEndpointId: "access-endpoint_id",
    });
    const url = await promiseOf(deployment.predictUrl);
    assert.equal(url, `https://${FQDN}/triton-md_id/predict`);
    const proof = registered("command:local:Command", "triton-proof");
    assert.ok(String(proof.create).includes(`--url '${url}'`), String(proof.create));
  });

  test("DeploymentAlerts: a topic of its own, the address subscribed, two alarms on the deployment to the topic", async () => {
    const plan = alertPlan({ email: "oncall@ops.acme.io" });
    assert.ok(plan);
    const recorder = new OptionsRecorder();
    const component = new alerts.DeploymentAlerts(
      "alerts",
      { compartmentId: COMPARTMENT, modelDeploymentId: "md-ocid", plan, baseName: "triton-trtllm-oci-prod" },
      { transformations: [recorder.transformation] },
    );
    await settle(component, recorder);
    const topic = registered("oci:Ons/notificationTopic:NotificationTopic", "alerts-topic");
    assert.equal(topic.name, "triton-trtllm-oci-prod-alerts");
    const subscription = registered("oci:Ons/subscription:Subscription", "alerts-email");
    assert.deepEqual(
      [subscription.protocol, subscription.endpoint, subscription.topicId],
      ["EMAIL", "oncall@ops.acme.io", "alerts-topic_id"],
    );
    for (const key of ["errors", "latency"]) {
      const alarm = registered("oci:Monitoring/alarm:Alarm", `alerts-${key}`);
      assert.equal(alarm.namespace, "oci_datascience_modeldeploy");
      assert.equal(alarm.metricCompartmentId, COMPARTMENT);
      assert.deepEqual(alarm.destinations, ["alerts-topic_id"]);
      assert.match(String(alarm.query), /resourceId = "md-ocid"/);
      assert.equal(alarm.isEnabled, true);
    }
    assert.deepEqual(await promiseOf(component.alarmIds), {
      errors: "alerts-errors_id",
      latency: "alerts-latency_id",
    });
  });

  test("DeploymentAlerts with a given topic and no address: no topic, no subscription of its own", async () => {
    const topicId = "ocid1.onstopic.oc1.iad.aaaaaaaagiventopicgiventopic";
    const plan = alertPlan({ topicId });
    assert.ok(plan);
    const recorder = new OptionsRecorder();
    const component = new alerts.DeploymentAlerts(
      "given",
      { compartmentId: COMPARTMENT, modelDeploymentId: "md-ocid", plan, baseName: "b" },
      { transformations: [recorder.transformation] },
    );
    await settle(component, recorder);
    assert.ok(!record.resources.some((r) => r.name === "given-topic" || r.name === "given-email"));
    assert.deepEqual(registered("oci:Monitoring/alarm:Alarm", "given-errors").destinations, [topicId]);
    assert.equal(await promiseOf(component.topicId), topicId);
  });

  test("Iam: an autoscaling stack gets a third policy, waited for with the other two; a fixed one does not", async () => {
    const recorder = new OptionsRecorder();
    const args = {
      create: true,
      compartmentId: COMPARTMENT,
      tenancyId: "ocid1.tenancy.oc1..aaaaaaaaexampleexampleexampleexampleexampletn",
      bucketName: "bucket",
      region: "us-ashburn-1",
    };
    const scaled = new iam.Iam(
      "scaled",
      { ...args, dynamicGroupName: "dg-scaled", autoscaling: true },
      {
        transformations: [recorder.transformation],
      },
    );
    const fixed = new iam.Iam(
      "fixed",
      { ...args, dynamicGroupName: "dg-fixed" },
      {
        transformations: [recorder.transformation],
      },
    );
    await promiseOf(scaled.urn);
    await promiseOf(fixed.urn);
    await recorder.settled();
    const policy = registered("oci:Identity/policy:Policy", "scaled-autoscaling");
    assert.deepEqual(policy.statements, [
      `allow dynamic-group dg-scaled to manage alarms in compartment id ${COMPARTMENT}`,
      `allow dynamic-group dg-scaled to read metrics in compartment id ${COMPARTMENT}`,
    ]);
    assert.ok(
      String(registered("command:local:Command", "scaled-propagated").create).includes(
        "scaled-autoscaling_id",
      ),
    );
    assert.ok(!record.resources.some((r) => r.name === "fixed-autoscaling"));
    assert.equal(scaled.resources.length, fixed.resources.length + 1);
  });
});

// A stack's life after its first `up` (issue 25): each scenario runs the real program again and
// again through the lifecycle model of test/lifecycle/ (state carried from run to run, providers as
// their sources behave, a tenancy with a clock), and checks what every run did and left behind.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { loadStackConfig } from "./support/pulumi-host";
import { DEV_SECRET_STAND_INS, PROJECT, PROJECT_DIR } from "./support/dev-stack";
import { Cloud } from "./lifecycle/cloud";
import { emptyStack, type RunResult, type StackState, type Step, up } from "./lifecycle/engine";
import { reapTenancy } from "./lifecycle/reaper";
import { destroyStack, launchOptions, projectRefreshes, TENANCY_OCIDS, upDev } from "./lifecycle/stacks";

const DEPLOYMENT = "oci:DataScience/modelDeployment:ModelDeployment";
const SESSION = "oci:Bastion/session:Session";
const INSTANCE = "oci:Core/instance:Instance";
const ALARM = "oci:Monitoring/alarm:Alarm";
const TOPIC = "oci:Ons/notificationTopic:NotificationTopic";
const SUBSCRIPTION = "oci:Ons/subscription:Subscription";
const PRIVATE_ENDPOINT = "oci:DataScience/privateEndpoint:PrivateEndpoint";
// The address `pulumi config set --path deployment.alerts.email` leaves in place of the example's.
const ON_CALL = "oncall@ops.acme.io";
const SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaastandinsubnetstandinsubnetstandin";

function explain(result: RunResult, cloud: Cloud): string {
  const steps = result.steps.map((s) => `  ${s.at} ${s.kind} ${s.type} ${s.name} ${s.paths.join(",")}`);
  return `${result.error ?? "(no error)"}\nsteps:\n${steps.join("\n")}\nevents:\n  ${cloud.events.join("\n  ")}`;
}

function succeeded(result: RunResult, cloud: Cloud): StackState {
  assert.ok(result.ok, explain(result, cloud));
  return result.state;
}

function stepsOf(result: RunResult, type: string): Step[] {
  return result.steps.filter((step) => step.type === type);
}

function kinds(result: RunResult, type: string): string[] {
  return stepsOf(result, type).map((step) => step.kind);
}

/**
 * `pulumi up` of the committed prod stack as CI runs it (its own file, the tenancy's OCIDs, the
 * on-call address set), with these `deployment` settings over the committed ones.
 */
async function upProd(state: StackState, cloud: Cloud, deployment: Record<string, unknown> = {}) {
  const { config, secretKeys } = await loadStackConfig(PROJECT_DIR, "prod", DEV_SECRET_STAND_INS);
  const key = `${PROJECT}:deployment`;
  const committed = JSON.parse(config[key]) as Record<string, unknown>;
  const settings = { ...committed, alerts: { email: ON_CALL }, ...deployment };
  return up(state, {
    cloud,
    refresh: projectRefreshes(),
    launch: async (c) => ({
      ...(await launchOptions("prod", {}, c)),
      config: { ...config, ...TENANCY_OCIDS, [key]: JSON.stringify(settings) },
      secretKeys,
    }),
  });
}

function modelConfiguration(deployment: { configuration: Record<string, unknown> }) {
  return deployment.configuration["modelConfigurationDetails"] as {
    scalingPolicy: {
      policyType: string;
      autoScalingPolicies: {
        minimumInstanceCount: number;
        maximumInstanceCount: number;
        rules: { scaleOutConfiguration: { query: string }; scaleInConfiguration: { query: string } }[];
      }[];
    };
    bandwidthMbps: number;
    maximumBandwidthMbps?: number;
    instanceConfiguration: { privateEndpointId?: string };
  };
}

function liveOf(cloud: Cloud, type: string) {
  return [...cloud.generic.values()].filter((held) => held.type === type && !held.deleted);
}

/** A new tenancy and the dev stack's first `up` there: a cache miss, so a build. */
async function firstUp(stack = "dev", overrides = {}) {
  const cloud = new Cloud();
  const result = await upDev(emptyStack(stack), cloud, overrides);
  return { cloud, result, state: succeeded(result, cloud) };
}

// Three scenarios at a time: each launches the program several times, on two cores.
describe("a stack's life across runs", { concurrency: 3, timeout: 900_000 }, () => {
  test("1. the first up on a miss builds, deploys, proves the endpoint and stops paying for the build", async () => {
    const { cloud, result } = await firstUp();
    assert.deepEqual(kinds(result, DEPLOYMENT), ["create"]);
    assert.deepEqual(cloud.runningInstances(), [], "the build instance is terminated after the build");
    const [deployment] = cloud.liveDeployments();
    assert.equal(deployment.state, "ACTIVE");
    const outputs = result.state.outputs as { endpointProof?: { answer: string }; predictUrl: string };
    assert.match(outputs.endpointProof?.answer ?? "", /Paris/, "the proof through OCI's route is an output");
    assert.equal(outputs.predictUrl, `${deployment.url}/predict`);
    // Link 1 dials through a session of its own, opened after the settings, the IAM and the image.
    const sessions = stepsOf(result, SESSION).map((step) => step.name);
    assert.deepEqual(sessions.sort(), ["engine-session", "engine-session-1"]);
  });

  test("2. the same up 4 h later changes nothing that serves, and the ended build leaves the state", async () => {
    const { cloud, state } = await firstUp();
    cloud.advanceHours(4);
    const second = await upDev(state, cloud);
    const after = succeeded(second, cloud);
    assert.deepEqual(kinds(second, DEPLOYMENT), ["same"]);
    assert.ok(
      second.steps.every((step) => !["create", "update", "replace"].includes(step.kind)),
      explain(second, cloud),
    );
    assert.ok(!after.resources.some((resource) => resource.type === INSTANCE || resource.type === SESSION));
    cloud.advanceHours(1);
    const third = await upDev(after, cloud);
    succeeded(third, cloud);
    assert.ok(
      third.steps.every((step) => step.kind === "same"),
      `a third run with nothing changed is all same:\n${explain(third, cloud)}`,
    );
  });

  test("3. an engine change (dtype) 4 h after a build builds again and moves the live deployment to the new model", async () => {
    const { cloud, state } = await firstUp();
    const [before] = cloud.liveDeployments();
    const oldModel = before.modelId;
    cloud.advanceHours(4);
    const change = await upDev(state, cloud, { engine: { dtype: "float16" } });
    succeeded(change, cloud);
    assert.deepEqual(kinds(change, DEPLOYMENT), ["update"], "a new model updates a live deployment in place");
    const [after] = cloud.liveDeployments();
    assert.equal(after.id, before.id, "the endpoint URL is kept");
    assert.notEqual(after.modelId, oldModel);
    assert.equal(
      cloud.models.get(oldModel)?.state,
      "DELETED",
      "the old catalog model goes once nothing serves it",
    );
    assert.deepEqual(cloud.runningInstances(), []);
    // The second build's clocks started with it: the reaper would not take its host or network.
    const rebuilt = [...cloud.instances.values()].at(-1);
    assert.ok(rebuilt !== undefined);
    const reapableAfter = (tags: Record<string, string>) =>
      Date.parse(tags["expires-at"]) - rebuilt.createdAt;
    assert.ok(
      reapableAfter(rebuilt.tags) >= 11 * 3_600_000,
      `instance expires-at ${rebuilt.tags["expires-at"]}`,
    );
    const vcn = [...cloud.generic.values()].find((held) => held.type === "oci:Core/vcn:Vcn" && !held.deleted);
    const vcnTags = vcn?.inputs["freeformTags"] as Record<string, string>;
    assert.ok(reapableAfter(vcnTags) >= 11 * 3_600_000, `network expires-at ${vcnTags["expires-at"]}`);
  });

  test("4. a repository-only change (streaming on) re-assembles on the GPU, validates, and replaces the container", async () => {
    const { cloud, state } = await firstUp();
    const [before] = cloud.liveDeployments();
    cloud.advanceHours(4);
    const change = await upDev(state, cloud, { deployment: { streaming: true } });
    succeeded(change, cloud);
    const launched = [...cloud.instances.values()].map((instance) => instance.shape);
    assert.deepEqual(
      launched,
      ["VM.GPU.A10.1", "VM.GPU.A10.1"],
      "the re-assembly runs on the deployment's GPU",
    );
    assert.ok(cloud.events.some((event) => /pipeline \(assemble\) started/.test(event)));
    assert.deepEqual(kinds(change, DEPLOYMENT), ["replace", "delete-replaced"]);
    const live = cloud.liveDeployments();
    assert.equal(live.length, 1);
    assert.notEqual(
      live[0].id,
      before.id,
      "a container change is a new deployment, created before the old one goes",
    );
  });

  test("5. an image change copies the new image into the mirror, builds for it and replaces the container", async () => {
    const { cloud, state } = await firstUp();
    cloud.advanceHours(4);
    const change = await upDev(state, cloud, {
      image: { source: "nvcr.io/nvidia/tritonserver:25.05-trtllm-python-py3" },
    });
    succeeded(change, cloud);
    assert.deepEqual(kinds(change, DEPLOYMENT), ["replace", "delete-replaced"]);
    const [repository] = cloud.repositories.values();
    assert.equal(repository.digests.size, 2, "both images are in the shared mirror");
  });

  test("6. a build that fails keeps the endpoint-less stack retryable; the fix hours later builds on fresh sessions", async () => {
    const cloud = new Cloud();
    cloud.behaviour.pipelineFails = true;
    const failed = await upDev(emptyStack("dev"), cloud);
    assert.equal(failed.ok, false);
    assert.match(failed.error ?? "", /pipeline failed/);
    assert.deepEqual(cloud.liveDeployments(), []);
    cloud.behaviour.pipelineFails = false;
    cloud.advanceHours(4);
    const fixed = await upDev(failed.state, cloud);
    succeeded(fixed, cloud);
    assert.equal(cloud.liveDeployments().length, 1);
    assert.deepEqual(cloud.runningInstances(), []);
  });

  test("7. destroy 6 h after a build deletes what bills and keeps the bucket and the mirror", async () => {
    const { cloud, state } = await firstUp();
    cloud.advanceHours(6);
    const destroyed = await destroyStack(state, cloud);
    succeeded(destroyed, cloud);
    assert.deepEqual(cloud.liveDeployments(), []);
    assert.deepEqual(cloud.runningInstances(), []);
    assert.equal(cloud.buckets.size, 1, "the artifact bucket is kept (retainOnDelete)");
    assert.equal(cloud.repositories.size, 1, "the shared image mirror is kept");
    const models = [...cloud.models.values()].map((model) => model.state);
    assert.deepEqual(models, ["DELETED"]);
  });

  test("8. the reaper at 13 h destroys the expired stack and its build's leftovers, not a build running now", async () => {
    const cloud = new Cloud();
    // An evaluation stack whose build failed: its instance and IAM stay until their expiry.
    cloud.behaviour.pipelineFails = true;
    const abandoned = await upDev(emptyStack("dev"), cloud);
    assert.equal(abandoned.ok, false);
    cloud.behaviour.pipelineFails = false;
    cloud.advanceHours(1);
    const evaluation = succeeded(await upDev(emptyStack("eval"), cloud), cloud);
    const [evaluationDeployment] = cloud.liveDeployments();
    // A second stack starts its build 12 h 30 min into the day and is still building at 13 h.
    cloud.advanceMinutes(11 * 60 + 30 - (cloud.now() - Date.parse("2026-12-07T09:00:00Z")) / 60_000);
    cloud.behaviour.buildMinutes = 120;
    const building = upDev(emptyStack("late"), cloud, { engine: { maxBatchSize: 16 } });
    const late = succeeded(await building, cloud);
    assert.ok(late.outputs, "the late stack deployed");
    // Reaping at 13 h: the evaluation stack (ttl 8 h) and the failed build's leftovers are due.
    const states = new Map([
      ["dev", abandoned.state],
      ["eval", evaluation],
      ["late", late],
    ]);
    const reaped = await reapTenancy(cloud, states, Date.parse("2026-12-07T22:00:00Z"));
    assert.ok(reaped.ok, reaped.log.join("\n"));
    assert.equal(cloud.deployments.get(evaluationDeployment.id)?.state, "DELETED");
    assert.ok(
      cloud.runningInstances().every((instance) => instance.tags["stack"] === "late"),
      `only the late stack's instances run:\n${reaped.log.join("\n")}`,
    );
    // Whatever carries an expiry that has passed is gone: the failed build's instance, network,
    // Bastion, dynamic group and policy (the stack's own IAM has no expiry and bills nothing).
    const due = (tags: Record<string, string> | undefined) =>
      tags?.["expires-at"] !== undefined && Date.parse(tags["expires-at"]) <= cloud.now();
    const leftovers = [...cloud.generic.values()].filter(
      (held) => !held.deleted && due(held.inputs["freeformTags"] as Record<string, string> | undefined),
    );
    assert.deepEqual(
      leftovers.map((held) => held.type),
      [],
      reaped.log.join("\n"),
    );
    assert.ok(
      [...cloud.generic.values()].some(
        (held) => held.deleted && held.type === "oci:Identity/dynamicGroup:DynamicGroup",
      ),
      "the failed build's dynamic group is reaped",
    );
  });

  test("9. two stacks share the image mirror; destroying one leaves the other serving and the mirror full", async () => {
    const { cloud, state } = await firstUp();
    const other = succeeded(await upDev(emptyStack("eval"), cloud), cloud);
    succeeded(await destroyStack(state, cloud), cloud);
    assert.equal(cloud.liveDeployments().length, 1);
    const [repository] = cloud.repositories.values();
    assert.equal(repository.digests.size, 1);
    cloud.advanceHours(2);
    const again = await upDev(other, cloud);
    succeeded(again, cloud);
    assert.deepEqual(kinds(again, DEPLOYMENT), ["same"]);
    assert.ok(
      again.steps.every((step) => !["create", "update", "replace"].includes(step.kind)),
      explain(again, cloud),
    );
  });

  test("11. a domain with host capacity but no GPU limit left is passed over for one that has both", async () => {
    const cloud = new Cloud();
    cloud.behaviour.domains[0].gpus = 0;
    const result = await upDev(emptyStack("dev"), cloud);
    succeeded(result, cloud);
    assert.deepEqual(
      [...cloud.instances.values()].map((instance) => instance.availabilityDomain),
      ["Uocm:US-ASHBURN-AD-2"],
    );
  });

  test("12. a failed build reaped overnight is retried the next day on a new host that gets its files, and is not reaped", async () => {
    const cloud = new Cloud();
    cloud.behaviour.pipelineFails = true;
    const failed = await upDev(emptyStack("dev"), cloud);
    assert.equal(failed.ok, false);
    const states = new Map([["dev", failed.state]]);
    const overnight = await reapTenancy(cloud, states, Date.parse("2026-12-07T22:00:00Z"));
    assert.ok(overnight.ok, overnight.log.join("\n"));
    assert.deepEqual(cloud.runningInstances(), [], "the reaper terminated the failed build's host");
    cloud.advanceHours(10);
    // The retry of the same key: refresh drops the terminated host, the run launches another under
    // the same name; its remote steps are new resources, so the files reach it.
    const retry = await upDev(failed.state, cloud);
    assert.equal(retry.ok, false, "the pipeline still fails: the host is left for inspection");
    const [host] = cloud.runningInstances();
    assert.ok(
      host !== undefined && host.host.files && host.host.settings !== undefined,
      explain(retry, cloud),
    );
    const reapedAgain = await reapTenancy(cloud, new Map([["dev", retry.state]]), cloud.now() + 60 * 60_000);
    assert.ok(reapedAgain.ok, reapedAgain.log.join("\n"));
    assert.equal(
      host.state,
      "RUNNING",
      `a host launched an hour ago is kept:\n${reapedAgain.log.join("\n")}`,
    );
    cloud.behaviour.pipelineFails = false;
    succeeded(await upDev(retry.state, cloud), cloud);
    assert.equal(cloud.liveDeployments().length, 1);
  });

  test("13. a container change 2 h 50 min after a build: the build's session ends during the run, and is not deleted", async () => {
    const { cloud, state } = await firstUp();
    cloud.advanceMinutes(170 - (cloud.now() - Date.parse("2026-12-07T09:00:00Z")) / 60_000);
    // Still alive when the run refreshes, ended by the time the run deletes the build resources:
    // the replacement of the deployment takes longer than what is left of the session.
    const change = await upDev(state, cloud, { deployment: { streaming: true } });
    succeeded(change, cloud);
    // The new host gets a new setup session; the old one, ended by the end of the run, is retained.
    const sessions = stepsOf(change, SESSION).filter((step) => step.name === "engine-session");
    assert.deepEqual(
      sessions.map((step) => step.kind),
      ["replace", "retain"],
      "the ended session leaves the state without a DeleteSession OCI would refuse",
    );
  });

  test("14. a slow cloud-init and a long build: the build link's own session outlasts what the setup's could", async () => {
    const cloud = new Cloud();
    cloud.behaviour.cloudInitMinutes = 40;
    cloud.behaviour.buildMinutes = 160;
    succeeded(await upDev(emptyStack("dev"), cloud), cloud);
    assert.equal(cloud.liveDeployments().length, 1);
  });

  test("10. the committed prod stack deploys as CI runs it: its own files, no local folders", async () => {
    const cloud = new Cloud();
    const { config } = await loadStackConfig(PROJECT_DIR, "prod", DEV_SECRET_STAND_INS);
    const result = await upProd(emptyStack("prod"), cloud);
    succeeded(result, cloud);
    const [deployment] = cloud.liveDeployments();
    const [policy] = modelConfiguration(deployment).scalingPolicy.autoScalingPolicies;
    assert.deepEqual([policy.minimumInstanceCount, policy.maximumInstanceCount], [2, 4]);
    assert.equal(deployment.tags["stack"], "prod");
    assert.ok(!(`${PROJECT}:engine` in config && JSON.parse(config[`${PROJECT}:engine`]).prebuiltDir));
  });

  test("15. prod autoscales and pages: a new maxInstances is an update of the live deployment, destroy takes the alarms", async () => {
    const cloud = new Cloud();
    const first = await upProd(emptyStack("prod"), cloud);
    const state = succeeded(first, cloud);
    const [deployment] = cloud.liveDeployments();
    const model = modelConfiguration(deployment);
    assert.equal(model.scalingPolicy.policyType, "AUTOSCALING");
    const [rule] = model.scalingPolicy.autoScalingPolicies[0].rules;
    assert.match(
      rule.scaleOutConfiguration.query,
      /^PredictLatency\[1m\]\{resourceId = "MODEL_DEPLOYMENT_OCID"\}/,
    );
    assert.match(rule.scaleInConfiguration.query, /\.absent\(\) == 1 \|\| /, "no traffic scales in");
    assert.deepEqual([model.bandwidthMbps, model.maximumBandwidthMbps], [100, 200]);
    // The alarms watch this deployment and notify the topic the on-call address is subscribed to.
    const [topic] = liveOf(cloud, TOPIC);
    assert.deepEqual(
      liveOf(cloud, SUBSCRIPTION).map((held) => held.inputs["endpoint"]),
      [ON_CALL],
    );
    const alarms = liveOf(cloud, ALARM);
    assert.equal(alarms.length, 2);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.inputs["destinations"], [topic.id]);
      assert.ok(String(alarm.inputs["query"]).includes(`resourceId = "${deployment.id}"`));
    }
    const policies = liveOf(cloud, "oci:Identity/policy:Policy").map((held) => String(held.inputs["name"]));
    assert.ok(
      policies.some((name) => name.endsWith("-autoscaling")),
      policies.join(", "),
    );
    const outputs = first.state.outputs as { autoscaling: { usdPerHour: { min: number; max: number } } };
    assert.deepEqual(outputs.autoscaling.usdPerHour, { min: 4, max: 8 });

    cloud.advanceHours(3);
    const committed = JSON.parse(
      (await loadStackConfig(PROJECT_DIR, "prod", DEV_SECRET_STAND_INS)).config[`${PROJECT}:deployment`],
    ) as { autoscaling: Record<string, unknown> };
    const change = await upProd(state, cloud, { autoscaling: { ...committed.autoscaling, maxInstances: 3 } });
    const changed = succeeded(change, cloud);
    const [step] = stepsOf(change, DEPLOYMENT);
    assert.equal(step.kind, "update", explain(change, cloud));
    assert.deepEqual(step.paths, [
      "modelDeploymentConfigurationDetails.modelConfigurationDetails.scalingPolicy.autoScalingPolicies",
    ]);
    const [after] = cloud.liveDeployments();
    assert.equal(after.id, deployment.id, "same deployment, same URL");
    assert.equal(modelConfiguration(after).scalingPolicy.autoScalingPolicies[0].maximumInstanceCount, 3);
    assert.ok(
      change.steps.every((s) => s.type === DEPLOYMENT || !["create", "update", "replace"].includes(s.kind)),
      `only the deployment changes:\n${explain(change, cloud)}`,
    );

    cloud.advanceHours(1);
    succeeded(await destroyStack(changed, cloud), cloud);
    assert.deepEqual(cloud.liveDeployments(), []);
    for (const type of [ALARM, SUBSCRIPTION, TOPIC]) assert.deepEqual(liveOf(cloud, type), [], type);
  });

  test("16. private access: the endpoint in the customer's subnet, the proof through its host, destroyed after the deployment", async () => {
    const cloud = new Cloud();
    cloud.subnets.set(SUBNET, {
      compartmentId: TENANCY_OCIDS[`${PROJECT}:compartmentId`],
      state: "AVAILABLE",
    });
    const result = await upDev(emptyStack("dev"), cloud, {
      deployment: { access: "private", privateSubnetId: SUBNET },
    });
    const state = succeeded(result, cloud);
    const [endpoint] = liveOf(cloud, PRIVATE_ENDPOINT);
    assert.equal(endpoint.inputs["subnetId"], SUBNET);
    const [deployment] = cloud.liveDeployments();
    assert.equal(modelConfiguration(deployment).instanceConfiguration.privateEndpointId, endpoint.id);
    const outputs = result.state.outputs as { predictUrl: string; endpointProof?: { answer: string } };
    assert.match(
      outputs.predictUrl,
      new RegExp(`^https://[^/]+\\.datascience\\.oci\\.oraclecloud\\.com/${deployment.id}/predict$`),
    );
    assert.match(outputs.endpointProof?.answer ?? "", /Paris/, "proven through the private host");
    // A subnet of another compartment is refused at preview, naming the key, before anything changes.
    cloud.subnets.set(SUBNET, {
      compartmentId: "ocid1.compartment.oc1..aaaaaaaaothercompartmentothercompartment",
      state: "AVAILABLE",
    });
    const refused = await upDev(state, cloud, { deployment: { access: "private", privateSubnetId: SUBNET } });
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? "", /deployment\.privateSubnetId/);
    assert.ok(refused.steps.every((s) => !["create", "update", "replace", "delete"].includes(s.kind)));
    succeeded(await destroyStack(state, cloud), cloud);
    assert.deepEqual(liveOf(cloud, PRIVATE_ENDPOINT), []);
  });
});

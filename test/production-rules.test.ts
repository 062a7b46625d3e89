// The production endpoint's settings through the stack's one validation: the schema of
// `deployment.autoscaling`, `deployment.access`, `deployment.privateSubnetId` and
// `deployment.alerts`, the rules of components/config/rules/production.ts, the placeholder alert
// address, and the autoscaling grants an administrator is handed. Every error names its key.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { programRefusals, validateStack } from "../components/config/validate";
import { expectError, keys, parse, rawConfig, type Overrides } from "./support/stack-fixtures";
import { scratchDir } from "./support/scratch";

const SCALING = "deployment.autoscaling";
const PLACEHOLDER = '{resourceId = "MODEL_DEPLOYMENT_OCID"}';
const SUBNET_IAD = "ocid1.subnet.oc1.iad.aaaaaaaasubnetsubnetsubnetsubnetsubnet";
const SUBNET_PHX = "ocid1.subnet.oc1.us-phoenix-1.aaaaaaaasubnetsubnetsubnetsubnetsubnet";

const errorsOf = (overrides: Overrides) => parse(overrides).errors;
const warningsOf = (overrides: Overrides) => parse(overrides).warnings;

describe("deployment.autoscaling", () => {
  test("two to four instances with the defaults: valid, no warning of its own", () => {
    const result = parse({ [SCALING]: { minInstances: 2, maxInstances: 4 } });
    assert.deepEqual(result.errors, []);
    assert.ok(!result.warnings.some((warning) => warning.key.startsWith("deployment.")));
  });

  test("a minimum above the maximum is refused naming minInstances, as OCI would", () => {
    expectError(errorsOf({ [SCALING]: { minInstances: 5, maxInstances: 3 } }), `${SCALING}.minInstances`, {
      value: 5,
      message: [/maxInstances \(3\)/],
    });
  });

  test("an initial count outside the range is refused naming initialInstances", () => {
    expectError(
      errorsOf({ [SCALING]: { minInstances: 2, maxInstances: 4, initialInstances: 6 } }),
      `${SCALING}.initialInstances`,
      { value: 6, message: [/2-4/] },
    );
  });

  test("a query without the deployment placeholder is refused naming the query", () => {
    const query =
      'PredictRequestCount[1m]{resourceId = "ocid1.datasciencemodeldeployment.oc1..x"}.grouping().sum() > 10';
    expectError(
      errorsOf({ [SCALING]: { minInstances: 1, maxInstances: 2, scaleOut: { query } } }),
      `${SCALING}.scaleOut.query`,
      { value: query, message: [/MODEL_DEPLOYMENT_OCID/], fix: [/resourceId = "MODEL_DEPLOYMENT_OCID"/] },
    );
  });

  test("every problem at once: the range, a query and the bandwidth, each by its key", () => {
    const errors = errorsOf({
      "deployment.bandwidthMbps": 100,
      [SCALING]: {
        minInstances: 4,
        maxInstances: 2,
        scaleIn: { query: "PredictRequestCount[1m].grouping().sum() < 1" },
        maxBandwidthMbps: 250,
      },
    });
    assert.deepEqual(keys(errors), [
      `${SCALING}.maxBandwidthMbps`,
      `${SCALING}.minInstances`,
      `${SCALING}.scaleIn.query`,
    ]);
    expectError(errors, `${SCALING}.maxBandwidthMbps`, { value: 250, message: [/twice/, /200/] });
  });

  test("a p95 threshold at OCI's 60 s predict limit can never be reached, and is refused", () => {
    expectError(
      errorsOf({
        [SCALING]: {
          minInstances: 1,
          maxInstances: 2,
          scaleOut: { preset: "p95LatencyMs", threshold: 60000 },
        },
      }),
      `${SCALING}.scaleOut.threshold`,
      { value: 60000, message: [/60000 ms predict limit/] },
    );
  });

  test("scale-in at or above scale-out on the same preset would take turns, and is refused", () => {
    expectError(
      errorsOf({
        [SCALING]: {
          minInstances: 1,
          maxInstances: 3,
          scaleOut: { preset: "requestsPerMinutePerInstance", threshold: 20 },
          scaleIn: { preset: "requestsPerMinutePerInstance", threshold: 20 },
        },
      }),
      `${SCALING}.scaleIn.threshold`,
      { value: 20, message: [/scale-out threshold 20/] },
    );
  });

  test("the schema: a rule is a preset or a query, a threshold goes with a preset, OCI's 300 s cooldown floor", () => {
    const errors = errorsOf({
      [SCALING]: {
        minInstances: 1,
        maxInstances: 2,
        cooldownSeconds: 120,
        scaleOut: { preset: "p95LatencyMs", query: `X[1m]${PLACEHOLDER}.sum() > 1` },
        scaleIn: { query: `X[1m]${PLACEHOLDER}.absent() == 1`, threshold: 3 },
      },
    });
    assert.deepEqual(keys(errors), [
      `${SCALING}.cooldownSeconds`,
      `${SCALING}.scaleIn.threshold`,
      `${SCALING}.scaleOut.query`,
    ]);
    expectError(errors, `${SCALING}.cooldownSeconds`, { value: 120, message: [/300/] });
    expectError(
      errorsOf({ [SCALING]: { minInstances: 1, maxInstances: 2, scaleOut: { preset: "cpu" } } }),
      `${SCALING}.scaleOut.preset`,
      {
        value: "cpu",
        message: [/requestsPerMinutePerInstance, p95LatencyMs/],
      },
    );
  });

  test("warnings: an ignored instanceCount, a scale-in query without absent(), a drain past absent()'s two hours", () => {
    const warnings = warningsOf({
      "deployment.instanceCount": 2,
      [SCALING]: {
        minInstances: 1,
        maxInstances: 10,
        cooldownSeconds: 3600,
        scaleIn: { query: `PredictRequestCount[1m]${PLACEHOLDER}.grouping().sum() < 5` },
      },
    });
    expectError(warnings, "deployment.instanceCount", { value: 2, message: [/not used/] });
    expectError(warnings, `${SCALING}.scaleIn.query`, { message: [/never scales in/] });
    // The raw scale-in query has no absent(): the drain warning is about absent() only.
    assert.ok(!warnings.some((warning) => warning.key === `${SCALING}.cooldownSeconds`));
    const drain = warningsOf({ [SCALING]: { minInstances: 1, maxInstances: 10, cooldownSeconds: 3600 } });
    // Nine removals of 15 + 60 minutes: 675 minutes.
    expectError(drain, `${SCALING}.cooldownSeconds`, { value: 3600, message: [/675 min/, /120 min/] });
  });
});

describe("deployment.access and deployment.privateSubnetId", () => {
  test("private without a subnet is refused naming privateSubnetId", () => {
    expectError(errorsOf({ "deployment.access": "private" }), "deployment.privateSubnetId", {
      message: [/private endpoint/],
    });
  });

  test("a subnet whose OCID names another region is refused offline; a region key is judged at preview", () => {
    expectError(
      errorsOf({ "deployment.access": "private", "deployment.privateSubnetId": SUBNET_PHX }),
      "deployment.privateSubnetId",
      { value: SUBNET_PHX, message: [/us-phoenix-1/, /us-ashburn-1/] },
    );
    assert.deepEqual(
      errorsOf({ "deployment.access": "private", "deployment.privateSubnetId": SUBNET_IAD }),
      [],
    );
  });

  test("an access mode outside public and private, and an OCID of another type, are schema errors", () => {
    expectError(errorsOf({ "deployment.access": "vcn" }), "deployment.access", { value: "vcn" });
    expectError(
      errorsOf({
        "deployment.access": "private",
        "deployment.privateSubnetId": "ocid1.vcn.oc1.iad.aaaaaaaavcnvcnvcnvcnvcnvcnvcnvcn",
      }),
      "deployment.privateSubnetId",
      { message: [/subnet/] },
    );
  });

  test("a subnet left on a public stack is a warning: the endpoint stays public", () => {
    expectError(warningsOf({ "deployment.privateSubnetId": SUBNET_IAD }), "deployment.privateSubnetId", {
      message: [/stays reachable from the internet/],
    });
  });
});

describe("deployment.alerts", () => {
  test("alerts with neither an address nor a topic page no one, and are refused", () => {
    expectError(errorsOf({ "deployment.alerts": {} }), "deployment.alerts.email", {
      message: [/notify no one/],
    });
    assert.deepEqual(
      errorsOf({
        "deployment.alerts": { topicId: "ocid1.onstopic.oc1.iad.aaaaaaaatopictopictopictopictopic" },
      }),
      [],
    );
  });

  test("a latency threshold at OCI's predict limit never fires; a bad address is a schema error", () => {
    const errors = errorsOf({ "deployment.alerts": { email: "not-an-address", p95LatencyMs: 90000 } });
    assert.deepEqual(keys(errors), ["deployment.alerts.email", "deployment.alerts.p95LatencyMs"]);
    expectError(errors, "deployment.alerts.p95LatencyMs", { value: 90000, message: [/never fires/] });
  });

  test("the example's address is a placeholder: a note for check, refused by up, not by preview", () => {
    const validation = validateStack(rawConfig({ "deployment.alerts": { email: "oncall@example.com" } }), {
      stack: "dev",
      projectDir: scratchDir("production-rules-"),
      engine: { kind: "assume-build" },
    });
    assert.deepEqual(validation.errors, []);
    expectError(validation.placeholders, "deployment.alerts.email", { value: "oncall@example.com" });
    assert.ok(
      programRefusals(validation, { dryRun: false }).some((e) => e.key === "deployment.alerts.email"),
    );
    assert.ok(
      !programRefusals(validation, { dryRun: true }).some((e) => e.key === "deployment.alerts.email"),
    );
  });
});

describe("the autoscaling grants", () => {
  test("with iam.create false an administrator is handed a third policy for the alarms autoscaling evaluates", () => {
    const validation = validateStack(
      rawConfig({ "iam.create": false, [SCALING]: { minInstances: 1, maxInstances: 2 } }),
      { stack: "dev", projectDir: scratchDir("production-rules-"), engine: { kind: "not-looked-up" } },
    );
    const compartment = validation.config?.compartmentId;
    assert.deepEqual(validation.iamHandover?.autoscalingStatements, [
      `allow dynamic-group triton-trtllm-oci-dev-deployments to manage alarms in compartment id ${compartment}`,
      `allow dynamic-group triton-trtllm-oci-dev-deployments to read metrics in compartment id ${compartment}`,
    ]);
    const fixed = validateStack(rawConfig({ "iam.create": false }), {
      stack: "dev",
      projectDir: scratchDir("production-rules-"),
      engine: { kind: "not-looked-up" },
    });
    assert.equal(
      fixed.iamHandover?.autoscalingStatements,
      undefined,
      "a fixed deployment needs no such grant",
    );
  });
});

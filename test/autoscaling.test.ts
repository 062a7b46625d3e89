// Autoscaling as plain functions of the configuration (components/deployment/autoscaling.ts): what
// one instance serves, the MQL queries OCI evaluates, the provider's scaling policy, the bandwidth
// and cost ranges. Figures worked out by hand for Falcon-7B bf16 on one A10 (the sizing's numbers:
// weights 13.44 GiB, 386 full-length sequences in the KV cache, engine.maxBatchSize 32).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  autoscalingPlan,
  bandwidthRange,
  defaultThreshold,
  describeAutoscaling,
  hasDeploymentPlaceholder,
  instanceCapacity,
  scalingPolicyInput,
  usesAbsent,
} from "../components/deployment/autoscaling";
import { configWith } from "./support/stack-fixtures";

const FALCON_ON_A10 = { "deployment.autoscaling": { minInstances: 2, maxInstances: 4 } };
const PLACEHOLDER = '{resourceId = "MODEL_DEPLOYMENT_OCID"}';

describe("what one instance serves", () => {
  test("Falcon-7B on one A10: the batch of 32 at once, a decode step of at least 24 ms", () => {
    const capacity = instanceCapacity(configWith(FALCON_ON_A10));
    assert.equal(capacity.concurrentSequences, 32, "the cache holds 386, the engine runs 32");
    // 13.44 GiB = 14.43e9 bytes of weights read every step, at 600 GB/s.
    assert.equal(capacity.decodeStepMs, 24.06);
    assert.equal(capacity.longestAnswerSeconds, 24.6, "1024 steps");
    assert.equal(capacity.fullLengthRequestsPerMinute, 77.9, "32 answers per 24.6 s");
  });

  test("a model whose KV cache holds fewer full-length sequences than its batch is sized by the cache", () => {
    const capacity = instanceCapacity(
      configWith({ ...FALCON_ON_A10, "model.huggingFaceId": "meta-llama/Llama-3.1-8B-Instruct" }),
    );
    assert.equal(capacity.concurrentSequences, 19, "docs/configuration.md: 19 sequences of 2,048 tokens");
  });

  test("a faster GPU decodes faster: the same engine on an H100 takes a fifth of the A10's step", () => {
    const a10 = instanceCapacity(configWith(FALCON_ON_A10));
    const h100 = instanceCapacity(configWith({ ...FALCON_ON_A10, "deployment.shape": "BM.GPU.H100.8" }));
    assert.ok(h100.decodeStepMs < a10.decodeStepMs / 5 && h100.decodeStepMs > a10.decodeStepMs / 6);
  });
});

describe("the scaling queries", () => {
  test("defaults: scale out on p95 latency past the longest answer, scale in below half the rate, absent() included", () => {
    const plan = autoscalingPlan(configWith(FALCON_ON_A10));
    assert.ok(plan);
    assert.equal(plan.scaleOut.query, `PredictLatency[1m]${PLACEHOLDER}.grouping().percentile(0.95) > 25000`);
    assert.deepEqual(plan.scaleOut.preset, { name: "p95LatencyMs", threshold: 25000, derived: true });
    // floor(77.9 / 2) = 38 a minute per instance, for the two instances of minInstances: 76.
    assert.equal(
      plan.scaleIn.query,
      `PredictRequestCount[1m]${PLACEHOLDER}.grouping().absent() == 1 || PredictRequestCount[1m]${PLACEHOLDER}.grouping().sum() < 76`,
    );
    assert.deepEqual(plan.scaleIn.preset, {
      name: "requestsPerMinutePerInstance",
      threshold: 38,
      derived: true,
    });
    assert.equal(plan.scaleOut.pendingDuration, "PT5M");
    assert.equal(plan.scaleIn.pendingDuration, "PT15M");
  });

  test("a request-rate preset is written for minInstances instances, in both directions", () => {
    const plan = autoscalingPlan(
      configWith({
        "deployment.autoscaling": {
          minInstances: 3,
          maxInstances: 6,
          scaleOut: { preset: "requestsPerMinutePerInstance", threshold: 50 },
          scaleIn: { preset: "requestsPerMinutePerInstance", threshold: 20 },
        },
      }),
    );
    assert.ok(plan);
    assert.equal(plan.scaleOut.query, `PredictRequestCount[1m]${PLACEHOLDER}.grouping().sum() > 150`);
    assert.match(plan.scaleIn.query, /\.sum\(\) < 60$/);
  });

  test("a latency preset for scale-in also scales in without traffic", () => {
    const plan = autoscalingPlan(
      configWith({
        "deployment.autoscaling": { minInstances: 1, maxInstances: 2, scaleIn: { preset: "p95LatencyMs" } },
      }),
    );
    assert.ok(plan);
    assert.equal(
      plan.scaleIn.query,
      `PredictLatency[1m]${PLACEHOLDER}.grouping().absent() == 1 || PredictLatency[1m]${PLACEHOLDER}.grouping().percentile(0.95) < 12000`,
    );
  });

  test("the latency default never passes 45 s, inside OCI's 60 s predict limit", () => {
    const capacity = {
      concurrentSequences: 8,
      decodeStepMs: 80,
      longestAnswerSeconds: 160,
      fullLengthRequestsPerMinute: 3,
    };
    assert.equal(defaultThreshold("p95LatencyMs", "out", capacity), 45000);
    assert.equal(defaultThreshold("requestsPerMinutePerInstance", "out", capacity), 2);
    assert.equal(
      defaultThreshold("requestsPerMinutePerInstance", "in", { ...capacity, fullLengthRequestsPerMinute: 1 }),
      1,
    );
  });

  test("a raw query goes to OCI as written", () => {
    const query = `CpuUtilization[5m]${PLACEHOLDER}.grouping().mean() > 90`;
    const plan = autoscalingPlan(
      configWith({ "deployment.autoscaling": { minInstances: 1, maxInstances: 2, scaleOut: { query } } }),
    );
    assert.equal(plan?.scaleOut.query, query);
    assert.equal(plan?.scaleOut.preset, undefined);
  });

  test("the placeholder is found however it is spaced, and only with the placeholder's own name", () => {
    assert.ok(hasDeploymentPlaceholder('X[1m]{resourceId="MODEL_DEPLOYMENT_OCID"}.sum() > 1'));
    assert.ok(
      hasDeploymentPlaceholder('X[1m]{result = "Success", resourceId = "MODEL_DEPLOYMENT_OCID"}.sum() > 1'),
    );
    assert.ok(
      !hasDeploymentPlaceholder('X[1m]{resourceId = "ocid1.datasciencemodeldeployment.oc1..x"}.sum() > 1'),
    );
    assert.ok(!hasDeploymentPlaceholder("X[1m].sum() > 1 // MODEL_DEPLOYMENT_OCID"));
    assert.ok(usesAbsent("X[1m]{}.grouping().absent() == 1") && !usesAbsent("X[1m]{}.grouping().sum() < 1"));
  });
});

describe("the plan's other numbers", () => {
  test("initially minInstances, a 600 s cooldown, four to eight dollars an hour on two to four A10s", () => {
    const plan = autoscalingPlan(configWith(FALCON_ON_A10));
    assert.ok(plan);
    assert.equal(plan.initialInstances, 2);
    assert.equal(plan.cooldownSeconds, 600);
    assert.deepEqual(plan.usdPerHour, { min: 4, max: 8 });
    // Two removals, each after 15 minutes of the condition and a 10-minute cooldown.
    assert.equal(plan.drainMinutes, 50);
    // 20 min provisioning + 5 min Triton start + 17 GB at 20 MB/s + 14.4 GB at 50 and 500 MB/s.
    assert.equal(plan.instanceStartMinutes, 45);
  });

  test("the load balancer scales to twice its minimum, within 8000 Mbps, unless told otherwise", () => {
    assert.deepEqual(bandwidthRange(100, {}), { minMbps: 100, maxMbps: 200 });
    assert.deepEqual(bandwidthRange(5000, {}), { minMbps: 5000, maxMbps: 8000 });
    assert.deepEqual(bandwidthRange(8000, {}), { minMbps: 8000 });
    assert.deepEqual(bandwidthRange(100, { maxBandwidthMbps: 150 }), { minMbps: 100, maxMbps: 150 });
    assert.deepEqual(
      bandwidthRange(100, { maxBandwidthMbps: 100 }),
      { minMbps: 100 },
      "equal: a fixed bandwidth",
    );
  });

  test("no autoscaling key, no plan", () => {
    assert.equal(autoscalingPlan(configWith({})), undefined);
  });

  test("check's lines name both queries, the cost range and the time a new instance takes", () => {
    const plan = autoscalingPlan(configWith(FALCON_ON_A10));
    assert.ok(plan);
    const text = describeAutoscaling(plan).join("\n");
    assert.match(text, /2 to 4 instances \(initially 2\), cooldown 600 s: 4 to 8 USD\/h/);
    assert.match(text, /scale out p95LatencyMs 25000 \(derived from the engine\)/);
    assert.match(text, /serves about 45 min after a scale-out/);
    assert.match(text, /load balancer {2}10 to 20 Mbps/);
  });
});

describe("the provider's scaling policy", () => {
  test("without a plan: a fixed instance count, as before autoscaling existed", () => {
    assert.deepEqual(scalingPolicyInput(undefined, 2), { policyType: "FIXED_SIZE", instanceCount: 2 });
  });

  test("with a plan: one THRESHOLD policy, one CUSTOM_EXPRESSION rule, one instance a step, no threshold field", () => {
    const plan = autoscalingPlan(configWith(FALCON_ON_A10));
    assert.ok(plan);
    const policy = scalingPolicyInput(plan, 1);
    assert.deepEqual(policy, {
      policyType: "AUTOSCALING",
      isEnabled: true,
      coolDownInSeconds: 600,
      autoScalingPolicies: [
        {
          autoScalingPolicyType: "THRESHOLD",
          minimumInstanceCount: 2,
          maximumInstanceCount: 4,
          initialInstanceCount: 2,
          rules: [
            {
              metricExpressionRuleType: "CUSTOM_EXPRESSION",
              scaleOutConfiguration: {
                scalingConfigurationType: "QUERY",
                query: plan.scaleOut.query,
                pendingDuration: "PT5M",
                instanceCountAdjustment: 1,
              },
              scaleInConfiguration: {
                scalingConfigurationType: "QUERY",
                query: plan.scaleIn.query,
                pendingDuration: "PT15M",
                instanceCountAdjustment: 1,
              },
            },
          ],
        },
      ],
    });
  });
});

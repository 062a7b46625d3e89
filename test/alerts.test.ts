// The alarms of a deployment as plain data (components/deployment/alerts.ts): their queries on the
// deployment's own metrics, which stay quiet without traffic, thresholds, severities, the topic name.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { alarmSpecs, alertPlan, describeAlerts, topicName } from "../components/deployment/alerts";

const ID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaadeployment";

describe("alerts", () => {
  test("defaults: 5% failures with a 5XX among them, p95 above 45 s (three quarters of OCI's 60 s limit)", () => {
    const plan = alertPlan({ email: "oncall@ops.acme.io" });
    assert.deepEqual(plan, { errorRatePercent: 5, p95LatencyMs: 45000, email: "oncall@ops.acme.io" });
    assert.equal(alertPlan(undefined), undefined);
  });

  test("the queries name the deployment, read only metrics a request emits, and use no absent()", () => {
    const plan = alertPlan({ email: "oncall@ops.acme.io", errorRatePercent: 2.5, p95LatencyMs: 30000 });
    assert.ok(plan);
    const [errors, latency] = alarmSpecs(plan);
    assert.equal(
      errors.query(ID),
      `PredictResponse[5m]{resourceId = "${ID}"}.grouping().mean() < 97.5 && ` +
        `PredictResponse[5m]{resourceId = "${ID}", statusFamily = "5XX"}.grouping().count() > 0`,
    );
    assert.equal(errors.severity, "CRITICAL");
    assert.equal(
      latency.query(ID),
      `PredictLatency[5m]{resourceId = "${ID}"}.grouping().percentile(0.95) > 30000`,
    );
    assert.equal(latency.severity, "WARNING");
    for (const spec of [errors, latency]) {
      assert.doesNotMatch(spec.query(ID), /absent/, "quiet when there is no traffic");
      assert.match(spec.body, /docs\/production\.md/);
    }
  });

  test("topic names keep to letters, digits, - and _; check's line says where the alarms go", () => {
    assert.equal(topicName("triton-trtllm-oci-prod"), "triton-trtllm-oci-prod-alerts");
    assert.equal(topicName("triton-trtllm-oci-qa.2"), "triton-trtllm-oci-qa-2-alerts");
    const plan = alertPlan({ topicId: "ocid1.onstopic.oc1.iad.aaaaaaaatopic" });
    assert.ok(plan);
    assert.match(describeAlerts(plan), /to ocid1\.onstopic\.oc1\.iad\.aaaaaaaatopic$/);
  });
});

// How long OCI may take to bring the deployment up (DEPLOYMENT_TIMEOUT_IN_MINUTES): sized from the
// image, the artifact and Triton's load, within OCI's 240-minute maximum; a user's own value checked.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { engineBytes, imageCompressedGB } from "../components/config/build-estimate";
import { containerSpecInput } from "../components/config/rules";
import { containerSpec } from "../components/deployment/container-spec";
import {
  deploymentCustomTimeouts,
  deploymentTimeoutMinutes,
  deploymentTimeoutProblem,
  MAX_DEPLOYMENT_TIMEOUT_MINUTES,
} from "../components/deployment/deployment-timeout";
import { expectError, parse, validConfig } from "./support/stack-fixtures";

describe("deploymentTimeoutMinutes", () => {
  test("Falcon-7B bf16 in the 17 GB 25.04 image: 70 minutes, above Oracle's sample 60", () => {
    // 14.2 min pull + 4.8 min artifact + 0.5 min load + 25 min provision and start, x 1.5 = 66.7.
    assert.equal(deploymentTimeoutMinutes({ imageCompressedGB: 17, artifactBytes: 14.4e9 }), 70);
  });

  test("grows with the image and the artifact, in steps of 5 minutes", () => {
    const small = deploymentTimeoutMinutes({ imageCompressedGB: 12.25, artifactBytes: 3.6e9 });
    const falcon40b = deploymentTimeoutMinutes({ imageCompressedGB: 17, artifactBytes: 84e9 });
    assert.equal(small, 60, "never below 60");
    assert.equal(falcon40b % 5, 0);
    assert.ok(falcon40b > 70 && falcon40b < MAX_DEPLOYMENT_TIMEOUT_MINUTES, String(falcon40b));
  });

  test("never above OCI's 240 minutes", () => {
    assert.equal(deploymentTimeoutMinutes({ imageCompressedGB: 34, artifactBytes: 800e9 }), 240);
  });

  test("the provider waits 20 minutes longer than OCI allows, so OCI fails first and says why", () => {
    assert.deepEqual(deploymentCustomTimeouts(70), { create: "90m", update: "90m", delete: "30m" });
    assert.deepEqual(deploymentCustomTimeouts(240), { create: "260m", update: "260m", delete: "30m" });
  });

  test("a user's own value: whole minutes from 1 to 240", () => {
    for (const good of ["1", "60", "240"]) assert.equal(deploymentTimeoutProblem(good), undefined, good);
    for (const bad of ["0", "241", "60.5", "-1", "1e2", " 60", "sixty", ""])
      assert.match(deploymentTimeoutProblem(bad) ?? "", /1 to 240/, bad);
  });
});

describe("the deployment's environment", () => {
  test("carries the sized timeout, from the configuration alone", () => {
    const config = validConfig();
    const spec = containerSpec(containerSpecInput(config));
    const expected = deploymentTimeoutMinutes({
      imageCompressedGB: imageCompressedGB(config.image.source),
      artifactBytes: engineBytes(config),
    });
    assert.equal(spec.environment.DEPLOYMENT_TIMEOUT_IN_MINUTES, String(expected));
    assert.equal(expected, 70);
  });

  test("a user's valid value wins; an invalid one is refused naming the key", () => {
    const own = validConfig({ "deployment.environment": { DEPLOYMENT_TIMEOUT_IN_MINUTES: "180" } });
    assert.equal(containerSpec(containerSpecInput(own)).environment.DEPLOYMENT_TIMEOUT_IN_MINUTES, "180");
    const result = parse({ "deployment.environment": { DEPLOYMENT_TIMEOUT_IN_MINUTES: "300" } });
    expectError(result.errors, "deployment.environment.DEPLOYMENT_TIMEOUT_IN_MINUTES", {
      value: "300",
      message: [/1 to 240/],
      fix: [/at most 240, or remove it/],
    });
  });
});

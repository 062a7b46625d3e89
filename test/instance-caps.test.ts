// The policy pack's cap on a model deployment's instances per environment (policy/instances.ts and
// the `model-deployment-max-instances` policy of policy/policies.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as oci from "@pulumi/oci";
import type { ResourceValidationArgs } from "@pulumi/policy";

import { instanceCapFor, instanceCapProblem, mostInstances } from "../policy/instances";
import { policies } from "../policy/policies";

const AUTOSCALING = (max: number) => ({
  policyType: "AUTOSCALING",
  autoScalingPolicies: [{ maximumInstanceCount: max }],
});

describe("instance caps", () => {
  test("the most instances: a fixed count, or the autoscaling maximum; unknown while a preview lacks it", () => {
    assert.equal(mostInstances({ policyType: "FIXED_SIZE", instanceCount: 3 }), 3);
    assert.equal(mostInstances(AUTOSCALING(6)), 6);
    assert.equal(mostInstances({ policyType: "AUTOSCALING", autoScalingPolicies: [{}] }), undefined);
    assert.equal(mostInstances(undefined), undefined);
  });

  test("evaluation stacks get 2, prod 8, a stack named in the config its own cap", () => {
    assert.equal(instanceCapFor("dev"), 2);
    assert.equal(instanceCapFor("prod"), 8);
    assert.equal(instanceCapFor("qa", { "*": 1, qa: 4 }), 4);
    assert.equal(instanceCapProblem("prod", AUTOSCALING(8)), undefined);
    const problem = instanceCapProblem("dev", AUTOSCALING(4));
    assert.match(problem ?? "", /4 instances, above the 2/);
    assert.match(problem ?? "", /deployment\.autoscaling\.maxInstances to at most 2 in Pulumi\.dev\.yaml/);
    assert.match(
      instanceCapProblem("dev", { policyType: "FIXED_SIZE", instanceCount: 3 }) ?? "",
      /deployment\.instanceCount/,
    );
  });

  test("the policy reports a deployment past its stack's cap, and passes one within it", () => {
    const policy = policies.find((p) => p.name === "model-deployment-max-instances");
    assert.ok(policy);
    const run = (stack: string, scalingPolicy: unknown, caps?: Record<string, number>) => {
      const reports: string[] = [];
      const args = {
        type: "oci:DataScience/modelDeployment:ModelDeployment",
        name: "triton-md",
        urn: `urn:pulumi:${stack}::triton-trtllm-oci::oci:DataScience/modelDeployment:ModelDeployment::triton-md`,
        props: { modelDeploymentConfigurationDetails: { modelConfigurationDetails: { scalingPolicy } } },
        isType: (kind: unknown) => kind === oci.datascience.ModelDeployment,
        getConfig: () => (caps === undefined ? {} : { instanceCaps: caps }),
      } as unknown as ResourceValidationArgs;
      const validate = policy.validateResource as (a: ResourceValidationArgs, r: (m: string) => void) => void;
      validate(args, (message) => reports.push(message));
      return reports;
    };
    assert.deepEqual(run("prod", AUTOSCALING(4)), []);
    const [report] = run("dev", AUTOSCALING(4));
    assert.match(report, /^ModelDeployment 'triton-md' \(stack dev\) may run 4 instances/);
    assert.deepEqual(run("dev", AUTOSCALING(4), { "*": 4 }), [], "the pack's config raises the cap");
  });
});

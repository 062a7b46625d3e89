// The IAM statements as exact text, and the Iam component against Pulumi mocks in both modes:
// creating the dynamic group and policies, or only exporting them for an administrator.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import { iamStatements } from "../components/deployment/iam-statements";
import { installMocks, OptionsRecorder, promiseOf } from "./support/mocks";

const record = installMocks();
let mod: typeof import("../components/iam");
before(async () => {
  mod = await import("../components/iam.js");
});

const COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexample";
const TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampleexampleexampleexampleexampletn";
const INPUT = {
  compartmentId: COMPARTMENT,
  dynamicGroupName: "triton-dev-md",
  bucketName: "triton-artifacts",
  region: "us-ashburn-1",
};

const EXPECTED = {
  dynamicGroupName: "triton-dev-md",
  dynamicGroupMatchingRule: `ALL {resource.type='datasciencemodeldeployment', resource.compartment.id='${COMPARTMENT}'}`,
  policyStatements: [
    `allow dynamic-group triton-dev-md to read repos in compartment id ${COMPARTMENT}`,
    `allow dynamic-group triton-dev-md to use log-content in compartment id ${COMPARTMENT}`,
    `allow dynamic-group triton-dev-md to read objects in compartment id ${COMPARTMENT} where ALL {target.bucket.name='triton-artifacts'}`,
  ],
  servicePolicyStatements: [
    `allow service datascience to manage object-family in compartment id ${COMPARTMENT} where ALL {target.bucket.name='triton-artifacts'}`,
    `allow service objectstorage-us-ashburn-1 to manage object-family in compartment id ${COMPARTMENT} where ALL {target.bucket.name='triton-artifacts'}`,
  ],
};

describe("iamStatements", () => {
  test("renders the dynamic group rule and every statement exactly", () => {
    assert.deepEqual(iamStatements(INPUT), EXPECTED);
  });

  test("every grant is scoped to the compartment; object grants to the one bucket", () => {
    const { policyStatements, servicePolicyStatements } = iamStatements(INPUT);
    for (const statement of [...policyStatements, ...servicePolicyStatements]) {
      assert.match(statement, new RegExp(`in compartment id ${COMPARTMENT.replace(/\./g, "\\.")}( |$)`));
      assert.doesNotMatch(statement, /\bin tenancy\b|\bmanage all-resources\b/);
      if (/objects?|object-family/.test(statement)) {
        assert.match(statement, /where ALL \{target\.bucket\.name='triton-artifacts'\}$/);
      }
    }
    // The matching rule selects model deployments of this compartment only.
    assert.match(
      iamStatements(INPUT).dynamicGroupMatchingRule,
      /resource\.type='datasciencemodeldeployment'/,
    );
  });
});

function ociResources(prefix: string) {
  return record.resources.filter((r) => r.type.startsWith("oci:") && r.name.startsWith(`${prefix}-`));
}

describe("Iam", () => {
  test("create: true puts the dynamic group in the tenancy and both policies in the compartment", async () => {
    const recorder = new OptionsRecorder();
    const iam = new mod.Iam(
      "iam",
      { create: true, tenancyId: TENANCY, ...INPUT, freeformTags: { "managed-by": "pulumi" } },
      { transformations: [recorder.transformation] },
    );
    await recorder.settled();

    const byType = (type: string) => ociResources("iam").filter((r) => r.type === type);
    const [group] = byType("oci:Identity/dynamicGroup:DynamicGroup");
    assert.deepEqual(group.inputs, {
      compartmentId: TENANCY,
      name: "triton-dev-md",
      description: "OCI Data Science model deployments serving Triton TensorRT-LLM",
      matchingRule: EXPECTED.dynamicGroupMatchingRule,
      freeformTags: { "managed-by": "pulumi" },
    });

    const policies = byType("oci:Identity/policy:Policy");
    assert.equal(policies.length, 2);
    const deployment = policies.find((p) => p.name === "iam-deployment");
    const services = policies.find((p) => p.name === "iam-services");
    assert.equal(deployment?.inputs.compartmentId, COMPARTMENT);
    assert.equal(deployment?.inputs.name, "triton-dev-md-deployment");
    assert.deepEqual(deployment?.inputs.statements, EXPECTED.policyStatements);
    assert.equal(services?.inputs.compartmentId, COMPARTMENT);
    assert.equal(services?.inputs.name, "triton-dev-md-services");
    assert.deepEqual(services?.inputs.statements, EXPECTED.servicePolicyStatements);

    // OCI rejects a policy naming a dynamic group that does not exist yet.
    const groupResource = recorder.get("oci:Identity/dynamicGroup:DynamicGroup").resource;
    assert.deepEqual(recorder.get("oci:Identity/policy:Policy", "iam-deployment").opts.dependsOn, [
      groupResource,
    ]);

    const propagated = recorder.get("command:local:Command", "iam-propagated").resource;
    assert.deepEqual(
      iam.resources,
      [
        groupResource,
        recorder.get("oci:Identity/policy:Policy", "iam-deployment").resource,
        recorder.get("oci:Identity/policy:Policy", "iam-services").resource,
        propagated,
      ],
      "the deployment and the export can wait for all of it, the policies in force included",
    );
    // The wait names both policies with their statements, in the stack's region.
    const wait = record.resources.find((r) => r.name === "iam-propagated");
    const create = String(wait?.inputs.create);
    assert.match(
      create,
      /^node --import tsx cli\/oci-task\.ts wait-for-policies --policy '\{"id":"iam-deployment_id","statements":\[.*read repos/,
    );
    assert.match(create, /--policy '\{"id":"iam-services_id","statements":\[.*objectstorage-us-ashburn-1/);
    assert.match(create, /--region 'us-ashburn-1'$/);
    assert.deepEqual(await promiseOf(iam.statements), EXPECTED);
  });

  test("create: false creates nothing and exports the exact statements", async () => {
    const recorder = new OptionsRecorder();
    const iam = new mod.Iam(
      "admin",
      { create: false, ...INPUT },
      { transformations: [recorder.transformation] },
    );
    await recorder.settled();
    assert.deepEqual(await promiseOf(iam.statements), EXPECTED);
    assert.deepEqual(ociResources("admin"), []);
    assert.deepEqual(
      recorder.recorded.map((r) => r.type),
      ["triton-trtllm-oci:iam:Iam"],
      "only the component itself is registered",
    );
    assert.deepEqual(iam.resources, []);
  });

  test("create: true without a tenancy is refused before anything is created", () => {
    assert.throws(() => new mod.Iam("no-tenancy", { create: true, ...INPUT }), /tenancyId is required/);
    assert.deepEqual(ociResources("no-tenancy"), []);
  });
});

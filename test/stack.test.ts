// The whole program, started as `pulumi preview` starts it, against the stand-in engine: what the dev
// stack registers, with which inputs and resource options, wired by which dependencies. The stand-in
// records options from the real RegisterResource requests, so retainOnDelete, ignoreChanges and
// dependsOn are asserted as the engine would receive them.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";

import { DEV_SECRET_STAND_INS, devStackLaunchOptions, PROJECT } from "./support/dev-stack";
import { launchProgram, type LaunchResult, type RegisteredResource } from "./support/pulumi-host";

const TIMEOUT_MS = 120_000;

function one(result: LaunchResult, type: string, name?: string): RegisteredResource {
  const found = result.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  assert.equal(found.length, 1, `exactly one ${type}${name ? ` named ${name}` : ""}`);
  return found[0];
}

function stackOutputs(result: LaunchResult): Record<string, unknown> {
  const stack = one(result, "pulumi:pulumi:Stack");
  assert.ok(stack.outputs);
  return stack.outputs;
}

describe("dev stack graph", { timeout: TIMEOUT_MS * 2 }, () => {
  let result: LaunchResult;
  before(async () => {
    result = await launchProgram({ ...(await devStackLaunchOptions()), timeoutMs: TIMEOUT_MS });
    assert.equal(result.exitCode, 0, result.stderr);
  });

  test("the artifact bucket is private, versioned and kept on destroy", () => {
    const bucket = one(result, "oci:ObjectStorage/bucket:Bucket");
    assert.equal(bucket.inputs.accessType, "NoPublicAccess");
    assert.equal(bucket.inputs.versioning, "Enabled");
    assert.equal(bucket.inputs.name, `${PROJECT}-dev-artifacts`);
    assert.equal(bucket.retainOnDelete, true);
  });

  test("the artifact object is the packed zip, content-addressed, kept on destroy and on replace", () => {
    const object = one(result, "oci:ObjectStorage/storageObject:StorageObject");
    const source = String(object.inputs.source);
    const sha256 = createHash("sha256").update(readFileSync(source)).digest("hex");
    assert.equal(object.inputs.object, `artifacts/triton-${sha256}.zip`);
    assert.deepEqual(object.inputs.metadata, { sha256 });
    assert.equal(object.retainOnDelete, true);
    assert.deepEqual(object.ignoreChanges, ["source"]);

    const listing = execFileSync("unzip", ["-Z1", source], { encoding: "utf8" }).trim().split("\n");
    for (const expected of [
      "triton/ensemble/config.pbtxt",
      "triton/ensemble/1/",
      "triton/preprocessing/1/model.py",
      "triton/postprocessing/1/model.py",
      "triton/tensorrt_llm/config.pbtxt",
      "triton/tensorrt_llm/1/rank0.engine",
      "triton/tensorrt_llm/1/config.json",
      "triton/tokenizer/tokenizer.json",
      "triton/tokenizer/tokenizer_config.json",
    ]) {
      assert.ok(listing.includes(expected), `${expected} in the artifact`);
    }
    assert.equal(
      listing.some((entry) => entry.endsWith(".safetensors")),
      false,
      "model weights stay out of the artifact",
    );
  });

  test("the catalog model records provenance and is replaced only by a new artifact", () => {
    const object = one(result, "oci:ObjectStorage/storageObject:StorageObject");
    const sha256 = (object.inputs.metadata as { sha256: string }).sha256;
    const model = one(result, "oci:DataScience/model:Model");
    assert.equal(model.inputs.description, `Triton TensorRT-LLM model repository, artifact sha256:${sha256}`);
    assert.deepEqual(model.replaceOnChanges, ["description"]);
    assert.deepEqual(model.ignoreChanges.sort(), [
      "artifactContentDisposition",
      "artifactContentLength",
      "modelArtifact",
    ]);
    const placeholder = String(model.inputs.modelArtifact);
    assert.equal(model.inputs.artifactContentLength, String(readFileSync(placeholder).length));
    // The metadata waits on the pushed image's digest, which only `pulumi up` learns; its content is
    // covered by catalogMetadata's unit test.
    assert.ok(
      model.propertyDependencies.customMetadataLists.includes(
        one(result, "docker:index/registryImage:RegistryImage").urn,
      ),
    );
  });

  test("the export copies the uploaded object after the service policies exist", () => {
    const exported = one(result, "oci:DataScience/modelArtifactExport:ModelArtifactExport");
    const object = one(result, "oci:ObjectStorage/storageObject:StorageObject");
    const model = one(result, "oci:DataScience/model:Model");
    const services = one(result, "oci:Identity/policy:Policy", "iam-services");
    assert.equal(exported.inputs.artifactSourceType, "ORACLE_OBJECT_STORAGE");
    assert.equal(exported.inputs.sourceObjectName, object.inputs.object);
    assert.equal(exported.inputs.sourceRegion, "us-ashburn-1");
    assert.ok(exported.dependencies.includes(model.urn));
    assert.ok(exported.dependencies.includes(object.urn));
    assert.ok(exported.dependencies.includes(services.urn));
  });

  test("the deployment waits for the model export and the IAM it needs", () => {
    const deployment = one(result, "oci:DataScience/modelDeployment:ModelDeployment");
    const exported = one(result, "oci:DataScience/modelArtifactExport:ModelArtifactExport");
    const model = one(result, "oci:DataScience/model:Model");
    const policies = result.resources.filter((r) => r.type === "oci:Identity/policy:Policy");
    const group = one(result, "oci:Identity/dynamicGroup:DynamicGroup");
    for (const needed of [model, exported, group, ...policies]) {
      assert.ok(deployment.dependencies.includes(needed.urn), `deployment depends on ${needed.name}`);
    }
    const details = deployment.inputs.modelDeploymentConfigurationDetails as {
      modelConfigurationDetails: { modelId: string };
      environmentConfigurationDetails: { image: string; imageDigest: string };
    };
    assert.equal(details.modelConfigurationDetails.modelId, model.id);
    const push = one(result, "docker:index/registryImage:RegistryImage");
    assert.deepEqual(
      deployment.propertyDependencies.modelDeploymentConfigurationDetails.includes(push.urn),
      true,
    );
  });

  test("secrets never appear unwrapped in any resource input or stack output", () => {
    const secretValues = Object.values(DEV_SECRET_STAND_INS);
    for (const resource of result.resources) {
      const plain = JSON.stringify(
        Object.fromEntries(
          Object.entries(resource.inputs).filter(([key]) => !resource.secretInputs.includes(key)),
        ),
      );
      for (const value of secretValues) {
        assert.equal(plain.includes(value), false, `${resource.urn} carries a secret in a plain input`);
      }
    }
    const outputs = JSON.stringify(stackOutputs(result));
    for (const value of secretValues) assert.equal(outputs.includes(value), false, "secret in stack outputs");
  });

  test("exports the endpoint, provenance, sizing and cost", () => {
    const outputs = stackOutputs(result);
    for (const key of ["predictUrl", "exampleSignedCall", "imageRef", "imageDigest", "modelId", "sizing"]) {
      assert.ok(key in outputs, `${key} exported`);
    }
    assert.equal(outputs.estimatedUsdPerHour, 2);
    const artifact = outputs.artifactObject as { sha256: string; object: string; bucket: string };
    assert.equal(artifact.object, `artifacts/triton-${artifact.sha256}.zip`);
    assert.equal(artifact.bucket, `${PROJECT}-dev-artifacts`);
    assert.equal(outputs.iamStatements, undefined, "statements are exported only when IAM is not created");
  });
});

describe("dev stack without IAM rights", { timeout: TIMEOUT_MS * 2 }, () => {
  test("iam.create false creates no IAM and exports the statements for an administrator", async () => {
    const options = await devStackLaunchOptions({ [`${PROJECT}:iam`]: JSON.stringify({ create: false }) });
    const result = await launchProgram({ ...options, timeoutMs: TIMEOUT_MS });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(
      result.resources.filter((r) => r.type.startsWith("oci:Identity/")),
      [],
    );
    const statements = stackOutputs(result).iamStatements as { policyStatements: string[] };
    assert.ok(statements.policyStatements.some((s) => s.includes("read repos")));
  });
});

describe("dev stack with several errors", { timeout: TIMEOUT_MS * 2 }, () => {
  test("reports every error at once, before any resource but the stack", async () => {
    const options = await devStackLaunchOptions({
      [`${PROJECT}:engine`]: JSON.stringify({ quantization: "fp8", tensorParallel: 2, prebuiltDir: "/x" }),
    });
    const result = await launchProgram({ ...options, timeoutMs: TIMEOUT_MS });
    assert.notEqual(result.exitCode, 0);
    const reported = result.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    assert.match(reported, /engine\.quantization = "fp8": fp8 needs GPU compute capability 8\.9\+/);
    assert.match(reported, /engine\.tensorParallel = 2: must divide the model's 71 query heads/);
    assert.deepEqual(
      result.resources.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });
});

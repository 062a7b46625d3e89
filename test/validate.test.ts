// validateStack, the one validation `check` and the program share: the serving-image catalogue, the
// rules of a build (gated models, IAM, SSH access, a public bucket) under each engine outlook, and
// which findings the program refuses at preview and at up.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

import { programRefusals, validateStack, type EngineOutlook } from "../components/config/validate";
import { checkStack, printCheckReport } from "../operations/check";
import { scratchDir } from "./support/scratch";
import { rawConfig, type Overrides, type RawOptions } from "./support/stack-fixtures";

const PROJECT_DIR = scratchDir("validate-");
const BUILD: Overrides = {
  "engine.prebuiltDir": undefined,
  "model.localDir": undefined,
};
const LLAMA: Overrides = {
  ...BUILD,
  "model.huggingFaceId": "meta-llama/Llama-3.1-8B-Instruct",
  "engine.maxBatchSize": 4,
};
const BUCKET = { name: "b", exists: true, accessType: "NoPublicAccess" };

function validate(overrides: Overrides, engine: EngineOutlook, options: RawOptions = {}) {
  return validateStack(rawConfig(overrides, options), { stack: "dev", projectDir: PROJECT_DIR, engine });
}

const keys = (list: readonly { key: string }[]) => list.map((e) => e.key);

describe("validateStack", () => {
  test("an uncatalogued serving image is refused naming image.source", () => {
    const result = validate(
      { ...BUILD, "image.source": "nvcr.io/nvidia/tritonserver:24.01-py3" },
      {
        kind: "assume-build",
      },
    );
    assert.deepEqual(keys(result.errors), ["image.source"]);
    assert.equal(result.config, undefined);
  });

  test("a gated model without hfToken: a note for check, a refusal for the program's build", () => {
    const check = validate(LLAMA, { kind: "assume-build" });
    assert.deepEqual(keys(check.errors), []);
    // The image push's secrets are set by default in these fixtures.
    assert.deepEqual(keys(check.missingInputs), ["hfToken"]);
    const note = check.missingInputs.find((e) => e.key === "hfToken");
    assert.ok(note);
    assert.match(note.message, /"meta-llama\/Llama-3\.1-8B-Instruct" is gated on Hugging Face/);
    assert.match(note.message, /huggingface\.co\/meta-llama/);
    assert.match(check.assumptions.join("\n"), /judges the stack as if the engine cache missed/);

    const program = validate(LLAMA, { kind: "looked-up", mode: "build", bucket: BUCKET });
    assert.deepEqual(keys(programRefusals(program, { dryRun: true })), ["hfToken"]);
  });

  test("a gated model with hfToken set, or from a cached artifact or engine, needs no token", () => {
    const secrets = ["ocirUsername", "ocirAuthToken", "hfToken"];
    assert.deepEqual(keys(validate(LLAMA, { kind: "assume-build" }, { secrets }).missingInputs), []);
    for (const mode of [undefined, "assemble"] as const) {
      const result = validate(LLAMA, { kind: "looked-up", mode, bucket: BUCKET });
      assert.deepEqual(keys(programRefusals(result, { dryRun: true })), [], String(mode));
    }
  });

  test("public models need no token", () => {
    assert.deepEqual(keys(validate(BUILD, { kind: "assume-build" }).missingInputs), []);
  });

  test("iam.create false with a build to run is refused by check and by the program", () => {
    const overrides = { ...BUILD, "iam.create": false };
    assert.deepEqual(keys(validate(overrides, { kind: "assume-build" }).errors), ["iam.create"]);
    const program = validate(overrides, { kind: "looked-up", mode: "build", bucket: BUCKET });
    assert.deepEqual(keys(programRefusals(program, { dryRun: true })), ["iam.create"]);
    // A hand-built engine starts no instance: the statements go to an administrator instead.
    assert.deepEqual(keys(validate({ "iam.create": false }, { kind: "assume-build" }).errors), []);
  });

  test("a build asks for no address of this machine (the build host sits behind a bastion)", () => {
    const program = validate(BUILD, { kind: "looked-up", mode: "build", bucket: BUCKET });
    assert.deepEqual(keys(programRefusals(program, { dryRun: true })), []);
  });

  test("before its bucket lookup the program judges no build rule; after it, a public bucket is refused", () => {
    const overrides = { ...LLAMA, "iam.create": false };
    assert.deepEqual(keys(validate(overrides, { kind: "not-looked-up" }).errors), []);
    const publicBucket = { name: "open", exists: true, accessType: "ObjectRead" };
    const result = validate(BUILD, { kind: "looked-up", mode: undefined, bucket: publicBucket });
    assert.deepEqual(keys(result.errors), ["artifact.bucketName"]);
    assert.match(result.errors[0].message, /public access \("ObjectRead"\)/);
  });

  test("iam.create false hands the exact statements to an administrator, named after the stack", () => {
    const result = validate({ "iam.create": false }, { kind: "assume-build" });
    const handover = result.iamHandover;
    assert.ok(handover);
    assert.equal(handover.dynamicGroupName, "triton-trtllm-oci-dev-deployments");
    assert.ok(
      handover.policyStatements.includes(
        "allow dynamic-group triton-trtllm-oci-dev-deployments to read objects in compartment id " +
          `${rawConfig().values.compartmentId as string} where ALL {target.bucket.name='triton-trtllm-oci-dev-artifacts'}`,
      ),
    );
    assert.equal(validate({}, { kind: "assume-build" }).iamHandover, undefined);
  });

  test("check prints those statements with the stack's report", () => {
    const dir = scratchDir("validate-iam-");
    const values = { ...rawConfig({ "iam.create": false }).values };
    const config = Object.fromEntries(Object.entries(values).map(([k, v]) => [`triton-trtllm-oci:${k}`, v]));
    writeFileSync(
      join(dir, "Pulumi.handover.yaml"),
      stringify({ config: { "oci:region": "us-ashburn-1", ...config } }),
    );
    const printed: string[] = [];
    const sink = (line: string) => printed.push(line);
    printCheckReport(checkStack(dir, "handover"), { log: sink, error: sink });
    const text = printed.join("\n");
    assert.match(
      text,
      /iam\.create is false: an administrator must create\ndynamic group triton-trtllm-oci-handover-deployments/,
    );
    assert.match(text, /allow service datascience to manage object-family in compartment id /);
  });

  test("placeholder OCIDs are refused by pulumi up only", () => {
    const result = validate({}, { kind: "assume-build" });
    assert.ok(result.placeholders.length > 0);
    assert.equal(programRefusals(result, { dryRun: true }).filter((e) => e.key === "tenancyId").length, 0);
    assert.ok(programRefusals(result, { dryRun: false }).some((e) => e.key === "tenancyId"));
  });
});

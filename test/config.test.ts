// The stack config schema: formats, enums, defaults, secrets and the shape of its error reports.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

import { formatConfigError, parseStackConfig } from "../components/config/config";
import { DEFAULT_IMAGE_MIRROR } from "../components/config/image-mirror";
import { OCI_PROVIDER_KEYS } from "../components/config/namespaces";
import { closest } from "../components/config/spelling";
import { readStackFile, StackFileError } from "../components/config/stack-file";
import {
  COMPARTMENT_ID,
  expectError,
  keys,
  parse,
  PROJECT_ID,
  rawConfig,
  TENANCY_ID,
  validConfig,
} from "./support/stack-fixtures";

const PROJECT_DIR = path.resolve(__dirname, "..");

describe("Pulumi.dev.yaml", () => {
  test("validates with zero errors and describes Falcon-7B bf16 on one A10", () => {
    const stackFile = readStackFile(PROJECT_DIR, "dev");
    const result = parseStackConfig(stackFile.raw);
    assert.deepEqual(result.errors.map(formatConfigError), []);
    assert.ok(result.config);
    assert.equal(result.config.model.huggingFaceId, "tiiuae/falcon-7b-instruct");
    assert.equal(result.config.deployment.shape, "VM.GPU.A10.1");
    assert.equal(result.config.region, "us-ashburn-1");
    // The committed file holds no secrets: they are set per user with `pulumi config set --secret`.
    assert.deepEqual(stackFile.plaintextSecrets, []);
    assert.deepEqual(keys(result.missingSecrets), ["ocirAuthToken", "ocirUsername"]);
  });
});

describe("OCIDs", () => {
  test("compartmentId takes a compartment or the tenancy OCID", () => {
    assert.equal(validConfig({ compartmentId: COMPARTMENT_ID }).compartmentId, COMPARTMENT_ID);
    assert.equal(validConfig({ compartmentId: TENANCY_ID }).compartmentId, TENANCY_ID);
  });

  test("compartmentId rejects other OCID types, malformed OCIDs and absence", () => {
    const user = "ocid1.user.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexample";
    for (const bad of [
      user,
      "ocid1.compartment.oc1..short",
      "compartment-prod",
      COMPARTMENT_ID.toUpperCase(),
    ]) {
      const { errors, config } = parse({ compartmentId: bad });
      assert.equal(config, undefined);
      expectError(errors, "compartmentId", {
        value: bad,
        message: [/compartment or tenancy/],
        fix: [/pulumi config set .*compartmentId/],
      });
    }
    expectError(parse({ compartmentId: undefined }).errors, "compartmentId", {
      value: undefined,
      message: [/required/],
      fix: [/pulumi config set .*compartmentId/],
    });
  });

  test("tenancyId must be a tenancy OCID", () => {
    expectError(parse({ tenancyId: COMPARTMENT_ID }).errors, "tenancyId", {
      value: COMPARTMENT_ID,
      message: [/tenancy/],
    });
  });

  test("projectId must be a Data Science project OCID, in a regional form", () => {
    assert.equal(validConfig({ projectId: PROJECT_ID }).projectId, PROJECT_ID);
    expectError(parse({ projectId: COMPARTMENT_ID }).errors, "projectId", {
      value: COMPARTMENT_ID,
      message: [/datascienceproject/],
      fix: [/projectId/],
    });
  });
});

describe("model.huggingFaceId", () => {
  test("accepts owner/name ids", () => {
    assert.equal(
      validConfig({ "model.huggingFaceId": "tiiuae/falcon-7b" }).model.huggingFaceId,
      "tiiuae/falcon-7b",
    );
  });

  test("rejects a bare name, a URL and a nested path", () => {
    for (const bad of ["falcon-7b-instruct", "https://huggingface.co/tiiuae/falcon-7b", "a/b/c", "/falcon"]) {
      expectError(parse({ "model.huggingFaceId": bad }).errors, "model.huggingFaceId", {
        value: bad,
        message: [/owner\/name/],
      });
    }
  });

  test("an uncatalogued model needs its architecture, and gets it from config", () => {
    const id = "example/falcon-7b-finetune";
    expectError(parse({ "model.huggingFaceId": id }).errors, "model.architecture", {
      value: id,
      message: [new RegExp(id)],
      fix: [/hiddenSize/, /queryHeads/, /tiiuae\/falcon-7b-instruct/],
    });
    const architecture = {
      family: "falcon",
      layers: "32",
      hiddenSize: 4544,
      queryHeads: 71,
      kvHeads: 1,
      intermediateSize: 18176,
      vocabSize: 65024,
      contextLength: 2048,
      parameterCount: 6.92e9,
      eosTokenId: 11,
      padTokenId: 11,
    };
    const config = validConfig({ "model.huggingFaceId": id, "model.architecture": architecture });
    assert.equal(config.model.resolved.queryHeads, 71);
    assert.equal(config.model.resolved.layers, 32);
  });
});

// Found in a newcomer run: `oci:region = "us-ashburm-1": ... did you mean "us-ashburn-1"?. Fix: ...`.
describe("a suggestion in a message never reads `?.`", () => {
  test("the region meant, in parentheses, for oci:region and iam.homeRegion alike", () => {
    const result = parse({ "iam.homeRegion": "eu-frankfrut-1" }, { region: "us-ashburm-1" });
    const lines = result.errors.map(formatConfigError);
    assert.ok(
      lines.includes(
        'oci:region = "us-ashburm-1": is not an OCI region identifier (did you mean "us-ashburn-1"?). Fix: pulumi config set oci:region us-ashburn-1',
      ),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((line) =>
        line.startsWith(
          'iam.homeRegion = "eu-frankfrut-1": is not an OCI region identifier (did you mean "eu-frankfurt-1"?). Fix: ',
        ),
      ),
      lines.join("\n"),
    );
    for (const line of lines) assert.doesNotMatch(line, /\?\./, line);
  });
});

describe("enums", () => {
  const cases: [string, string, RegExp][] = [
    ["engine.dtype", "float32", /float16, bfloat16/],
    ["engine.quantization", "fp4", /none, fp8, int8_sq, int4_awq, int8_weight_only, int4_weight_only/],
    ["serving.batchSchedulerPolicy", "fifo", /guaranteed_no_evict, max_utilization/],
  ];
  for (const [key, bad, allowed] of cases) {
    test(`${key} rejects '${bad}' and lists the supported values`, () => {
      expectError(parse({ [key]: bad }).errors, key, { value: bad, message: [allowed] });
    });
  }

  // Found in a newcomer run: `bf16` got the list, not the value meant.
  test("a near miss or an abbreviation gets the value meant, with the command that sets it", () => {
    const near: [string, string, string][] = [
      ["engine.dtype", "bf16", "bfloat16"],
      ["engine.dtype", "BFloat16", "bfloat16"],
      ["engine.quantization", "int4-awq", "int4_awq"],
      ["serving.batchSchedulerPolicy", "max-util", "max_utilization"],
      ["image.mirror", "locl", "local"],
    ];
    for (const [key, bad, meant] of near) {
      const error = expectError(parse({ [key]: bad }).errors, key, { value: bad });
      assert.equal(error.fix, `did you mean "${meant}"? pulumi config set --path ${key} ${meant}`, bad);
    }
  });

  test("a value near none of them gets the list and the command, no guess", () => {
    const error = expectError(
      parse({ "serving.batchSchedulerPolicy": "fifo" }).errors,
      "serving.batchSchedulerPolicy",
      {
        value: "fifo",
      },
    );
    assert.equal(
      error.fix,
      "use one of guaranteed_no_evict, max_utilization: pulumi config set --path serving.batchSchedulerPolicy <value>",
    );
  });

  test("accepted values pass through", () => {
    const config = validConfig({
      "engine.dtype": "float16",
      "serving.batchSchedulerPolicy": "max_utilization",
    });
    assert.equal(config.engine.dtype, "float16");
    assert.equal(config.serving.batchSchedulerPolicy, "max_utilization");
  });
});

describe("numbers and flags", () => {
  test("integers given as numeric strings are accepted as numbers", () => {
    const config = validConfig({
      "deployment.httpPort": "9001",
      "engine.maxBatchSize": " 16 ",
      "deployment.storageSizeInGBs": "750",
      "serving.kvCacheFreeGpuMemFraction": "0.8",
      "iam.create": "true",
      "deployment.streaming": "false",
    });
    assert.equal(config.deployment.httpPort, 9001);
    assert.equal(config.engine.maxBatchSize, 16);
    assert.equal(config.deployment.storageSizeInGBs, 750);
    assert.equal(config.serving.kvCacheFreeGpuMemFraction, 0.8);
    assert.equal(config.iam.create, true);
    assert.equal(config.deployment.streaming, false);
  });

  test("garbage, fractions and hex in integer fields are rejected", () => {
    for (const bad of ["90x0", "nine thousand", "9000.5", 9000.5, "0x2328", "1e4", ""]) {
      expectError(parse({ "deployment.httpPort": bad }).errors, "deployment.httpPort", {
        value: bad,
        message: [/must be a/],
        fix: [/deployment\.httpPort/],
      });
    }
    expectError(parse({ "iam.create": "yes" }).errors, "iam.create", {
      value: "yes",
      message: [/true or false/],
    });
  });

  test("out-of-range values name the bound in the fix", () => {
    expectError(parse({ "engine.maxBatchSize": "0" }).errors, "engine.maxBatchSize", {
      value: "0",
      fix: [/at least 1/],
    });
    expectError(parse({ "engine.maxBatchSize": 5000 }).errors, "engine.maxBatchSize", {
      value: 5000,
      fix: [/at most 4096/],
    });
    expectError(
      parse({ "serving.kvCacheFreeGpuMemFraction": 1.5 }).errors,
      "serving.kvCacheFreeGpuMemFraction",
      {
        value: 1.5,
      },
    );
  });

  // Found while writing these tests: zod's "Too small: expected number to be >=1" is rewritten with
  // a pattern that keeps zod's "be", so the message reads "must be be >=1".
  test("out-of-range messages read as one sentence", () => {
    const { errors } = parse({ "engine.maxBatchSize": 0, "deployment.storageSizeInGBs": 100000 });
    const small = expectError(errors, "engine.maxBatchSize", { value: 0, message: [/1/] });
    const big = expectError(errors, "deployment.storageSizeInGBs", { value: 100000, message: [/16384/] });
    for (const error of [small, big]) assert.doesNotMatch(error.message, /\bbe be\b/);
  });
});

describe("unknown keys", () => {
  test("a misspelt key is reported with a 'did you mean' suggestion, at any depth", () => {
    const { errors } = parse({
      comparmentId: COMPARTMENT_ID,
      "engine.maxBatchSise": 8,
      "deployment.shap": "x",
    });
    expectError(errors, "comparmentId", {
      value: COMPARTMENT_ID,
      message: [/not a setting/],
      fix: [/did you mean 'compartmentId'/, /pulumi config rm --path comparmentId/],
    });
    expectError(errors, "engine.maxBatchSise", { value: 8, fix: [/did you mean 'engine\.maxBatchSize'/] });
    expectError(errors, "deployment.shap", { value: "x", fix: [/did you mean 'deployment\.shape'/] });
  });

  test("a key with no near neighbour lists the keys that exist there", () => {
    const error = expectError(parse({ "deployment.gpuDriver": "550" }).errors, "deployment.gpuDriver", {
      value: "550",
    });
    assert.doesNotMatch(error.fix, /did you mean/);
    assert.match(error.fix, /shape, instanceCount, .*httpPort/);
  });

  test("closest() suggests only near misses", () => {
    assert.equal(closest("shpe", ["shape", "streaming"]), "shape");
    assert.equal(closest("HTTPPORT", ["httpPort", "shape"]), "httpPort");
    assert.equal(closest("gpuDriver", ["shape", "streaming", "httpPort"]), undefined);
  });

  test("closest() takes an abbreviation of exactly one candidate, from its first letter", () => {
    assert.equal(closest("bf16", ["float16", "bfloat16"]), "bfloat16");
    assert.equal(closest("max-util", ["guaranteed_no_evict", "max_utilization"]), "max_utilization");
    // Two candidates it abbreviates, a different first letter, one letter or the whole word: no guess.
    assert.equal(closest("int4", ["int4_awq", "int4_weight_only"]), undefined);
    assert.equal(closest("xf16", ["float16", "bfloat16"]), undefined);
    assert.equal(closest("b", ["bfloat16"]), undefined);
    assert.equal(closest("fifo", ["guaranteed_no_evict", "max_utilization"]), undefined);
  });
});

describe("error reporting", () => {
  test("several bad keys come back together in one result", () => {
    const result = parse({
      compartmentId: "nope",
      "engine.dtype": "fp32",
      "deployment.httpPort": "port",
      "serving.batchSchedulerPolicy": "fifo",
      "model.huggingFaceId": "falcon",
    });
    assert.equal(result.config, undefined);
    assert.deepEqual(keys(result.errors), [
      "compartmentId",
      "deployment.httpPort",
      "engine.dtype",
      "model.huggingFaceId",
      "serving.batchSchedulerPolicy",
    ]);
  });

  test("unknown shapes in both places are reported together, with the catalogue to pick from", () => {
    const { errors } = parse({ "deployment.shape": "VM.GPU.A10.9", "build.shape": "BM.GPU.A10" });
    expectError(errors, "deployment.shape", {
      value: "VM.GPU.A10.9",
      fix: [/VM\.GPU\.A10\.1/, /BM\.GPU\.H100\.8/],
    });
    expectError(errors, "build.shape", { value: "BM.GPU.A10", fix: [/BM\.GPU\.A10\.4/] });
  });

  test("formatConfigError prints key, value, problem and fix on one line", () => {
    const line = formatConfigError({
      key: "deployment.httpPort",
      value: 8446,
      message: "is reserved",
      fix: "use 9000",
    });
    assert.equal(line, "deployment.httpPort = 8446: is reserved. Fix: use 9000");
    assert.match(
      formatConfigError({ key: "tenancyId", value: undefined, message: "m", fix: "f" }),
      /\(not set\)/,
    );
  });
});

describe("oci:region", () => {
  test("missing or malformed region is an error naming the config command", () => {
    expectError(parse({}, { region: null }).errors, "oci:region", {
      value: undefined,
      fix: [/pulumi config set oci:region/],
    });
    expectError(parse({}, { region: "Ashburn" }).errors, "oci:region", { value: "Ashburn" });
  });

  test("the region reaches the config", () => {
    assert.equal(validConfig({}, { region: "eu-frankfurt-1" }).region, "eu-frankfurt-1");
  });

  // Found while writing these tests: the region pattern allows exactly one word between the
  // dashes, but OCI's government and dedicated regions have two (Oracle's image pages list
  // us-gov-ashburn-1, us-gov-phoenix-1 and us-gov-chicago-1 beside us-langley-1).
  test("government-cloud region identifiers are accepted", () => {
    for (const region of ["us-langley-1", "us-gov-ashburn-1", "uk-gov-london-1"]) {
      assert.equal(validConfig({}, { region }).region, region);
    }
  });

  // Found while writing these tests: a missing region returns before the cross-field rules run,
  // although none of them needs the region, so their errors only show up on the next run.
  test("a missing region does not hide the rule errors of the same file", () => {
    const { errors } = parse({ "engine.tensorParallel": 2, "engine.quantization": "fp8" }, { region: null });
    assert.ok(keys(errors).includes("oci:region"));
    assert.ok(keys(errors).includes("engine.tensorParallel"), keys(errors).join(", "));
    assert.ok(keys(errors).includes("engine.quantization"), keys(errors).join(", "));
  });
});

describe("defaults", () => {
  test("apply when the settings are absent", () => {
    const config = validConfig({
      "deployment.shape": undefined,
      "deployment.httpPort": undefined,
      "deployment.storageSizeInGBs": undefined,
      engine: { prebuiltDir: "./engine" },
      "model.huggingFaceId": undefined,
      "model.revision": undefined,
    });
    assert.equal(config.deployment.shape, "VM.GPU.A10.1");
    assert.equal(config.deployment.httpPort, 9000);
    assert.equal(config.deployment.storageSizeInGBs, 500);
    assert.equal(config.deployment.instanceCount, 1);
    assert.deepEqual(config.deployment.environment, {});
    assert.equal(config.model.huggingFaceId, "tiiuae/falcon-7b-instruct");
    assert.equal(config.engine.dtype, "bfloat16");
    assert.equal(config.engine.quantization, "none");
    assert.equal(config.engine.tensorParallel, 1);
    assert.equal(config.serving.kvCacheFreeGpuMemFraction, 0.9);
    assert.equal(config.serving.batchSchedulerPolicy, "guaranteed_no_evict");
    assert.equal(config.iam.create, true);
  });

  test("build.shape defaults to deployment.shape", () => {
    assert.equal(validConfig().build.shape, "VM.GPU.A10.1");
    const config = validConfig({ "deployment.shape": "VM.GPU.A10.2" });
    assert.equal(config.build.shape, "VM.GPU.A10.2");
    assert.equal(validConfig({ "build.shape": "VM.GPU.A10.2" }).build.shape, "VM.GPU.A10.2");
  });

  test("image tag is derived from the source image", () => {
    assert.equal(validConfig().image.tag, "25.04-trtllm-python-py3");
    const digest = "sha256:" + "ab".repeat(32);
    assert.equal(
      validConfig({ "image.source": `nvcr.io/nvidia/tritonserver:24.12-trtllm-python-py3@${digest}` }).image
        .tag,
      "24.12-trtllm-python-py3",
    );
    // A registry port is not a tag.
    assert.equal(validConfig({ "image.source": `localhost:5000/triton@${digest}` }).image.tag, "latest");
    assert.equal(
      validConfig({ "image.source": "localhost:5000/x:25.04-trtllm-python-py3", "image.tag": "mine" }).image
        .tag,
      "mine",
    );
  });
});

describe("secrets", () => {
  test("unset required secrets are listed in missingSecrets, not in errors", () => {
    const result = parse({}, { secrets: [] });
    assert.ok(result.config);
    assert.deepEqual(result.errors, []);
    expectError(result.missingSecrets, "ocirUsername", { fix: [/pulumi config set --secret ocirUsername/] });
    expectError(result.missingSecrets, "ocirAuthToken", {
      fix: [/pulumi config set --secret ocirAuthToken/],
    });
    assert.deepEqual(parse({}, { secrets: ["ocirUsername", "ocirAuthToken"] }).missingSecrets, []);
    // hfToken is only for gated models.
    assert.deepEqual(parse({}, { secrets: ["ocirUsername", "ocirAuthToken", "hfToken"] }).missingSecrets, []);
  });

  test("secret values handed in with the values are neither copied into config nor reported", () => {
    const raw = rawConfig({
      ocirUsername: "tenancyns/someone@example.com",
      ocirAuthToken: "TOKEN-do-not-leak",
      hfToken: "hf_do_not_leak",
    });
    const result = parseStackConfig(raw);
    assert.ok(result.config);
    const everything = JSON.stringify(result);
    for (const secret of ["TOKEN-do-not-leak", "hf_do_not_leak", "someone@example.com"]) {
      assert.ok(!everything.includes(secret), `${secret} leaked into the parse result`);
    }
  });
});

describe("errors in one pass, whatever their kind", () => {
  // Found in a newcomer run: an unknown shape stopped the parse before the cross-field rules, so the
  // other mistakes only showed up one fix later.
  test("a bad deployment.shape does not hide the other errors of the file", () => {
    const { errors } = parse({
      "deployment.shape": "VM.GPU.A10.9",
      "deployment.httpPort": 8446,
      "engine.maxOutputLen": 2000,
      "deployment.environment": { TENANCY_OCID: "x" },
      tenancyId: undefined,
    });
    assert.deepEqual(keys(errors), [
      "deployment.environment.TENANCY_OCID",
      "deployment.httpPort",
      "deployment.shape",
      "engine.maxOutputLen",
      "tenancyId",
    ]);
  });

  test("a wrong type in deployment.environment does not hide the other errors", () => {
    const { errors } = parse({
      "deployment.environment": { LOG_LEVEL: 5, A: "x" },
      "deployment.httpPort": 8446,
      "engine.maxOutputLen": 2000,
      "engine.quantization": "int8_sq",
      tenancyId: undefined,
    });
    assert.deepEqual(keys(errors), [
      "deployment.environment.A",
      "deployment.environment.LOG_LEVEL",
      "deployment.httpPort",
      "engine.maxOutputLen",
      "engine.quantization",
      "tenancyId",
    ]);
  });

  test("rules that read a bad setting are skipped instead of judging a stand-in", () => {
    // TP 2 on the unknown shape: the GPU count is unknown, so no TP or memory verdict is given.
    const { errors } = parse({ "deployment.shape": "VM.GPU.B200.1", "engine.maxBatchSize": "many" });
    assert.deepEqual(keys(errors), ["deployment.shape", "engine.maxBatchSize"]);
    assert.equal(errors.find((e) => e.key === "deployment.shape")?.value, "VM.GPU.B200.1");
  });

  test("a broken serving section does not silence the environment's variable-name errors", () => {
    const { errors } = parse({ serving: "hello", "deployment.environment": { X: "1" } });
    assert.deepEqual(keys(errors), ["deployment.environment.X", "serving"]);
  });

  test("a section given as text is one error that says a map is expected (not 'a object')", () => {
    const error = expectError(parse({ deployment: "hello" }).errors, "deployment", {
      value: "hello",
      message: [/must be a map of settings/],
    });
    assert.doesNotMatch(error.message, /\ba object\b/);
  });
});

describe("namespaces", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "config-namespaces-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function readStack(body: string) {
    writeFileSync(path.join(dir, "Pulumi.typo.yaml"), body);
    return parseStackConfig(readStackFile(dir, "typo").raw);
  }

  test("a misspelt project namespace and an unknown oci: key are errors with 'did you mean'", () => {
    const { errors, config } = readStack(`config:
  oci:regoin: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oc:deployment:
    shape: VM.GPU.A10.2
`);
    assert.equal(config, undefined);
    expectError(errors, "triton-trtllm-oc:deployment", {
      message: [/namespace "triton-trtllm-oc"/, /ignored/],
      fix: [/did you mean "triton-trtllm-oci:deployment"/],
    });
    expectError(errors, "oci:regoin", { fix: [/did you mean 'oci:region'/] });
    expectError(errors, "oci:region", { value: undefined });
  });

  test("the providers' own namespaces and keys pass", () => {
    const { errors } = readStack(`config:
  oci:region: us-ashburn-1
  oci:configFileProfile: DEFAULT
  docker:host: ssh://opc@10.0.0.5
  pulumi:tags:
    team: ml
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
`);
    assert.deepEqual(errors.filter((e) => e.key.includes(":")).map(formatConfigError), []);
  });

  test("the OCI keys known here are exactly the settings of the installed OCI provider", () => {
    const declarations = readFileSync(
      path.join(PROJECT_DIR, "node_modules/@pulumi/oci/config/vars.d.ts"),
      "utf8",
    );
    const declared = [...declarations.matchAll(/export declare const (\w+)/g)].map((m) => m[1]).sort();
    assert.deepEqual([...OCI_PROVIDER_KEYS].sort(), declared);
  });

  test("`config: hello` is one error about the config map, not five about keys '0'..'4'", () => {
    writeFileSync(path.join(dir, "Pulumi.hello.yaml"), "config: hello\n");
    assert.throws(
      () => readStackFile(dir, "hello"),
      (error: unknown) =>
        error instanceof StackFileError &&
        /'config' must be a map/.test(error.message) &&
        !/"0"/.test(error.message),
    );
  });
});

describe("messages", () => {
  test("ttlHours 0 says how to keep the deployment without an expiry", () => {
    expectError(parse({ "evaluation.ttlHours": 0 }).errors, "evaluation.ttlHours", {
      value: 0,
      fix: [/at least 1/, /pulumi config rm --path evaluation\.ttlHours/],
    });
  });

  test("docker.host needs a scheme", () => {
    expectError(parse({ "docker.host": "opc@10.0.0.5" }).errors, "docker.host", {
      value: "opc@10.0.0.5",
      message: [/unix:\/\/\/path, tcp:\/\/host:port or ssh:\/\/user@host\[:port\]/],
      fix: [/ssh:\/\/opc@/],
    });
    for (const host of ["ssh://opc@10.0.0.5", "tcp://10.0.0.5:2376", "unix:///var/run/docker.sock"]) {
      assert.equal(validConfig({ "docker.host": host }).docker.host, host);
    }
  });

  test("image.mirror is oci or local, defaulting to the constant the program documents", () => {
    assert.equal(validConfig().image.mirror, DEFAULT_IMAGE_MIRROR);
    assert.equal(validConfig({ "image.mirror": "oci" }).image.mirror, "oci");
    assert.equal(validConfig({ "image.mirror": "local" }).image.mirror, "local");
    expectError(parse({ "image.mirror": "docker" }).errors, "image.mirror", {
      value: "docker",
      message: [/not one of the supported values \(oci, local\)/],
      fix: [/oci, local/],
    });
  });

  test("docker.host with image.mirror oci is a warning that names both keys; with local it is used", () => {
    const host = "ssh://opc@10.0.0.5";
    expectError(parse({ "docker.host": host, "image.mirror": "oci" }).warnings, "docker.host", {
      value: host,
      message: [/only used with image\.mirror local/],
      fix: [/pulumi config rm --path docker\.host/, /image\.mirror local/],
    });
    assert.deepEqual(
      keys(parse({ "docker.host": host, "image.mirror": "local" }).warnings).includes("docker.host"),
      false,
    );
  });

  test("the committed example's placeholder OCIDs are notes, not errors; real ones are neither", () => {
    const { errors, placeholders } = parse();
    assert.deepEqual(errors, []);
    assert.deepEqual(keys(placeholders), ["compartmentId", "tenancyId"]);
    expectError(placeholders, "compartmentId", { value: COMPARTMENT_ID, message: [/placeholder/] });
    const real = "ocid1.compartment.oc1..aaaaaaaa4xkm2v7r3p6jq5w2n8d1c0b9s7t6u5y4e3r2w1q0p9o8i7u6";
    assert.deepEqual(
      parse({ compartmentId: real, tenancyId: undefined, "iam.create": false }).placeholders,
      [],
    );
  });
});

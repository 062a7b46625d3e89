// The offline `check` command, run as a process against stack files in a temporary project folder.
// Every run starts at once in `before` (each tsx start costs about a second), and the tests read
// the results.

import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { COMPARTMENT_ID, TENANCY_ID } from "./support/stack-fixtures";
import { type CliRun, runCli } from "./support/run-cli";

const PROJECT_DIR = path.resolve(__dirname, "..");

function check(args: readonly string[]): Promise<CliRun> {
  return runCli("cli/check.ts", args);
}

const PLAINTEXT_TOKEN = "plain-auth-token-7f3a";

// Four schema errors in one file, and a secret written in plain text.
const BROKEN_STACK = `config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: my-compartment
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:ocirAuthToken: ${PLAINTEXT_TOKEN}
  triton-trtllm-oci:model:
    localDir: ./models/falcon-7b-instruct
  triton-trtllm-oci:engine:
    dtype: fp32
    maxBatchSise: 8
    prebuiltDir: ./engines/x
  triton-trtllm-oci:deployment:
    httpPort: port
`;

// The newcomer's run: the engine folder is a file, the snapshot is not on this machine, the project
// namespace and an oci: key are misspelt.
const LOCAL_STACK = `config:
  oci:region: us-ashburn-1
  oci:regoin: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:model:
    localDir: ./models/nowhere
  triton-trtllm-oci:engine:
    prebuiltDir: ./engine.tar
  triton-trtllm-oc:deployment:
    shape: VM.GPU.A10.2
`;

// Schema-valid, but three cross-field rules fail.
const RULE_ERRORS_STACK = `config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:model:
    localDir: ./models/falcon-7b-instruct
  triton-trtllm-oci:engine:
    quantization: fp8
    prebuiltDir: ./engines/x
  triton-trtllm-oci:deployment:
    httpPort: 8446
    environment:
      TENANCY_OCID: x
`;

// What a user's own stack file holds where the committed ones hold placeholders: OCIDs of the right
// form without "example", and the OCIR secrets as `pulumi config set --secret` writes them.
const OWN_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaa4jv3qbrxzmb5nqe2iwg7hl6yqc2tqfsmv4ngfn7wr2xnpd3hcxea";
const OWN_TENANCY = "ocid1.tenancy.oc1..aaaaaaaa7rkzp4snyq5kgfx3vwm2o6hbtjd4qeccnx5ul2ya3fkgmwp6xzta";
const OWN_SECRETS = `  triton-trtllm-oci:ocirUsername:
    secure: v1:c3RhbmQtaW4=:dXNlcg==
  triton-trtllm-oci:ocirAuthToken:
    secure: v1:c3RhbmQtaW4=:dG9rZW4=
`;

/** A committed stack file as its user makes it deployable: own OCIDs, secrets set. */
function withOwnValues(stackFile: string): string {
  return `${stackFile
    .replace(COMPARTMENT_ID, OWN_COMPARTMENT)
    .replace(TENANCY_ID, OWN_TENANCY)
    .replace(/\n*$/, "\n")}${OWN_SECRETS}`;
}

const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);

describe("check CLI", () => {
  let dir = "";
  const runs: Record<string, CliRun> = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "check-cli-"));
    await copyFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
    const dev = await readFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8");
    const prod = await readFile(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8");
    await writeFile(path.join(dir, "Pulumi.ready.yaml"), withOwnValues(dev));
    // The committed prod stack, made the user's own, in a folder with no engines/ or models/.
    await writeFile(path.join(dir, "Pulumi.prod.yaml"), withOwnValues(prod));
    await writeFile(
      path.join(dir, "Pulumi.folders.yaml"),
      withOwnValues(
        dev
          .replace("    revision: main\n", "    revision: main\n    localDir: ./models/falcon-7b-instruct\n")
          .replace(
            "    maxOutputLen: 1024\n",
            "    maxOutputLen: 1024\n    prebuiltDir: ./engines/falcon-7b-instruct-bf16-a10\n",
          ),
      ),
    );
    await writeFile(path.join(dir, "Pulumi.broken.yaml"), BROKEN_STACK);
    await writeFile(path.join(dir, "Pulumi.rules.yaml"), RULE_ERRORS_STACK);
    await writeFile(path.join(dir, "Pulumi.local.yaml"), LOCAL_STACK);
    await writeFile(path.join(dir, "engine.tar"), "not a folder");
    await writeFile(path.join(dir, "Pulumi.hello.yaml"), "config: hello\n");
    await writeFile(path.join(dir, "Pulumi.yamlerror.yaml"), "config:\n  oci:region: [us-ashburn-1\n");
    const commands: Record<string, string[]> = {
      dev: ["--stack", "dev", "--dir", dir],
      devJson: ["--stack", "dev", "--dir", dir, "--json"],
      broken: ["--stack", "broken", "--dir", dir],
      rulesJson: ["--stack", "rules", "--dir", dir, "--json"],
      missingFile: ["--stack", "staging", "--dir", dir],
      missingStack: ["--dir", dir],
      unknownOption: ["--stak", "dev", "--dir", dir],
      help: ["--help"],
      local: ["--stack", "local", "--dir", dir],
      hello: ["--stack", "hello", "--dir", dir],
      yamlError: ["--stack", "yamlerror", "--dir", dir],
      ready: ["--stack", "ready", "--dir", dir],
      readyJson: ["--stack", "ready", "--dir", dir, "--json"],
      prod: ["--stack", "prod", "--dir", dir],
      folders: ["--stack", "folders", "--dir", dir],
    };
    const results = await Promise.all(Object.values(commands).map((args) => check(args)));
    Object.keys(commands).forEach((name, i) => (runs[name] = results[i]));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("dev as committed: exit 3, not deployable, with the sizing summary of Falcon-7B on one A10", () => {
    const { code, stdout, stderr } = runs.dev;
    assert.equal(code, 3, stderr);
    assert.equal(stderr, "");
    // Per GPU, worked by hand: weights 7,217,189,760 x 2 B = 13.44 GiB; activations 8192 x (2 x 18176
    // + 4 x 4544) x 2 B + 32 x 65024 x 4 B = 0.84 GiB; runtime 1.5 GiB: 15.78 of 23028 MiB = 22.49 GiB.
    // The paged KV cache takes 0.9 of the 6.71 GiB left: 6.03 GiB, 791,005 tokens of 8 KiB, 386
    // sequences of 2048 tokens; 21.82 GiB in use, headroom 0.67.
    assert.match(stdout, /model\s+tiiuae\/falcon-7b-instruct/);
    assert.match(stdout, /deployment\s+VM\.GPU\.A10\.1 \(1 x A10\), tensor parallel 1/);
    assert.match(
      stdout,
      /weights 13\.44 \+ KV cache 6\.03 \(8 KiB\/token\) \+ activations 0\.84 \+ runtime 1\.5 = 21\.82 of 22\.49 \(headroom 0\.67; at least 15\.8 serves\)/,
    );
    assert.match(
      stdout,
      /^KV cache +791,005 tokens \(serving\.kvCacheFreeGpuMemFraction 0\.9 of what the engine leaves; activations sized for 8,192 tokens a step\): 386 full-length sequences of 2,048 tokens at once/m,
    );
    assert.match(stdout, /cost \(USD\/h\)\s+deployment 2, build instance 2 while building/);
    assert.match(stdout, /evaluation\s+16 USD/);
    assert.equal(
      lastLine(stdout),
      "check: Pulumi.dev.yaml: 4 problems: not deployable (compartmentId placeholder, tenancyId placeholder, ocirUsername unset, ocirAuthToken unset)",
    );
    // The committed example's OCIDs are not the user's: said as notes, not errors.
    assert.match(stdout, /^note .*compartmentId = .*placeholder of the committed example/m);
    // The committed stack tracks a branch and an undigested image, and holds no secrets.
    assert.match(stdout, /^warning: model\.revision = "main"/m);
    assert.match(stdout, /^warning: image\.source = /m);
    assert.match(stdout, /^note .*ocirUsername.*pulumi config set --secret ocirUsername/m);
    assert.match(stdout, /^note .*ocirAuthToken/m);
  });

  test("--json prints one parseable document with the summary, and the verdict line on stderr", () => {
    const { code, stdout, stderr } = runs.devJson;
    assert.equal(code, 3, stderr);
    assert.equal(
      stderr,
      "check: Pulumi.dev.yaml: 4 problems: not deployable (compartmentId placeholder, tenancyId placeholder, ocirUsername unset, ocirAuthToken unset)\n",
    );
    const report = JSON.parse(stdout) as {
      ok: boolean;
      deployable: boolean;
      errors: unknown[];
      missingInputs: { key: string }[];
      assumptions: string[];
      summary: {
        perGpuGiB: { kvCache: number; weights: number };
        kvCacheKiBPerToken: number;
        kvCache: { tokens: number; fullLengthSequences: number; sequenceTokens: number };
      };
    };
    assert.equal(report.ok, true, "the configuration is valid");
    assert.equal(report.deployable, false, "but pulumi up refuses it");
    assert.deepEqual(report.errors, []);
    // The committed dev stack builds its engine: check judges a cache miss, and says so.
    assert.deepEqual(report.missingInputs.map((m) => m.key).sort(), ["ocirAuthToken", "ocirUsername"]);
    assert.match(report.assumptions.join("\n"), /as if the engine cache missed/);
    assert.equal(report.summary.kvCacheKiBPerToken, 8);
    assert.equal(report.summary.perGpuGiB.kvCache, 6.03);
    assert.equal(report.summary.perGpuGiB.weights, 13.44);
    assert.equal(report.summary.kvCache.tokens, 791_005);
    assert.equal(report.summary.kvCache.fullLengthSequences, 386);
    assert.equal(report.summary.kvCache.sequenceTokens, 2048);
  });

  test("a bad file: exit 1, every error on stderr, one line per key", () => {
    const { code, stdout, stderr } = runs.broken;
    assert.equal(code, 1);
    assert.match(stderr, /Pulumi\.broken\.yaml: 4 error\(s\)/);
    const lines = stderr.split("\n").filter((line) => line.startsWith("error: "));
    assert.equal(lines.length, 4, stderr);
    assert.match(stderr, /^error: compartmentId = "my-compartment": .*Fix: /m);
    assert.match(stderr, /^error: engine\.dtype = "fp32": .*Fix: use one of: float16, bfloat16/m);
    assert.match(stderr, /^error: engine\.maxBatchSise = 8: .*did you mean 'engine\.maxBatchSize'/m);
    assert.match(stderr, /^error: deployment\.httpPort = "port": /m);
    assert.equal(
      lastLine(stderr),
      "check: Pulumi.broken.yaml: 4 problems: invalid configuration (compartmentId, engine.dtype, engine.maxBatchSise, deployment.httpPort)",
    );
    assert.doesNotMatch(stdout, /deployable/);
  });

  test("the user's own OCIDs and secrets: exit 0, deployable, in text and JSON", () => {
    const { code, stdout, stderr } = runs.ready;
    assert.equal(code, 0, stdout + stderr);
    assert.doesNotMatch(stdout, /^note /m);
    assert.equal(lastLine(stdout), "check: Pulumi.ready.yaml: 0 problems: deployable");
    const json = runs.readyJson;
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { deployable: boolean }).deployable, true);
    assert.equal(json.stderr, "check: Pulumi.ready.yaml: 0 problems: deployable\n");
  });

  test("prod as committed deploys from a machine with no engine or model folder, pinned to a commit", () => {
    const { code, stdout, stderr } = runs.prod;
    assert.equal(code, 0, stdout + stderr);
    assert.equal(lastLine(stdout), "check: Pulumi.prod.yaml: 0 problems: deployable");
    assert.doesNotMatch(stdout, /model\.revision/, "no moving-branch warning");
    assert.match(stdout, /^assumed: a build/m, "a cache miss builds the engine");
  });

  test("engine and model folders that are not on this machine: exit 3, naming each", () => {
    const { code, stdout, stderr } = runs.folders;
    assert.equal(code, 3, stdout + stderr);
    assert.equal(
      lastLine(stdout),
      "check: Pulumi.folders.yaml: 2 problems: not deployable (engine.prebuiltDir absent, model.localDir absent)",
    );
  });

  test("a secret in plain text is warned about, without printing it", () => {
    const { stdout, stderr } = runs.broken;
    assert.match(
      stdout,
      /^warning: ocirAuthToken is stored in plain text .*pulumi config set --secret ocirAuthToken/m,
    );
    assert.ok(!(stdout + stderr).includes(PLAINTEXT_TOKEN), "the plain-text token was printed");
  });

  test("rule errors with --json: exit 1 and every error as data", () => {
    const { code, stdout } = runs.rulesJson;
    assert.equal(code, 1);
    const report = JSON.parse(stdout) as { ok: boolean; errors: { key: string }[]; summary?: unknown };
    assert.equal(report.ok, false);
    assert.equal(report.summary, undefined);
    assert.deepEqual(report.errors.map((error) => error.key).sort(), [
      "deployment.environment.TENANCY_OCID",
      "deployment.httpPort",
      "engine.quantization",
    ]);
  });

  test("a missing stack file: exit 2, naming the file and how to create it", () => {
    const { code, stderr } = runs.missingFile;
    assert.equal(code, 2);
    assert.match(stderr, /Pulumi\.staging\.yaml does not exist/);
    assert.match(stderr, /pulumi stack init staging/);
  });

  test("no --stack: exit 2 with the usage line", () => {
    const { code, stderr } = runs.missingStack;
    assert.equal(code, 2);
    assert.match(stderr, /usage: .*--stack <name>/);
  });

  // Found while writing these tests: parseArgs throws on an unknown option, so a mistyped flag ends
  // in a stack trace and exit 1, the code that means "the stack file has errors".
  test("a mistyped option is a usage error (exit 2), not a config error", () => {
    const { code, stderr } = runs.unknownOption;
    assert.equal(code, 2, stderr);
    assert.match(stderr, /--stak/);
  });

  test("--help prints the usage and options, exit 0", () => {
    const { code, stdout, stderr } = runs.help;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^usage: npm run -s check -- --stack <name>/);
    assert.match(stdout, /--json/);
  });

  test("a folder that is a file is an error; a misspelt namespace and oci: key are errors; absent folders are notes", () => {
    const { code, stdout, stderr } = runs.local;
    assert.equal(code, 1, stdout);
    assert.match(stderr, /^error: engine\.prebuiltDir = "\.\/engine\.tar": is a file/m);
    assert.match(
      stderr,
      /^error: triton-trtllm-oc:deployment = .*did you mean "triton-trtllm-oci:deployment"/m,
    );
    assert.match(stderr, /^error: oci:regoin = .*did you mean 'oci:region'/m);
    assert.match(stdout, /^note .*model\.localDir = "\.\/models\/nowhere": is not on this machine/m);
  });

  test("`config: hello` is one error about the file, exit 1, no errors about keys '0'..'4'", () => {
    const { code, stderr } = runs.hello;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /Pulumi\.hello\.yaml: 'config' must be a map/);
    assert.doesNotMatch(stderr, /^error: 0 /m);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  });

  test("a YAML syntax error names the file, exit 1, no stack trace", () => {
    const { code, stderr } = runs.yamlError;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /Pulumi\.yamlerror\.yaml is not valid YAML/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});

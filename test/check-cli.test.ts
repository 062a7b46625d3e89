// The offline `check` command, run as a process against stack files in a temporary project folder.
// Every run starts at once in `before` (each tsx start costs about a second), and the tests read
// the results.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
    .replace("oncall@example.com", "oncall@ops.acme.io")
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
    assert.match(
      stderr,
      /^error: engine\.dtype = "fp32": .*\(float16, bfloat16\)\. Fix: use one of float16, bfloat16: /m,
    );
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
      /^error: triton-trtllm-oc:deployment: is in namespace .*did you mean "triton-trtllm-oci:deployment"/m,
    );
    assert.match(
      stderr,
      /^error: oci:regoin: is not a setting of the OCI provider.*did you mean 'oci:region'/m,
    );
    assert.doesNotMatch(stderr, /oci:regoin = /, "the key's own name is not shown as its value");
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

// --- check --online ---------------------------------------------------------------------------------

/** `check` with environment variables of its own (HF_ENDPOINT, HF_TOKEN), as a user runs it. */
function checkWith(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  return runCli("cli/check.ts", args, { HF_TOKEN: "", HF_ENDPOINT: "", ...env });
}

const HUB_TOKEN = "hf_standInToken91";
const QWEN_REVISION = "a09a35458c702b33eeacc393d103063234e8bc28";
const LLAMA_REVISION = "0e9e39f249a16976918f6564b8830bc894c89659";
const hubFixture = (name: string) =>
  readFileSync(path.join(PROJECT_DIR, "test", "fixtures", "hub-configs", `${name}.json`), "utf8");

/**
 * A stand-in for the Hub's file endpoint, `/<repo id>/resolve/<revision>/<file>` (huggingface_hub
 * v0.30.2 constants.py:67): config.json of the repositories below at their revisions; a refusal
 * carries the X-Error-Code header huggingface_hub reads (utils/_http.py:411-448): RevisionNotFound
 * for a revision it does not have, GatedRepo (401) for the gated one unless the request carries its
 * token as `authorization: Bearer <token>` (utils/_headers.py:137), RepoNotFound (401) otherwise.
 */
function standInHub(): Server {
  const repositories: Record<string, { revisions: Record<string, string>; gated?: boolean }> = {
    "tiiuae/falcon-7b-instruct": { revisions: { main: hubFixture("tiiuae--falcon-7b-instruct") } },
    "Qwen/Qwen2.5-7B-Instruct": { revisions: { [QWEN_REVISION]: hubFixture("Qwen--Qwen2.5-7B-Instruct") } },
    "meta-llama/Llama-3.1-8B-Instruct": {
      revisions: { [LLAMA_REVISION]: hubFixture("meta-llama--Llama-3.1-8B-Instruct") },
      gated: true,
    },
  };
  return createServer((request, response) => {
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/config\.json$/.exec(request.url ?? "");
    const refuse = (status: number, code: string) => {
      response.writeHead(status, { "content-type": "application/json", "x-error-code": code });
      response.end(JSON.stringify({ error: code }));
    };
    const repository = match === null ? undefined : repositories[match[1]];
    if (match === null || repository === undefined) return refuse(401, "RepoNotFound");
    if (repository.gated && request.headers.authorization !== `Bearer ${HUB_TOKEN}`)
      return refuse(401, "GatedRepo");
    const body = repository.revisions[decodeURIComponent(match[2])];
    if (body === undefined) return refuse(404, "RevisionNotFound");
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  });
}

// Issue 27's example: Qwen2.5-7B-Instruct with its own sizes declared as family llama. Valid and
// deployable offline; only its config.json tells that no converter here builds it.
const QWEN_STACK = `config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:model:
    huggingFaceId: Qwen/Qwen2.5-7B-Instruct
    revision: ${QWEN_REVISION}
    architecture:
      family: llama
      layers: 28
      hiddenSize: 3584
      queryHeads: 28
      kvHeads: 4
      intermediateSize: 18944
      vocabSize: 152064
      contextLength: 32768
      parameterCount: 7615616512
      eosTokenId: 151645
      padTokenId: 151643
  triton-trtllm-oci:engine:
    tensorParallel: 2
  triton-trtllm-oci:deployment:
    shape: VM.GPU.A10.2
`;

// The gated Llama 3.1 from the catalogue, its hfToken set.
const LLAMA_STACK = `config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:model:
    huggingFaceId: meta-llama/Llama-3.1-8B-Instruct
    revision: ${LLAMA_REVISION}
  triton-trtllm-oci:engine:
    tensorParallel: 2
  triton-trtllm-oci:deployment:
    shape: VM.GPU.A10.2
  triton-trtllm-oci:hfToken:
    secure: v1:c3RhbmQtaW4=:aGY=
`;

describe("check --online: the model's config.json on the Hub against the stack", () => {
  let dir = "";
  const hub = standInHub();
  const runs: Record<string, CliRun> = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "check-online-"));
    await new Promise<void>((resolve) => hub.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    const dev = await readFile(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8");
    await writeFile(path.join(dir, "Pulumi.ready.yaml"), withOwnValues(dev));
    await writeFile(path.join(dir, "Pulumi.qwen.yaml"), withOwnValues(QWEN_STACK));
    await writeFile(path.join(dir, "Pulumi.llama.yaml"), withOwnValues(LLAMA_STACK));
    // Falcon-7B declared by hand with 32 query heads: config.json says 71.
    await writeFile(
      path.join(dir, "Pulumi.heads.yaml"),
      withOwnValues(dev).replace(
        "    revision: main\n",
        "    revision: main\n    architecture: { family: falcon, layers: 32, hiddenSize: 4544, queryHeads: 32, kvHeads: 1, intermediateSize: 18176, vocabSize: 65024, contextLength: 2048, parameterCount: 7217189760, eosTokenId: 11, padTokenId: 11 }\n",
      ),
    );
    await writeFile(
      path.join(dir, "Pulumi.badrev.yaml"),
      withOwnValues(dev).replace("    revision: main\n", `    revision: "${"0".repeat(40)}"\n`),
    );
    const online = { HF_ENDPOINT: endpoint };
    const commands: Record<string, [string[], Record<string, string>]> = {
      readyOffline: [["--stack", "ready", "--dir", dir], online],
      ready: [["--stack", "ready", "--dir", dir, "--online"], online],
      readyJson: [["--stack", "ready", "--dir", dir, "--online", "--json"], online],
      qwenOffline: [["--stack", "qwen", "--dir", dir], online],
      qwen: [["--stack", "qwen", "--dir", dir, "--online"], online],
      qwenJson: [["--stack", "qwen", "--dir", dir, "--online", "--json"], online],
      heads: [["--stack", "heads", "--dir", dir, "--online"], online],
      badrev: [["--stack", "badrev", "--dir", dir, "--online"], online],
      llamaToken: [["--stack", "llama", "--dir", dir, "--online"], { ...online, HF_TOKEN: HUB_TOKEN }],
      llamaNoToken: [["--stack", "llama", "--dir", dir, "--online"], online],
      // A port nothing listens on once the stand-in is closed: found by listening and closing.
      unreachable: [["--stack", "ready", "--dir", dir, "--online"], { HF_ENDPOINT: await closedEndpoint() }],
    };
    const results = await Promise.all(Object.values(commands).map(([args, env]) => checkWith(args, env)));
    Object.keys(commands).forEach((name, i) => (runs[name] = results[i]));
  });

  after(async () => {
    await new Promise((resolve) => hub.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("offline, the model is reported unverified and the verdict stands", () => {
    const { code, stdout } = runs.readyOffline;
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      /^unverified: model tiiuae\/falcon-7b-instruct at main was not compared with its config\.json: offline; --online reads it from the Hub/m,
    );
    // Issue 27: offline, Qwen declared as llama passes.
    assert.equal(runs.qwenOffline.code, 0, runs.qwenOffline.stdout);
  });

  test("a model that is what the stack declares: exit 0, the fields compared on one line", () => {
    const { code, stdout, stderr } = runs.ready;
    assert.equal(code, 0, stdout + stderr);
    assert.match(
      stdout,
      /^model: tiiuae\/falcon-7b-instruct at main matches its config\.json on the Hub \(architectures FalconForCausalLM, model_type falcon, hidden_size 4544, num_attention_heads 71, num_hidden_layers 32\)$/m,
    );
    assert.equal(lastLine(stdout), "check: Pulumi.ready.yaml: 0 problems: deployable");
    const report = JSON.parse(runs.readyJson.stdout) as { hub: { status: string; url: string } };
    assert.equal(report.hub.status, "matches");
    assert.match(report.hub.url, /\/tiiuae\/falcon-7b-instruct\/resolve\/main\/config\.json$/);
  });

  test("Qwen declared as llama: exit 1 at check, naming model.architecture.family and why no family fits", () => {
    const { code, stderr } = runs.qwen;
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^error: model\.architecture\.family = "llama": Qwen\/Qwen2\.5-7B-Instruct at a09a3\w+ is another model: its config\.json on the Hub has architectures = "Qwen2ForCausalLM" \(the stack says "LlamaForCausalLM" or "MistralForCausalLM"\); model_type = "qwen2" \(the stack says "llama" or "mistral"\) .*Fix: no TensorRT-LLM converter this project runs builds it/m,
    );
    assert.equal(
      lastLine(stderr),
      "check: Pulumi.qwen.yaml: 1 problem: invalid configuration (model.architecture.family)",
    );
    const report = JSON.parse(runs.qwenJson.stdout) as {
      ok: boolean;
      errors: { key: string }[];
      hub: { status: string; mismatches: { field: string; found: unknown }[] };
    };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((error) => error.key),
      ["model.architecture.family"],
    );
    assert.equal(report.hub.status, "mismatch");
    assert.deepEqual(
      report.hub.mismatches.map((mismatch) => [mismatch.field, mismatch.found]),
      [
        ["architectures", "Qwen2ForCausalLM"],
        ["model_type", "qwen2"],
      ],
    );
  });

  test("a declared size the model does not have: exit 1, the key and the value config.json holds", () => {
    const { code, stderr } = runs.heads;
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^error: model\.architecture\.queryHeads = 32: .*num_attention_heads = 71 \(the stack says 32\).*Fix: pulumi config set --path model\.architecture\.queryHeads 71 \(from config\.json's num_attention_heads\)$/m,
    );
  });

  test("a revision the repository does not have: exit 1 on model.revision", () => {
    const { code, stderr } = runs.badrev;
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /^error: model\.revision = "0{40}": is not a revision of tiiuae\/falcon-7b-instruct on the Hub \(HTTP 404\)/m,
    );
  });

  test("a gated model is read with HF_TOKEN; without it, it stays unverified and the verdict stands", () => {
    const withToken = runs.llamaToken;
    assert.equal(withToken.code, 0, withToken.stdout + withToken.stderr);
    assert.match(
      withToken.stdout,
      /^model: meta-llama\/Llama-3\.1-8B-Instruct at \w+ matches its config\.json on the Hub/m,
    );
    const without = runs.llamaNoToken;
    assert.equal(without.code, 0, without.stdout + without.stderr);
    assert.match(
      without.stdout,
      /^unverified: model meta-llama\/Llama-3\.1-8B-Instruct at \w+ was not compared with its config\.json: meta-llama\/Llama-3\.1-8B-Instruct is gated and the Hub refused a request without a token \(HF_TOKEN\) \(HTTP 401\)/m,
    );
    assert.ok(!(withToken.stdout + withToken.stderr).includes(HUB_TOKEN), "the token was printed");
  });

  test("a Hub out of reach leaves the model unverified, saying so, and the verdict as it was", () => {
    const { code, stdout } = runs.unreachable;
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      /^unverified: model tiiuae\/falcon-7b-instruct at main was not compared with its config\.json: could not reach http:\/\/127\.0\.0\.1:\d+\//m,
    );
  });
});

/** An address on this machine where nothing listens. */
async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

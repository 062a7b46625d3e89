// `npm run render`: the CLI run as a child process, on the committed dev stack and on stack files
// written for the test into a temporary project folder.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

import { modelRepositorySpec, renderModelRepository } from "../components/model-repository";
import { COMPARTMENT_ID, TENANCY_ID, validConfig } from "./support/stack-fixtures";

const REPO_ROOT = path.resolve(__dirname, "..");
const scratch = mkdtempSync(path.join(tmpdir(), "render-cli-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function runRender(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "cli/render.ts", ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, INIT_CWD: undefined, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeStack(name: string, body: string): string {
  const dir = mkdtempSync(path.join(scratch, "project-"));
  writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), body);
  return dir;
}

const STACK = `config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:model:
    huggingFaceId: tiiuae/falcon-7b-instruct
    localDir: ./models/falcon-7b-instruct
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/falcon
    maxBatchSize: 16
  triton-trtllm-oci:deployment:
    streaming: true
  triton-trtllm-oci:serving:
    repositoryFolder: models
`;

describe("render CLI", () => {
  test("the dev stack renders the repository into <out>/<repositoryFolder>", () => {
    const out = path.join(scratch, "dev");
    const result = runRender(["--stack", "dev", "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    const folder = validConfig().serving.repositoryFolder;
    const root = path.join(out, folder);
    for (const file of [
      "ensemble/config.pbtxt",
      "preprocessing/config.pbtxt",
      "preprocessing/1/model.py",
      "postprocessing/config.pbtxt",
      "postprocessing/1/model.py",
      "tensorrt_llm/config.pbtxt",
    ]) {
      const target = path.join(root, file);
      assert.ok(statSync(target).isFile(), `${file} missing`);
      assert.equal(statSync(target).mode & 0o777, 0o644, file);
      assert.ok(result.stdout.includes(`wrote ${target}\n`), `${file} not reported`);
    }
    for (const folderName of ["ensemble/1", "tensorrt_llm/1"]) {
      assert.deepEqual(readdirSync(path.join(root, folderName)), [], `${folderName} must exist and be empty`);
    }
    assert.equal(existsSync(path.join(root, "tokenizer")), false, "tokenizer files are the packer's");
    assert.match(result.stdout, /put the engine \(rank<N>\.engine, config\.json\) in .*tensorrt_llm\/1\//);
    assert.match(result.stdout, /tokenizer files in .*\/tokenizer\//);
  });

  test("the files on disk are exactly the renderer's output for that stack", () => {
    const dir = writeStack("probe", STACK);
    const out = path.join(scratch, "probe");
    const result = runRender(["--stack", "probe", "--dir", dir, "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    const expected = renderModelRepository(
      modelRepositorySpec(
        validConfig({
          "engine.maxBatchSize": 16,
          "deployment.streaming": true,
          "serving.repositoryFolder": "models",
        }),
      ),
    );
    for (const entry of expected) {
      const target = path.join(out, entry.path);
      if (entry.kind === "file") assert.equal(readFileSync(target, "utf8"), entry.contents, entry.path);
      else assert.ok(statSync(target).isDirectory(), entry.path);
    }
    const ensemble = readFileSync(path.join(out, "models/ensemble/config.pbtxt"), "utf8");
    assert.match(ensemble, /max_batch_size: 16\n/);
    assert.match(ensemble, /decoupled: true\n/);
  });

  test("a stack with errors exits 1 and names each bad key on stderr", () => {
    const dir = writeStack(
      "bad",
      STACK.replace("maxBatchSize: 16", "maxBatchSize: 0").replace(
        "repositoryFolder: models",
        "repositoryFolder: a/b",
      ),
    );
    const out = path.join(scratch, "bad");
    const result = runRender(["--stack", "bad", "--dir", dir, "--out", out]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: engine\.maxBatchSize = 0: /m);
    assert.match(result.stderr, /^error: serving\.repositoryFolder = "a\/b": /m);
    assert.equal(existsSync(out), false, "nothing is written for a bad stack");
  });

  test("usage errors exit 2", () => {
    assert.equal(runRender(["--stack", "dev"]).code, 2);
    const missing = runRender(["--stack", "nope", "--dir", scratch, "--out", path.join(scratch, "x")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Pulumi\.nope\.yaml does not exist/);
  });

  // Found in a newcomer run: each of these printed a raw stack trace.
  test("a YAML error, --help, an unknown option, a missing --out value and an unwritable --out: clean messages, exit codes by kind", () => {
    const yamlDir = writeStack("yaml", "config:\n  oci:region: [us-ashburn-1\n");
    const yaml = runRender(["--stack", "yaml", "--dir", yamlDir, "--out", path.join(scratch, "y")]);
    assert.equal(yaml.code, 1);
    assert.match(yaml.stderr, /Pulumi\.yaml\.yaml is not valid YAML/);

    const help = runRender(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: npm run -s render -- --stack <name> --out <dir>/);

    const unknown = runRender(["--stack", "dev", "--ouput", "x"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--ouput/);

    const noValue = runRender(["--stack", "dev", "--out"]);
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /--out/);

    const dir = writeStack("ok", STACK);
    const blocker = path.join(scratch, "a-file");
    writeFileSync(blocker, "x");
    const unwritable = runRender(["--stack", "ok", "--dir", dir, "--out", path.join(blocker, "out")]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /cannot write .*a-file/);

    for (const run of [yaml, help, unknown, noValue, unwritable]) {
      assert.doesNotMatch(run.stderr, /\n\s+at /, run.stderr);
    }
  });

  // Found in a newcomer run: Node's recursive mkdir looped forever under /proc, which refuses new
  // entries with ENOENT; the render never ended.
  test(
    "an --out under a folder that refuses new entries with ENOENT fails at once",
    { skip: process.platform !== "linux" },
    () => {
      const dir = writeStack("proc", STACK);
      const result = runRender(["--stack", "proc", "--dir", dir, "--out", "/proc/triton-trtllm-oci/out"]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /cannot write \/proc\/triton-trtllm-oci \(ENOENT\): choose an --out folder/,
      );
    },
  );

  test("a relative --out is taken from the folder npm was run in (INIT_CWD), not the project root", () => {
    const dir = writeStack("rel", STACK);
    const userDir = mkdtempSync(path.join(scratch, "user-"));
    const result = runRender(["--stack", "rel", "--dir", dir, "--out", "rendered"], { INIT_CWD: userDir });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(path.join(userDir, "rendered", "models", "ensemble", "config.pbtxt")));
    assert.equal(existsSync(path.join(REPO_ROOT, "rendered")), false);
  });
});

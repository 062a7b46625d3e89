// `npm run package-artifact`: the CLI run as a child process on model repositories written for the test.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

const REPO_ROOT = path.resolve(__dirname, "..");
const scratch = mkdtempSync(path.join(os.tmpdir(), "package-artifact-cli-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

const REPOSITORY: Record<string, string> = {
  "ensemble/config.pbtxt": 'name: "ensemble"\n',
  "ensemble/1/.keep": "",
  "preprocessing/config.pbtxt": 'name: "preprocessing"\n',
  "preprocessing/1/model.py": "class TritonPythonModel:\n    pass\n",
  "postprocessing/config.pbtxt": 'name: "postprocessing"\n',
  "postprocessing/1/model.py": "class TritonPythonModel:\n    pass\n",
  "tensorrt_llm/config.pbtxt": 'name: "tensorrt_llm"\n',
  "tensorrt_llm/1/rank0.engine": "engine bytes",
  "tensorrt_llm/1/config.json": "{}",
  "tokenizer/tokenizer.json": "{}",
};

function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function writeRepository(root: string, files: Record<string, string> = REPOSITORY): string {
  for (const [rel, contents] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), contents);
  }
  return root;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(REPO_ROOT, "cli", "package-artifact.ts"), ...args],
    {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, INIT_CWD: undefined, ...env },
    },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("package-artifact CLI", () => {
  test("prints one JSON line describing the zip, named after the repository folder", () => {
    const repo = writeRepository(path.join(freshDir("cli"), "model_repository"));
    const outPath = path.join(freshDir("out"), "artifact.zip");
    const run = runCli([repo, outPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.split("\n").filter((line) => line !== "");
    assert.equal(lines.length, 1);
    const printed = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(printed), ["sha256", "bytes", "entries"]);
    assert.equal(printed.sha256, createHash("sha256").update(readFileSync(outPath)).digest("hex"));
    assert.equal(printed.bytes, statSync(outPath).size);
  });

  test("an incomplete repository: exit 1 with the message, no stack trace, nothing written", () => {
    const repo = writeRepository(path.join(freshDir("cli"), "repo"), { "ensemble/config.pbtxt": "x" });
    const outDir = freshDir("out");
    const run = runCli([repo, path.join(outDir, "artifact.zip")]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /not a complete model artifact[\s\S]*missing engine in repo\/tensorrt_llm\/1\//);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(outDir), []);
  });

  // Found in a newcomer run: a missing argument exited 1, the code for a bad repository.
  test("usage mistakes exit 2 with the usage line; --help exits 0", () => {
    for (const args of [["only-one"], ["a", "b", "c"], ["--level", "9", "a", "b"]]) {
      const run = runCli(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /usage: npm run -s package-artifact -- <modelRepoDir> <out\.zip>/);
    }
    const help = runCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: npm run -s package-artifact/);
  });

  // Found in a newcomer run: relative paths resolved from the project root npm runs scripts in.
  test("relative paths are taken from the folder npm was run in (INIT_CWD)", () => {
    const userDir = freshDir("user");
    writeRepository(path.join(userDir, "model_repository"));
    const run = runCli(["model_repository", "artifact.zip"], { INIT_CWD: userDir });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(statSync(path.join(userDir, "artifact.zip")).size > 0);
    assert.deepEqual(
      readdirSync(REPO_ROOT).filter((name) => name === "artifact.zip"),
      [],
    );
  });

  test("a missing repository folder is named, exit 1", () => {
    const run = runCli([path.join(scratch, "nope"), path.join(freshDir("out"), "a.zip")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /source dir .*nope does not exist/);
  });
});

// .ci/run on machines it was not written on: as a user with sudo, as root, as a user without sudo,
// without apt-get, and with everything installed. `id`, `sudo`, `apt-get` and `npm` are stand-ins
// on PATH that record how they were called; the script itself runs for real, from a copy.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { scratchDir } from "./support/scratch";

const SCRIPT = path.resolve(__dirname, "..", ".ci", "run");
const INSTALLED = ["unzip", "zip", "shellcheck", "jq", "cloud-init"];

interface Machine {
  readonly uid: number;
  readonly sudo: boolean;
  readonly aptGet: boolean;
  /** Whether the test tools are already there. */
  readonly installed: boolean;
}

function runOn(machine: Machine): { code: number | null; stderr: string; calls: string[] } {
  const root = scratchDir("ci-run-");
  const project = path.join(root, "project");
  const bin = path.join(root, "bin");
  const log = path.join(root, "calls.log");
  mkdirSync(path.join(project, ".ci"), { recursive: true });
  mkdirSync(bin);
  copyFileSync(SCRIPT, path.join(project, ".ci", "run"));
  const tool = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  const record = (name: string) => `echo "${name} $*" >> ${JSON.stringify(log)}`;
  // Only what the script needs from the real system: bash itself, dirname, env.
  for (const real of ["bash", "dirname", "env"]) symlinkSync(`/usr/bin/${real}`, path.join(bin, real));
  tool("id", `[ "$1" = -u ] && echo ${machine.uid}`);
  if (machine.sudo) tool("sudo", `${record("sudo")}\nexec "$@"`);
  if (machine.aptGet) tool("apt-get", record("apt-get"));
  tool("npm", record("npm"));
  tool("python", machine.installed ? "exit 0" : "exit 1");
  if (machine.installed) for (const name of INSTALLED) tool(name, "exit 0");
  const run = spawnSync("/usr/bin/bash", [path.join(project, ".ci", "run")], {
    env: { PATH: bin, PYTHON: path.join(bin, "python"), HOME: root },
    encoding: "utf8",
  });
  const calls = (() => {
    try {
      return readFileSync(log, "utf8").trim().split("\n");
    } catch {
      return [];
    }
  })();
  return { code: run.status, stderr: run.stderr, calls };
}

const PACKAGES = "unzip zip shellcheck jq cloud-init python3-numpy python3-pytest";

describe(".ci/run", () => {
  test("a user with sudo installs through sudo, then runs npm ci and npm test", () => {
    const run = runOn({ uid: 1000, sudo: true, aptGet: true, installed: false });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.calls, [
      "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
      "apt-get update -qq",
      `sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${PACKAGES}`,
      `apt-get install -y -qq ${PACKAGES}`,
      "npm ci --no-audit --no-fund",
      "npm test",
    ]);
  });

  test("root installs without sudo", () => {
    const run = runOn({ uid: 0, sudo: false, aptGet: true, installed: false });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.calls, [
      "apt-get update -qq",
      `apt-get install -y -qq ${PACKAGES}`,
      "npm ci --no-audit --no-fund",
      "npm test",
    ]);
  });

  test("a user without sudo is told what to install, and nothing runs", () => {
    const run = runOn({ uid: 1000, sudo: false, aptGet: true, installed: false });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /not root and no sudo/);
    assert.match(run.stderr, new RegExp(`apt-get install -y ${PACKAGES}`));
    assert.deepEqual(run.calls, []);
  });

  test("a machine without apt-get is told what to install", () => {
    const run = runOn({ uid: 1000, sudo: true, aptGet: false, installed: false });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no apt-get on this machine/);
    assert.match(run.stderr, new RegExp(PACKAGES));
    assert.deepEqual(run.calls, []);
  });

  test("with the tools already installed, apt is not touched and no root is needed", () => {
    const run = runOn({ uid: 1000, sudo: false, aptGet: false, installed: true });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.calls, ["npm ci --no-audit --no-fund", "npm test"]);
  });
});

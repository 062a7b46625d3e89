// The command `pulumi up` runs on the build host before anything else: `cloud-init status --wait`'s
// exit codes (0 done, 1 critical failure, 2 done with recoverable errors: cloud-init's `status` reference) against a
// stand-in `cloud-init` and `sudo` on PATH, with the completion marker present or not.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";

import {
  CLOUD_INIT_WAIT_COMMAND,
  cloudInitWaitCommand,
  HOST_READY_MARKER,
} from "../components/build/host-plan";

const PROJECT_DIR = path.resolve(__dirname, "..");

function host(exitCode: number, markerPresent: boolean) {
  const dir = mkdtempSync(path.join(tmpdir(), "cloud-init-wait-"));
  const bin = path.join(dir, "bin");
  const marker = path.join(dir, "host-ready");
  const log = path.join(dir, "cloud-init-output.log");
  mkdirSync(bin);
  // The stand-in records how it was called, then exits as cloud-init would.
  writeFileSync(
    path.join(bin, "cloud-init"),
    `#!/bin/sh\necho "$*" >> ${JSON.stringify(path.join(dir, "calls"))}\nexit ${exitCode}\n`,
  );
  writeFileSync(path.join(bin, "sudo"), '#!/bin/sh\nexec "$@"\n');
  for (const name of ["cloud-init", "sudo"]) chmodSync(path.join(bin, name), 0o755);
  writeFileSync(log, "line 1\nW: deprecated key in user data\nlast line of the setup log\n");
  if (markerPresent) writeFileSync(marker, "2026-12-03T08:00:00Z\n");
  const result = spawnSync("sh", ["-c", cloudInitWaitCommand({ marker, log })], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
  });
  const calls = readFileSync(path.join(dir, "calls"), "utf8");
  return { status: result.status, stderr: result.stderr, stdout: result.stdout, calls };
}

describe("waiting for cloud-init on the build host", () => {
  test("exit 0: done, quietly", () => {
    const run = host(0, true);
    assert.equal(run.status, 0);
    assert.equal(run.stderr, "");
    assert.equal(run.calls.trim(), "status --wait");
  });

  test("exit 2 with our completion marker: recoverable warnings, the setup finished, success", () => {
    const run = host(2, true);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /recoverable errors \(exit 2\); the setup completed/);
    assert.doesNotMatch(run.stderr, /last line of the setup log/);
  });

  test("exit 2 without the marker: the setup did not finish, fail with the log tail", () => {
    const run = host(2, false);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cloud-init failed \(exit 2, and the setup never wrote .*host-ready\)/);
    assert.match(run.stderr, /last line of the setup log/);
  });

  test("exit 1 (critical failure) fails with the log tail, marker or not", () => {
    for (const marker of [false, true]) {
      const run = host(1, marker);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /cloud-init failed \(exit 1\)/);
      assert.match(run.stderr, /W: deprecated key in user data\nlast line of the setup log/);
    }
  });

  test("the command pulumi up runs checks the marker the setup writes as its last command", () => {
    assert.ok(CLOUD_INIT_WAIT_COMMAND.includes(`sudo test -f '${HOST_READY_MARKER}'`));
    const userData = readFileSync(path.join(PROJECT_DIR, "engine-build", "cloud-init.yaml"), "utf8");
    const script = userData.slice(0, userData.indexOf("runcmd:"));
    const commands = script
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("say "));
    assert.ok(commands.at(-1)?.endsWith(`>${HOST_READY_MARKER}`), commands.at(-1));
  });
});

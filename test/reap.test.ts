import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expiry, reapMain } from "../operations/reap";
import { automationBackend, pulumiFailure } from "../operations/stacks";
import { captureIo } from "./support/capture-io";
import { scratchDir } from "./support/scratch";
import { FakeStacks, type FakeStacksOptions } from "./support/fake-stacks";

const NOW = new Date("2026-03-01T12:00:00Z");

const STACKS: FakeStacksOptions["stacks"] = {
  "eval-a10": { expiresAt: "2026-03-01T11:59:59Z", estimatedUsdPerHour: 2, predictUrl: "https://x/predict" },
  "eval-h100": { expiresAt: "2026-02-28T08:00:00Z", estimatedUsdPerHour: 80 },
  "eval-later": { expiresAt: "2026-03-01T12:00:01Z", estimatedUsdPerHour: 2 },
  prod: { estimatedUsdPerHour: 4, predictUrl: "https://x/predict" },
};

async function reap(argv: string[], options: Partial<FakeStacksOptions> = {}) {
  const stacks = new FakeStacks({ stacks: STACKS, ...options });
  const io = captureIo(process.cwd());
  const code = await reapMain(
    argv,
    io,
    () => stacks,
    () => NOW,
  );
  return { code, out: io.out(), err: io.err(), calls: stacks.calls };
}

describe("reap", () => {
  it("destroys expired stacks, keeps unexpired ones and never touches stacks without expiresAt", async () => {
    const run = await reap([]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(
      run.calls.filter((call) => call.startsWith("destroy")),
      ["destroy eval-a10", "destroy eval-h100"],
    );
    assert.match(run.out, /^destroyed {6}eval-a10: expired at 2026-03-01T11:59:59Z \(2 USD\/h\)$/m);
    assert.match(run.out, /^destroyed {6}eval-h100: expired at 2026-02-28T08:00:00Z \(80 USD\/h\)$/m);
    assert.match(run.out, /^kept {11}eval-later: expires at 2026-03-01T12:00:01Z$/m);
    assert.match(run.out, /^kept {11}prod: no expiresAt output \(no evaluation.ttlHours\): never reaped$/m);
    assert.match(run.out, /^destroyed 2 stack\(s\), stopping 82 USD\/h$/m);
  });

  it("--dry-run lists what would go and destroys nothing", async () => {
    const run = await reap(["--dry-run"]);
    assert.equal(run.code, 0);
    assert.equal(run.calls.filter((call) => call.startsWith("destroy")).length, 0);
    assert.match(run.out, /^would destroy {2}eval-a10: expired at .* \(2 USD\/h\)$/m);
    assert.match(run.out, /^dry run: 2 stack\(s\) would be destroyed, nothing was$/m);
  });

  it("--stacks limits the stacks considered to a glob", async () => {
    const run = await reap(["--stacks", "*-h100"]);
    assert.deepEqual(run.calls, ["list", "outputs eval-h100", "destroy eval-h100"]);
  });

  it("a destroy that fails exits 1 naming the stack still running and its cost", async () => {
    const run = await reap(["--stacks", "eval-a10"], { destroyFailures: 1 });
    assert.equal(run.code, 1);
    assert.match(
      run.out,
      /^destroy failed {1}eval-a10: expired at .*; error: the model deployment is being updated/m,
    );
    assert.equal(
      run.err,
      "error: eval-a10 is still running (2 USD/h). Fix: pulumi destroy --stack eval-a10\n",
    );
  });

  it("an unreadable or malformed expiresAt is left alone", () => {
    assert.deepEqual(expiry({ expiresAt: "next tuesday" }, NOW), {
      expired: false,
      reason: 'expiresAt "next tuesday" is not a date: left alone',
    });
    assert.equal(expiry({ expiresAt: 1 }, NOW).expired, false);
    assert.equal(
      expiry({ expiresAt: "2026-03-01T12:00:00Z" }, NOW).expired,
      true,
      "expiry at now has passed",
    );
  });

  it("usage mistakes exit 2; --help prints the usage and exits 0", async () => {
    const run = await reap(["--dryrun"]);
    assert.equal(run.code, 2);
    assert.match(run.err, /usage: npm run -s reap/);
    assert.deepEqual(run.calls, []);
    const help = await reap(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: npm run -s reap -- \[--dry-run\] \[--stacks <glob>\]/);
    assert.deepEqual(help.calls, []);
  });
});

describe("reap edge cases", () => {
  it("a stack whose outputs cannot be read is skipped, not destroyed", async () => {
    const stacks = new FakeStacks({ stacks: { broken: {} } });
    stacks.outputs = async () => {
      throw new Error("error: could not decrypt configuration value");
    };
    const io = captureIo(process.cwd());
    const code = await reapMain(
      [],
      io,
      () => stacks,
      () => NOW,
    );
    assert.equal(code, 0);
    assert.match(
      io.out(),
      /^skipped {8}broken: outputs unreadable: error: could not decrypt configuration value$/m,
    );
    assert.deepEqual(stacks.calls, ["list"]);
  });
});

describe("the Automation API backend", () => {
  it("without the Pulumi CLI, reap says to install it in one line", async () => {
    const path = process.env.PATH;
    process.env.PATH = scratchDir("no-pulumi-");
    try {
      const io = captureIo(process.cwd());
      const code = await reapMain(["--dry-run"], io, automationBackend);
      assert.equal(code, 1);
      assert.equal(
        io.err(),
        "error: pulumi stack ls failed: the Pulumi CLI is not installed or not on PATH (the Automation API runs it). Fix: install it, https://www.pulumi.com/docs/install/\n",
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it("a failed CLI run is reduced to its stderr", () => {
    const message =
      "code: 255\n stdout: \n stderr: error: no stack named 'dev' found\n\n err?: Error: Command failed with exit code 255\n";
    assert.equal(pulumiFailure(new Error(message)), "error: no stack named 'dev' found");
    assert.equal(pulumiFailure(new Error("plain")), "plain");
  });
});

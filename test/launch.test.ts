// Runs the Pulumi program the way `pulumi preview` starts it (language host arguments and environment,
// `@pulumi/pulumi/cmd/run`, Pulumi.yaml's nodeargs) against an in-process engine stand-in.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  assertDevStackGraph,
  DEV_SECRET_STAND_INS,
  DEV_STACK_NAME,
  devStackLaunchOptions,
  PROJECT,
  PROJECT_DIR,
  stackResource,
  STACK_TYPE,
} from "./support/dev-stack";
import {
  languageHostConfigEnv,
  launchProgram,
  readProject,
  ResourceReference,
  splitArgs,
  stackConfigToPulumiConfig,
  UNKNOWN,
  type LaunchResult,
} from "./support/pulumi-host";

// A cold start (tsx transform cache empty, two cores shared with another test file) takes seconds.
const LAUNCH_TIMEOUT_MS = 120_000;

function describeFailure(result: LaunchResult): string {
  const logs = result.logs
    .filter((l) => l.severity !== "debug")
    .map((l) => `  [${l.severity}] ${l.message}`)
    .join("\n");
  return `exit ${result.exitCode}\nlogs:\n${logs}\nstderr:\n${result.stderr}`;
}

describe("dev stack preview", { timeout: LAUNCH_TIMEOUT_MS * 2 }, () => {
  let result: LaunchResult;

  before(async () => {
    result = await launchProgram({ ...(await devStackLaunchOptions()), timeoutMs: LAUNCH_TIMEOUT_MS });
  });

  test("exits 0 without error logs", () => {
    assert.equal(result.timedOut, false);
    assert.equal(result.exitCode, 0, describeFailure(result));
    assert.deepEqual(
      result.logs.filter((l) => l.severity === "error"),
      [],
    );
  });

  test("registers the stack as the root resource, first, with its outputs", () => {
    const stack = stackResource(result);
    assert.ok(stack);
    assert.equal(stack.name, DEV_STACK_NAME);
    assert.equal(stack.parent, "");
    assert.equal(stack.custom, false);
    assert.equal(result.resources[0], stack);
    assert.equal(result.rootResourceUrn, stack.urn);
    assert.equal(stack.urn, `urn:pulumi:dev::${PROJECT}::${STACK_TYPE}::${DEV_STACK_NAME}`);
    assert.ok(result.shutdownSignalled, "the SDK signalled a clean shutdown");
  });

  test("registers the graph the dev stack requires", () => {
    assertDevStackGraph(result);
  });

  test("secret values never reach logs or console output", () => {
    // Debug severity is excluded: the SDK's own RPC trace prints whole RegisterResource responses,
    // secret envelopes included, as it would against the real engine; `pulumi up` shows it only
    // with --debug. Everything a user sees by default is checked.
    const shown = result.logs.filter((l) => l.severity !== "debug");
    const visible = JSON.stringify([shown, result.stdout, result.stderr]);
    for (const value of Object.values(DEV_SECRET_STAND_INS)) {
      assert.equal(visible.includes(value), false, `secret stand-in '${value}' leaked`);
    }
  });
});

describe("dev stack with invalid config", { timeout: LAUNCH_TIMEOUT_MS * 2 }, () => {
  test("a malformed compartmentId fails the run before any resource but the stack, naming the key", async () => {
    const options = await devStackLaunchOptions({ [`${PROJECT}:compartmentId`]: "not-an-ocid" });
    const result = await launchProgram({ ...options, timeoutMs: LAUNCH_TIMEOUT_MS });
    assert.equal(result.timedOut, false);
    assert.notEqual(result.exitCode, 0);
    const errors = result.logs.filter((l) => l.severity === "error").map((l) => l.message);
    const reported = [...errors, result.stderr].join("\n");
    assert.match(reported, /compartmentId/, describeFailure(result));
    assert.deepEqual(
      result.resources.map((r) => r.type),
      [STACK_TYPE],
    );
  });
});

// A throwaway project exercising what the stand-in records, independent of how far the real program has
// grown: options, secrets, unknowns, invokes, and how the launcher reproduces the language host.
const FIXTURE_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";

class Group extends pulumi.ComponentResource {
  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("fixture:index:Group", name, {}, opts);
    this.registerOutputs({ label: "group" });
  }
}

const config = new pulumi.Config();
const settings = config.requireObject<{ size: number; tags: string[] }>("settings");
const group = new Group("grp");
// "computed" is an output the stand-in does not echo, so in a preview it stays unknown, as it would for a
// value only the provider knows after create.
const first = new pulumi.CustomResource(
  "fixture:index:Thing",
  "first",
  { size: settings.size, computed: undefined },
  { parent: group },
) as pulumi.CustomResource & { computed: pulumi.Output<string> };
const second = new pulumi.CustomResource(
  "fixture:index:Thing",
  "second",
  {
    token: config.requireSecret("token"),
    tags: settings.tags,
    later: first.computed,
    upstream: first.id,
    peer: first,
  },
  {
    parent: group,
    protect: true,
    retainOnDelete: true,
    deleteBeforeReplace: true,
    ignoreChanges: ["tags"],
    customTimeouts: { create: "30m", delete: "5m" },
    dependsOn: [first],
  },
);

export const answer = pulumi.output(pulumi.runtime.invoke("fixture:index:lookup", { q: settings.size })).apply(
  (r) => r.answer,
);
export const secondId = second.id;
export const launch = {
  execArgv: process.execArgv,
  cwd: process.cwd(),
  typescriptEnv: process.env.PULUMI_NODEJS_TYPESCRIPT ?? null,
  dryRun: pulumi.runtime.isDryRun(),
  organization: pulumi.getOrganization(),
  project: pulumi.getProject(),
  stack: pulumi.getStack(),
};
`;

describe("engine stand-in and launcher", { timeout: LAUNCH_TIMEOUT_MS * 2 }, () => {
  let dir: string;
  let result: LaunchResult;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "launch-fixture-"));
    await symlink(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
    await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "fixture", private: true }));
    await writeFile(
      path.join(dir, "Pulumi.yaml"),
      "name: fixture\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n" +
        '    nodeargs: "--import tsx --stack-size=1500"\nmain: src/program.ts\n',
    );
    await mkdir(path.join(dir, "src"));
    await writeFile(path.join(dir, "src", "program.ts"), FIXTURE_PROGRAM);
    const { config, secretKeys } = stackConfigToPulumiConfig(
      "config:\n  fixture:settings:\n    tags: [a, b]\n    size: 3\n  fixture:token:\n    secure: v1:AAAA\n",
      { "fixture:token": "s3cret" },
    );
    result = await launchProgram({
      projectDir: dir,
      stack: "test",
      config,
      secretKeys,
      invokes: { "fixture:index:lookup": (args) => ({ answer: Number(args["q"]) * 14 }) },
      timeoutMs: LAUNCH_TIMEOUT_MS,
    });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("the program ran to completion", () => {
    assert.equal(result.exitCode, 0, describeFailure(result));
  });

  test("the child saw the language host's arguments, environment and working directory", () => {
    const stack = stackResource(result);
    const launch = stack?.outputs?.["launch"];
    assert.deepEqual(launch, {
      execArgv: ["--import", "tsx", "--stack-size=1500"],
      cwd: path.join(dir, "src"),
      typescriptEnv: null,
      dryRun: true,
      organization: "organization",
      project: "fixture",
      stack: "test",
    });
    assert.equal(result.command.args.at(-1), "program.ts");
  });

  test("URNs nest under the component's type and custom resources get a stable fake id", () => {
    const second = result.resources.find((r) => r.name === "second");
    assert.ok(second);
    assert.equal(second.urn, "urn:pulumi:test::fixture::fixture:index:Group$fixture:index:Thing::second");
    assert.equal(second.parent, "urn:pulumi:test::fixture::fixture:index:Group::grp");
    assert.match(second.id ?? "", /^fake-[0-9a-f]{16}$/);
    assert.equal(stackResource(result)?.outputs?.["secondId"], second.id);
  });

  test("resource options, secrets, unknowns and dependencies are recorded", () => {
    const first = result.resources.find((r) => r.name === "first");
    const second = result.resources.find((r) => r.name === "second");
    assert.ok(first && second);
    assert.deepEqual(first.inputs, { size: 3 });
    assert.equal(first.protect, undefined);
    assert.equal(second.protect, true);
    assert.equal(second.retainOnDelete, true);
    assert.equal(second.deleteBeforeReplace, true);
    assert.deepEqual(second.ignoreChanges, ["tags"]);
    assert.deepEqual(second.customTimeouts, { create: "30m", update: "", delete: "5m" });
    assert.deepEqual(second.dependencies, [first.urn]);
    assert.deepEqual(second.propertyDependencies["upstream"], [first.urn]);
    assert.deepEqual(second.inputs, {
      token: "s3cret",
      tags: ["a", "b"],
      later: UNKNOWN,
      upstream: first.id,
      peer: new ResourceReference(first.urn, first.id, ""),
    });
    assert.deepEqual(second.secretInputs, ["token"]);
  });

  test("invokes are recorded and answered from the canned handler", () => {
    assert.deepEqual(
      result.invokes.map((i) => [i.token, i.args]),
      [["fixture:index:lookup", { q: 3 }]],
    );
    assert.equal(stackResource(result)?.outputs?.["answer"], 42);
  });

  test("components register their outputs", () => {
    assert.deepEqual(result.resources.find((r) => r.name === "grp")?.outputs, { label: "group" });
  });

  test("timings are ordered", () => {
    const t = result.timings;
    assert.ok(t.firstRegisterAt !== undefined && t.lastRegisterAt !== undefined);
    assert.ok(t.spawnedAt < t.firstRegisterAt);
    assert.ok(t.firstRegisterAt <= t.lastRegisterAt);
    assert.ok(t.lastRegisterAt <= t.exitedAt);
  });
});

describe("config the CLI hands the language host", () => {
  test("scalars keep their YAML text, objects become JSON with sorted keys", () => {
    const { config, secretKeys } = stackConfigToPulumiConfig(
      'config:\n  p:ratio: 1.0\n  p:flag: true\n  p:name: "x"\n  p:empty:\n  p:obj:\n    z: 1\n    a: [true, {y: 2, b: 3}]\n',
    );
    assert.deepEqual(config, {
      "p:ratio": "1.0",
      "p:flag": "true",
      "p:name": "x",
      "p:empty": "",
      "p:obj": '{"a":[true,{"b":3,"y":2}],"z":1}',
    });
    assert.deepEqual(secretKeys, []);
  });

  test("secure values take stand-ins, at top level or inside objects, and mark the key secret", () => {
    const { config, secretKeys } = stackConfigToPulumiConfig(
      "config:\n  p:token:\n    secure: v1:abc\n  p:db:\n    host: h\n    password:\n      secure: v1:def\n",
      { "p:token": "t", "p:db.password": "pw", "p:extra": "e" },
    );
    assert.deepEqual(config, { "p:token": "t", "p:db": '{"host":"h","password":"pw"}', "p:extra": "e" });
    assert.deepEqual(secretKeys, ["p:db", "p:extra", "p:token"]);
  });

  test("a secure value without a stand-in is refused", () => {
    assert.throws(() => stackConfigToPulumiConfig("config:\n  p:token:\n    secure: v1:abc\n"), /p:token/);
  });

  test("keys are rewritten to the <namespace>:config:<name> form the language host uses", () => {
    assert.deepEqual(JSON.parse(languageHostConfigEnv({ "p:b": "2", "aws:region": "x", "p:a": "1" })), {
      "aws:config:region": "x",
      "p:config:a": "1",
      "p:config:b": "2",
    });
    assert.throws(() => languageHostConfigEnv({ bare: "1" }), /bare/);
  });

  test("nodeargs are split like a shell word list", () => {
    assert.deepEqual(splitArgs(` --import tsx  --title "a b" 'c d' e\\ f # comment`), [
      "--import",
      "tsx",
      "--title",
      "a b",
      "c d",
      "e f",
    ]);
  });

  test("the project's own runtime options are what the launcher uses", async () => {
    const project = await readProject(PROJECT_DIR);
    assert.equal(project.name, PROJECT);
    assert.equal(project.runtime, "nodejs");
    assert.equal(project.options.typescript, false);
    // The TypeScript loader the program starts under is a file of the project, and what it requires
    // is a runtime dependency, so `npm ci` on a machine that only runs `pulumi up` installs it.
    const args = splitArgs(project.options.nodeargs);
    const preload = args[args.findIndex((a) => a === "--require") + 1];
    assert.equal(preload, "./program/require-hook.cjs");
    const hook = ["./program/require-hook.cjs", "./program/typescript-transform.cjs"]
      .map((file) => readFileSync(path.join(PROJECT_DIR, file), "utf8"))
      .join("\n");
    const packages = [...hook.matchAll(/require\("([^"]+)"\)/g)]
      .map((match) => match[1])
      .filter((name) => !name.startsWith("node:") && !name.startsWith("./"))
      .map((name) => name.split("/")[0]);
    assert.deepEqual([...new Set(packages)].sort(), ["pirates", "sucrase"]);
    const manifest = JSON.parse(readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const name of packages) assert.ok(name in manifest.dependencies, `${name} is a runtime dependency`);
    assert.equal(project.programDirectory, PROJECT_DIR);
  });
});

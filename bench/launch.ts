// How long `pulumi preview` spends in the program for the dev stack: node start → graph registered
// (last RegisterResource / RegisterResourceOutputs) → exit, measured through the same language-host
// launcher and engine stand-in the launch test uses.
//
//   npm run bench:launch [-- --runs 5 --ts-runs 3]
//
// "Cold" gives every run a fresh TMPDIR (tsx and ts-node keep their transform caches there) and a fresh
// NODE_COMPILE_CACHE, as on a fresh CI runner; the OS file cache stays warm, which no unprivileged run
// can reset. "Warm" shares one cache directory, primed by an uncounted run. "Stack registered" is when
// the SDK has connected and registered the root resource, before the program module is loaded.

import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import {
  assertDevStackGraph,
  devStackLaunchOptions,
  devStackWorkspace,
  type DevStackWorkspace,
} from "../test/support/dev-stack";
import { launchProgram, type LaunchResult, type RuntimeOptions } from "../test/support/pulumi-host";

const GOALS_MS = { cold: 4000, warm: 2000 };

interface Variant {
  label: string;
  runtimeOptions?: Partial<RuntimeOptions>;
  env?: Record<string, string>;
  goalMs?: number;
  runs: number;
  cache: "cold" | "warm";
}

interface Sample {
  stackMs: number;
  graphMs: number;
  exitMs: number;
}

interface Outcome {
  variant: Variant;
  samples: Sample[];
  failures: string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

function seconds(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "-";
}

function failureOf(result: LaunchResult): string | undefined {
  if (result.exitCode !== 0) {
    const errors = result.logs.filter((l) => l.severity === "error").map((l) => l.message);
    const detail = [...errors, result.stderr].join("\n").trim().split("\n").slice(0, 6).join("\n    ");
    return `exit ${result.exitCode}${result.timedOut ? " (timed out)" : ""}:\n    ${detail}`;
  }
  try {
    assertDevStackGraph(result);
    return undefined;
  } catch (err) {
    return `graph incomplete: ${err instanceof Error ? err.message : String(err)}`;
  }
}

// A warm run is a second preview of the same stack on the same machine: compile caches and the
// packed-artifact cache are kept. A cold run starts from a fresh workspace, so it packs again.
async function runOnce(
  variant: Variant,
  cacheDir: string,
  workspace: DevStackWorkspace,
): Promise<LaunchResult> {
  const options = await devStackLaunchOptions({}, workspace);
  return launchProgram({
    ...options,
    runtimeOptions: variant.runtimeOptions,
    env: {
      ...options.env,
      ...variant.env,
      TMPDIR: cacheDir,
      NODE_COMPILE_CACHE: path.join(cacheDir, "node-compile-cache"),
    },
  });
}

async function measure(variant: Variant, scratch: string): Promise<Outcome> {
  const outcome: Outcome = { variant, samples: [], failures: [] };
  const shared = await mkdtemp(path.join(scratch, "warm-"));
  const sharedWorkspace = devStackWorkspace();
  if (variant.cache === "warm") {
    const priming = failureOf(await runOnce(variant, shared, sharedWorkspace));
    if (priming !== undefined) outcome.failures.push(`priming run: ${priming}`);
  }
  for (let i = 0; i < variant.runs; i += 1) {
    const cacheDir = variant.cache === "cold" ? await mkdtemp(path.join(scratch, "cold-")) : shared;
    const workspace = variant.cache === "cold" ? devStackWorkspace() : sharedWorkspace;
    const result = await runOnce(variant, cacheDir, workspace);
    const failure = failureOf(result);
    const t = result.timings;
    if (failure !== undefined || t.firstRegisterAt === undefined || t.lastRegisterAt === undefined) {
      outcome.failures.push(failure ?? "no resource registered");
    } else {
      outcome.samples.push({
        stackMs: t.firstRegisterAt - t.spawnedAt,
        graphMs: t.lastRegisterAt - t.spawnedAt,
        exitMs: t.exitedAt - t.spawnedAt,
      });
    }
    if (variant.cache === "cold") await rm(cacheDir, { recursive: true, force: true });
    process.stderr.write(".");
  }
  return outcome;
}

function report(outcomes: Outcome[]): void {
  const header = [
    "variant",
    "ok",
    "start→stack registered",
    "start→graph median / min",
    "start→exit median / min",
    "goal (exit median)",
  ];
  const rows = outcomes.map(({ variant, samples, failures }) => {
    const stack = samples.map((s) => s.stackMs);
    const graph = samples.map((s) => s.graphMs);
    const exit = samples.map((s) => s.exitMs);
    const exitMedian = median(exit);
    let goal = "-";
    if (variant.goalMs !== undefined) {
      const met = samples.length > 0 && failures.length === 0 && exitMedian <= variant.goalMs;
      goal = `≤ ${seconds(variant.goalMs)}: ${met ? "met" : "MISSED"}`;
    }
    return [
      variant.label,
      `${samples.length}/${samples.length + failures.length}`,
      seconds(median(stack)),
      `${seconds(median(graph))} / ${seconds(Math.min(...graph))}`,
      `${seconds(exitMedian)} / ${seconds(Math.min(...exit))}`,
      goal,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  for (const { variant, failures } of outcomes) {
    for (const failure of new Set(failures)) console.log(`\n${variant.label} failed: ${failure}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "5" }, "ts-runs": { type: "string", default: "3" } },
  });
  const runs = Number(values.runs);
  const tsRuns = Number(values["ts-runs"]);
  if (!(runs >= 1 && tsRuns >= 0)) throw new Error("--runs must be >= 1 and --ts-runs >= 0");

  // Pulumi's default for a TypeScript project: no nodeargs, the SDK registers ts-node (the project's,
  // or the vendored ts-node 7 with the project's TypeScript) and type-checks unless told not to.
  const tsNode = { typescript: true, nodeargs: "" };
  const variants: Variant[] = [
    { label: "Pulumi.yaml (tsx), cold", cache: "cold", runs, goalMs: GOALS_MS.cold },
    { label: "Pulumi.yaml (tsx), warm", cache: "warm", runs, goalMs: GOALS_MS.warm },
  ];
  if (tsRuns > 0) {
    variants.push(
      {
        label: "typescript: true (ts-node, type-check), cold",
        cache: "cold",
        runs: tsRuns,
        runtimeOptions: tsNode,
      },
      {
        label: "typescript: true (ts-node, type-check), warm",
        cache: "warm",
        runs: tsRuns,
        runtimeOptions: tsNode,
      },
      {
        label: "typescript: true + PULUMI_NODEJS_TRANSPILE_ONLY, cold",
        cache: "cold",
        runs: tsRuns,
        runtimeOptions: tsNode,
        env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
      },
    );
  }

  const scratch = await mkdtemp(path.join(tmpdir(), "launch-bench-"));
  const outcomes: Outcome[] = [];
  try {
    console.log(
      `dev stack preview through @pulumi/pulumi/cmd/run; node ${process.version}, ${cpus().length} CPUs; ` +
        `${runs} runs per tsx variant, ${tsRuns} per ts-node variant; load average ${loadavg()[0]?.toFixed(2)}`,
    );
    for (const variant of variants) outcomes.push(await measure(variant, scratch));
    process.stderr.write("\n");
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  report(outcomes);
  const load = loadavg()[0] ?? 0;
  if (load > cpus().length) {
    console.log(
      `\nload average ${load.toFixed(2)} > ${cpus().length} CPUs: other work shared the machine, figures are inflated`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

// How long `pulumi preview` spends in the program for the dev stack: node start → graph registered
// (last RegisterResource / RegisterResourceOutputs) → exit, measured through the same language-host
// launcher and engine stand-in the launch test uses. Beside it, the smallest @pulumi/oci program
// (bench/minimal-oci: one bucket) under the same runtime options: the ratio of the two medians is
// what the project's own code adds to a preview; the goal is at most RATIO_GOAL.
//
//   npm run bench:launch [-- --runs 5 --ts-runs 3]
//
// Exits 1 when a variant measured nothing (every run failed), so a broken program never passes as fast.
//
// "Cold" gives every run a fresh TMPDIR (the program's require hook, tsx and ts-node keep their
// transform caches there) and a fresh NODE_COMPILE_CACHE, as on a fresh CI runner; the OS file cache
// stays warm, which no unprivileged run can reset. "Warm" shares one cache directory, primed by an
// uncounted run. Both preview a workspace whose artifact an uncounted run has packed: packing is the
// first preview's work, not start-up, and is measured on its own ("first preview": a fresh workspace
// each run, cold caches), outside the ratio. "Stack registered" is when the SDK has connected and
// registered the root resource, before the program module is loaded.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

import {
  assertDevStackGraph,
  devStackLaunchOptions,
  devStackWorkspace,
  type DevStackWorkspace,
  PROJECT_DIR,
} from "../test/support/dev-stack";
import {
  launchProgram,
  type LaunchOptions,
  type LaunchResult,
  readProject,
  type RuntimeOptions,
} from "../test/support/pulumi-host";

const GOALS_MS = { cold: 4000, warm: 2000 };
/** The dev stack's preview against the minimal program's, exit medians, same runtime and cache. */
const RATIO_GOAL = 1.5;
const MINIMAL_PROGRAM_DIR = path.join(__dirname, "minimal-oci");
const CPU_USAGE_PRELOAD = path.join(__dirname, "cpu-usage.cjs");

interface Variant {
  label: string;
  program: "dev stack" | "minimal";
  runtimeOptions?: Partial<RuntimeOptions>;
  env?: Record<string, string>;
  goalMs?: number;
  runs: number;
  cache: "cold" | "warm";
  /** "packed": one workspace, packed by an uncounted run; "fresh": a new one per run, which packs. */
  workspace: "packed" | "fresh";
}

interface Sample {
  stackMs: number;
  graphMs: number;
  exitMs: number;
  /** CPU time of the program's process, user + system, all threads. */
  cpuMs: number;
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

function failureOf(variant: Variant, result: LaunchResult): string | undefined {
  if (result.exitCode !== 0) {
    const errors = result.logs.filter((l) => l.severity === "error").map((l) => l.message);
    const detail = [...errors, result.stderr].join("\n").trim().split("\n").slice(0, 6).join("\n    ");
    return `exit ${result.exitCode}${result.timedOut ? " (timed out)" : ""}:\n    ${detail}`;
  }
  try {
    if (variant.program === "minimal") {
      const buckets = result.resources.filter((r) => r.type === "oci:ObjectStorage/bucket:Bucket");
      if (buckets.length !== 1) throw new Error(`registered ${buckets.length} buckets, not 1`);
    } else {
      // The benchmark's stack has a hand-built engine (the workspace), so no engine build.
      assertDevStackGraph(result, { engineBuild: false });
    }
    return undefined;
  } catch (err) {
    return `graph incomplete: ${err instanceof Error ? err.message : String(err)}`;
  }
}

// A warm run is a second preview of the same stack on the same machine: compile and transform caches
// are kept. A cold run starts with empty ones. A fresh workspace packs its artifact again.
async function runOnce(
  variant: Variant,
  cacheDir: string,
  workspace: DevStackWorkspace,
): Promise<{ result: LaunchResult; cpuMs: number | undefined }> {
  const options: LaunchOptions =
    variant.program === "minimal"
      ? { projectDir: MINIMAL_PROGRAM_DIR, stack: "bench", config: {} }
      : await devStackLaunchOptions({}, workspace);
  const usageDir = await mkdtemp(path.join(tmpdir(), "launch-cpu-"));
  const usageFile = path.join(usageDir, "usage.json");
  try {
    const result = await launchProgram({
      ...options,
      runtimeOptions: variant.runtimeOptions,
      env: {
        ...options.env,
        ...variant.env,
        TMPDIR: cacheDir,
        NODE_COMPILE_CACHE: path.join(cacheDir, "node-compile-cache"),
        NODE_OPTIONS: `--require ${CPU_USAGE_PRELOAD}`,
        BENCH_CPU_USAGE_FILE: usageFile,
      },
    });
    const usage = JSON.parse(await readFile(usageFile, "utf8").catch(() => "null")) as {
      userUs: number;
      systemUs: number;
    } | null;
    return { result, cpuMs: usage === null ? undefined : (usage.userUs + usage.systemUs) / 1000 };
  } finally {
    await rm(usageDir, { recursive: true, force: true });
  }
}

// The variants of one group run in turns (one run of each, then the next round), so a change in the
// machine's load during the benchmark weighs on each of them alike and their ratio stays fair.
async function measure(variants: Variant[], scratch: string): Promise<Outcome[]> {
  const outcomes = variants.map((variant) => ({
    variant,
    samples: [] as Sample[],
    failures: [] as string[],
  }));
  const shared = await Promise.all(variants.map(() => mkdtemp(path.join(scratch, "warm-"))));
  const sharedWorkspaces = variants.map(() => devStackWorkspace());
  for (const [i, outcome] of outcomes.entries()) {
    const { variant } = outcome;
    if (variant.program !== "dev stack" || variant.workspace !== "packed") continue;
    // A cold variant's priming run packs the workspace in caches of its own, thrown away after.
    const primingCache = variant.cache === "warm" ? shared[i] : await mkdtemp(path.join(scratch, "priming-"));
    const priming = failureOf(variant, (await runOnce(variant, primingCache, sharedWorkspaces[i])).result);
    if (priming !== undefined) outcome.failures.push(`priming run: ${priming}`);
    if (primingCache !== shared[i]) await rm(primingCache, { recursive: true, force: true });
  }
  const rounds = Math.max(...variants.map((variant) => variant.runs));
  for (let round = 0; round < rounds; round += 1) {
    for (const [i, outcome] of outcomes.entries()) {
      const { variant } = outcome;
      if (round >= variant.runs) continue;
      const cold = variant.cache === "cold";
      const cacheDir = cold ? await mkdtemp(path.join(scratch, "cold-")) : shared[i];
      const workspace = variant.workspace === "fresh" ? devStackWorkspace() : sharedWorkspaces[i];
      const { result, cpuMs } = await runOnce(variant, cacheDir, workspace);
      const failure = failureOf(variant, result);
      const t = result.timings;
      if (failure !== undefined || t.firstRegisterAt === undefined || t.lastRegisterAt === undefined) {
        outcome.failures.push(failure ?? "no resource registered");
      } else if (cpuMs === undefined) {
        outcome.failures.push("the program exited without writing its CPU time");
      } else {
        outcome.samples.push({
          stackMs: t.firstRegisterAt - t.spawnedAt,
          graphMs: t.lastRegisterAt - t.spawnedAt,
          exitMs: t.exitedAt - t.spawnedAt,
          cpuMs,
        });
      }
      if (cold) await rm(cacheDir, { recursive: true, force: true });
      process.stderr.write(".");
    }
  }
  return outcomes;
}

function report(outcomes: Outcome[]): void {
  const header = [
    "variant",
    "ok",
    "start→stack registered",
    "start→graph median / min",
    "start→exit median / min",
    "CPU median / min",
    "goal (exit median)",
  ];
  const rows = outcomes.map(({ variant, samples, failures }) => {
    const stack = samples.map((s) => s.stackMs);
    const graph = samples.map((s) => s.graphMs);
    const exit = samples.map((s) => s.exitMs);
    const cpu = samples.map((s) => s.cpuMs);
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
      `${seconds(median(cpu))} / ${seconds(Math.min(...cpu))}`,
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

/** The dev stack's exit median over the minimal program's, for each cache state measured. */
function ratios(outcomes: Outcome[]): string[] {
  const lines: string[] = [];
  for (const cache of ["cold", "warm"] as const) {
    // The dev stack under Pulumi.yaml's runtime (no override), against the minimal program.
    const ours = outcomes.find(
      (o) =>
        o.variant.program === "dev stack" &&
        o.variant.cache === cache &&
        o.variant.workspace === "packed" &&
        !o.variant.runtimeOptions,
    );
    const minimal = outcomes.find((o) => o.variant.program === "minimal" && o.variant.cache === cache);
    if (ours === undefined || minimal === undefined) continue;
    const ratio = (of: (s: Sample) => number) =>
      median(ours.samples.map(of)) / median(minimal.samples.map(of));
    const wall = ratio((s) => s.exitMs);
    const cpu = ratio((s) => s.cpuMs);
    const met = Number.isFinite(wall) && wall <= RATIO_GOAL;
    const times = (o: Outcome) =>
      `${seconds(median(o.samples.map((s) => s.exitMs)))} (CPU ${seconds(median(o.samples.map((s) => s.cpuMs)))})`;
    lines.push(
      `${cache}: dev stack ${times(ours)} / minimal @pulumi/oci program ${times(minimal)} = ` +
        `${Number.isFinite(wall) ? wall.toFixed(2) : "-"}x wall, ${Number.isFinite(cpu) ? cpu.toFixed(2) : "-"}x CPU ` +
        `(goal ≤ ${RATIO_GOAL}x wall: ${met ? "met" : "MISSED"})`,
    );
  }
  return lines;
}

function describeRuntime(options: RuntimeOptions): string {
  return `runtime nodejs, typescript: ${options.typescript}, nodeargs: '${options.nodeargs}'${
    options.tsconfig === "" ? "" : `, tsconfig: ${options.tsconfig}`
  }`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "5" }, "ts-runs": { type: "string", default: "3" } },
  });
  const runs = Number(values.runs);
  const tsRuns = Number(values["ts-runs"]);
  if (!(runs >= 1 && tsRuns >= 0)) throw new Error("--runs must be >= 1 and --ts-runs >= 0");

  // The project's runtime options, as the CLI reads them; the minimal program runs under the same.
  const project = (await readProject(PROJECT_DIR)).options;
  const runner = describeRuntime(project);
  // Pulumi's default for a TypeScript project: no nodeargs, the SDK registers ts-node (the project's,
  // or the vendored ts-node 7 with the project's TypeScript) and type-checks unless told not to.
  const tsNode = { typescript: true, nodeargs: "" };
  // Read from the root Pulumi.yaml, not bench/minimal-oci's: one runner for both. A relative path in
  // nodeargs (the require hook) names a file of this project; the minimal program runs elsewhere.
  const minimalRuntime = {
    ...project,
    nodeargs: project.nodeargs.replace(/(^|\s)(\.\/)/g, (_, space: string) => `${space}${PROJECT_DIR}/`),
  };
  const groups: Variant[][] = (["cold", "warm"] as const).map((cache) => [
    {
      label: `dev stack, Pulumi.yaml runtime, ${cache}`,
      program: "dev stack",
      cache,
      workspace: "packed",
      runs,
      goalMs: GOALS_MS[cache],
    },
    {
      label: `minimal @pulumi/oci program, same runtime, ${cache}`,
      program: "minimal",
      cache,
      workspace: "fresh",
      runs,
      runtimeOptions: minimalRuntime,
    },
  ]);
  groups.push([
    {
      label: "dev stack, Pulumi.yaml runtime, first preview (packs the artifact), cold",
      program: "dev stack",
      cache: "cold",
      workspace: "fresh",
      runs,
    },
  ]);
  if (tsRuns > 0) {
    groups.push([
      {
        label: "dev stack, typescript: true (ts-node, type-check), cold",
        program: "dev stack",
        cache: "cold",
        workspace: "packed",
        runs: tsRuns,
        runtimeOptions: tsNode,
      },
      {
        label: "dev stack, typescript: true (ts-node, type-check), warm",
        program: "dev stack",
        cache: "warm",
        workspace: "packed",
        runs: tsRuns,
        runtimeOptions: tsNode,
      },
      {
        label: "dev stack, typescript: true + PULUMI_NODEJS_TRANSPILE_ONLY, cold",
        program: "dev stack",
        cache: "cold",
        workspace: "packed",
        runs: tsRuns,
        runtimeOptions: tsNode,
        env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
      },
    ]);
  }

  const scratch = await mkdtemp(path.join(tmpdir(), "launch-bench-"));
  const outcomes: Outcome[] = [];
  try {
    console.log(
      `preview through @pulumi/pulumi/cmd/run; ${runner} (Pulumi.yaml); node ${process.version}, ` +
        `${cpus().length} CPUs; ${runs} runs per Pulumi.yaml variant, ${tsRuns} per ts-node variant; ` +
        `load average ${loadavg()[0]?.toFixed(2)}`,
    );
    for (const group of groups) outcomes.push(...(await measure(group, scratch)));
    process.stderr.write("\n");
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  report(outcomes);
  console.log("");
  for (const line of ratios(outcomes)) console.log(line);
  const load = loadavg()[0] ?? 0;
  if (load > cpus().length) {
    console.log(
      `\nload average ${load.toFixed(2)} > ${cpus().length} CPUs: other work shared the machine, figures are inflated`,
    );
  }
  const empty = outcomes.filter((o) => o.samples.length === 0);
  if (empty.length > 0) {
    console.error(`\nmeasured nothing for: ${empty.map((o) => o.variant.label).join("; ")}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

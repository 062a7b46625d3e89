/**
 * The evaluation itself, without Pulumi or the network: the prompt set, running it at a given
 * concurrency, the figures (latency percentiles, time to first token, output tokens per second, run
 * cost) and the report as JSON and Markdown.
 */
import { CHAT_ROUTE, type DeploymentApi } from "../endpoint/chat";
import { UserError } from "../errors";

export interface PromptCase {
  readonly id: string;
  readonly prompt: string;
  readonly maxTokens?: number;
}

/** JSON Lines: one `{"id", "prompt", "maxTokens"?}` object a line; blank lines are skipped. */
export function parsePrompts(text: string, source: string): PromptCase[] {
  const cases: PromptCase[] = [];
  const ids = new Set<string>();
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${source}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UserError(
        `${where} is not JSON (${(error as Error).message}): each line is {"id": "...", "prompt": "..."}`,
      );
    }
    const entry = value as { id?: unknown; prompt?: unknown; maxTokens?: unknown };
    if (
      typeof entry !== "object" ||
      entry === null ||
      typeof entry.prompt !== "string" ||
      entry.prompt.trim() === ""
    ) {
      throw new UserError(`${where} has no "prompt" string: each line is {"id": "...", "prompt": "..."}`);
    }
    const id = typeof entry.id === "string" && entry.id !== "" ? entry.id : `line-${index + 1}`;
    if (ids.has(id)) throw new UserError(`${where} repeats id '${id}': give every prompt its own id`);
    ids.add(id);
    if (
      entry.maxTokens !== undefined &&
      (!Number.isInteger(entry.maxTokens) || (entry.maxTokens as number) < 1)
    ) {
      throw new UserError(
        `${where} has maxTokens ${JSON.stringify(entry.maxTokens)}: use a positive integer or leave it out`,
      );
    }
    cases.push({
      id,
      prompt: entry.prompt,
      ...(entry.maxTokens === undefined ? {} : { maxTokens: entry.maxTokens as number }),
    });
  });
  if (cases.length === 0)
    throw new UserError(`${source} has no prompts: add lines like {"id": "q1", "prompt": "..."}`);
  return cases;
}

export interface PromptResult {
  readonly id: string;
  readonly ok: boolean;
  readonly latencyMs?: number;
  readonly timeToFirstTokenMs?: number;
  /** The answer's tokens by the model's tokenizer (tokenizer.ts), streamed or not. */
  readonly outputTokens?: number;
  readonly attempts?: number;
  readonly outputPreview?: string;
  readonly error?: string;
}

/** Thrown by a prompt's runner when no later prompt can succeed either (refused signature, gone endpoint). */
export class FatalRunError extends UserError {}

/**
 * Runs every case with at most `concurrency` in flight, filling `results` (by case index) as each
 * finishes, so a run that stops early still reports what it measured. A `FatalRunError` stops the
 * run: no new prompt starts, and the error is rethrown once the calls in flight have settled.
 */
export async function runPrompts(
  cases: readonly PromptCase[],
  concurrency: number,
  runOne: (promptCase: PromptCase) => Promise<PromptResult>,
  results: PromptResult[],
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let fatal: unknown;
  const worker = async () => {
    while (fatal === undefined && !signal?.aborted && next < cases.length) {
      const index = next++;
      try {
        results[index] = await runOne(cases[index]);
      } catch (error) {
        fatal ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  if (fatal !== undefined) throw fatal;
  signal?.throwIfAborted();
}

/** Nearest-rank percentile of an ascending list (the smallest value with p% of values at or below). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("percentile of an empty list");
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface Distribution {
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
}

function distribution(values: number[]): Distribution | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value);
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    mean: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
  };
}

export interface EvaluationSummary {
  readonly prompts: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly latencyMs: Distribution | null;
  /** Streaming only. */
  readonly timeToFirstTokenMs: Distribution | null;
  /** Tokens of every answer that came back, by the model's tokenizer; null when none did. */
  readonly outputTokens: number | null;
  /** Output tokens over the prompt phase's wall-clock time: the deployment's throughput. */
  readonly outputTokensPerSecond: number | null;
}

export function summarize(results: readonly PromptResult[], promptPhaseMs: number): EvaluationSummary {
  const ok = results.filter((result) => result.ok);
  const counted = ok.filter((result) => result.outputTokens !== undefined);
  const tokens = counted.reduce((sum, result) => sum + (result.outputTokens ?? 0), 0);
  return {
    prompts: results.length,
    succeeded: ok.length,
    failed: results.length - ok.length,
    latencyMs: distribution(
      ok.flatMap((result) => (result.latencyMs === undefined ? [] : [result.latencyMs])),
    ),
    timeToFirstTokenMs: distribution(
      ok.flatMap((result) => (result.timeToFirstTokenMs === undefined ? [] : [result.timeToFirstTokenMs])),
    ),
    outputTokens: counted.length === 0 ? null : tokens,
    outputTokensPerSecond:
      counted.length === 0 || promptPhaseMs <= 0
        ? null
        : Math.round((tokens / (promptPhaseMs / 1000)) * 10) / 10,
  };
}

export interface Phase {
  readonly name: string;
  readonly seconds: number;
  readonly ok: boolean;
}

export type Teardown = "destroyed" | "kept" | "destroy failed";

export interface EvaluationReport {
  readonly stack: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly endpoint?: string;
  readonly modelDeploymentId?: string;
  readonly shape?: string;
  readonly usdPerHour: number;
  /** The API the prompts went through (the stack's `api` output). */
  readonly api: DeploymentApi;
  /** The tokenizer.json the output tokens were counted with. */
  readonly tokenizer: string;
  readonly streaming: boolean;
  readonly concurrency: number;
  readonly phases: readonly Phase[];
  /** The engine build's measured minutes per phase (time to an endpoint), when the stack built one. */
  readonly buildPhaseMinutes?: Readonly<Record<string, number>>;
  readonly summary: EvaluationSummary;
  /** Elapsed hours from the start of `up` to the end of teardown, times the shape's hourly rate. */
  readonly cost: { readonly elapsedHours: number; readonly usd: number };
  readonly teardown: Teardown;
  readonly error?: string;
  readonly prompts: readonly PromptResult[];
}

export function runCost(elapsedMs: number, usdPerHour: number): { elapsedHours: number; usd: number } {
  const elapsedHours = elapsedMs / 3_600_000;
  return {
    elapsedHours: Math.round(elapsedHours * 1000) / 1000,
    usd: Math.round(elapsedHours * usdPerHour * 100) / 100,
  };
}

const cell = (value: string | number | undefined | null) =>
  value === undefined || value === null ? "-" : String(value).replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderMarkdown(report: EvaluationReport): string {
  const s = report.summary;
  const latency = s.latencyMs
    ? `p50 ${s.latencyMs.p50} ms, p95 ${s.latencyMs.p95} ms, mean ${s.latencyMs.mean} ms`
    : "-";
  const ttft = s.timeToFirstTokenMs
    ? `p50 ${s.timeToFirstTokenMs.p50} ms, p95 ${s.timeToFirstTokenMs.p95} ms`
    : "- (not streamed)";
  const tokens = s.outputTokens === null ? "-" : `${s.outputTokens} (${s.outputTokensPerSecond} tokens/s)`;
  const route = `${report.streaming ? "/predictWithResponseStream" : "/predict"}${report.api === "openai" ? CHAT_ROUTE : ""}`;
  const lines = [
    `# Evaluation of stack \`${report.stack}\``,
    "",
    `${report.startedAt} to ${report.finishedAt}`,
    "",
    "| | |",
    "| --- | --- |",
    `| endpoint | ${cell(report.endpoint)} |`,
    `| shape | ${cell(report.shape)} (${report.usdPerHour} USD/h) |`,
    `| calls | ${route}, concurrency ${report.concurrency} |`,
    `| prompts | ${s.succeeded} ok, ${s.failed} failed of ${s.prompts} |`,
    `| latency | ${latency} |`,
    `| time to first token | ${ttft} |`,
    `| output tokens | ${tokens} |`,
    `| tokenizer | ${cell(report.tokenizer)} |`,
    `| run cost | ${report.cost.elapsedHours} h x ${report.usdPerHour} USD/h = ${report.cost.usd.toFixed(2)} USD |`,
    `| teardown | ${report.teardown} |`,
    ...(report.error ? [`| error | ${cell(report.error)} |`] : []),
    "",
    "## Phases",
    "",
    "| phase | seconds | result |",
    "| --- | ---: | --- |",
    ...report.phases.map(
      (phase) => `| ${phase.name} | ${phase.seconds.toFixed(1)} | ${phase.ok ? "ok" : "failed"} |`,
    ),
    ...(report.buildPhaseMinutes === undefined
      ? []
      : [
          "",
          "## Engine build, by phase (measured on the build host)",
          "",
          "| phase | minutes |",
          "| --- | ---: |",
          ...Object.entries(report.buildPhaseMinutes).map(([phase, minutes]) => `| ${phase} | ${minutes} |`),
        ]),
    "",
    "## Prompts",
    "",
    "| id | latency ms | first token ms | output tokens | attempts | result |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...report.prompts.map(
      (p) =>
        `| ${cell(p.id)} | ${cell(p.latencyMs === undefined ? undefined : Math.round(p.latencyMs))} | ${cell(
          p.timeToFirstTokenMs === undefined ? undefined : Math.round(p.timeToFirstTokenMs),
        )} | ${cell(p.outputTokens)} | ${cell(p.attempts)} | ${cell(p.ok ? p.outputPreview : `error: ${p.error}`)} |`,
    ),
    "",
  ];
  return lines.join("\n");
}

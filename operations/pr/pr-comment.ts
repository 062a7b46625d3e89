/**
 * The pull-request comment body: for every environment stack, what `check --json` says (sizing,
 * cost, errors, warnings) on top, then the `pulumi preview` log. One body for all stacks, so the
 * workflow keeps a single comment up to date. `commentFromPreviews` reads the folder the preview
 * jobs left; everything below it is pure and parses what was read.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { UserError } from "../errors";

import { displayKey, quoted } from "../../components/config/quoting";
import { codeBlock, inlineCode, markdownText, tableCell } from "./markdown";

/** Marks the comment as ours, so it is found and edited in place rather than posted again. */
export const COMMENT_MARKER = "<!-- triton-trtllm-oci:pr-preview -->";

/** GitHub refuses comment bodies above 65,536 characters; keep a margin for the sticky header. */
export const MAX_COMMENT_CHARS = 65_000;

const issueSchema = z.object({
  key: z.string(),
  value: z.unknown().optional(),
  message: z.string(),
  fix: z.string(),
});

// What `cli/check.ts --json` prints: { ok, errors, warnings, missingInputs, assumptions, summary? }.
const checkReportSchema = z.object({
  ok: z.boolean(),
  errors: z.array(issueSchema),
  warnings: z.array(issueSchema).default([]),
  missingInputs: z.array(issueSchema).default([]),
  assumptions: z.array(z.string()).default([]),
  summary: z
    .object({
      model: z.string(),
      deploymentShape: z.string(),
      gpu: z.string(),
      tensorParallel: z.number(),
      perGpuGiB: z.object({
        weights: z.number(),
        kvCache: z.number(),
        activations: z.number(),
        runtimeReserve: z.number(),
        required: z.number(),
        available: z.number(),
        headroom: z.number(),
      }),
      kvCacheKiBPerToken: z.number(),
      cost: z.object({
        deploymentUsdPerHour: z.number(),
        buildUsdPerHour: z.number(),
        evaluationUsd: z.number().optional(),
        priceDate: z.string(),
      }),
      build: z
        .object({
          onMiss: z.object({ totalMinutes: z.number(), shape: z.string(), usd: z.number() }),
          onEngineHit: z.object({ totalMinutes: z.number(), shape: z.string(), usd: z.number() }),
        })
        .optional(),
    })
    .optional(),
  // A production endpoint's autoscaling (components/deployment/autoscaling.ts AutoscalingPlan).
  autoscaling: z
    .object({
      minInstances: z.number(),
      maxInstances: z.number(),
      usdPerHour: z.object({ min: z.number(), max: z.number() }),
      scaleOut: z.object({ query: z.string() }),
      scaleIn: z.object({ query: z.string() }),
    })
    .optional(),
});

export type CheckIssue = z.infer<typeof issueSchema>;
export type CheckReport = z.infer<typeof checkReportSchema>;

export const PREVIEW_OUTCOMES = ["success", "failure", "cancelled", "skipped"] as const;
export type PreviewOutcome = (typeof PREVIEW_OUTCOMES)[number];

export interface StackPreview {
  readonly stack: string;
  readonly check: CheckReport;
  /** Absent when the preview never ran (the check failed first). */
  readonly preview?: { readonly outcome: PreviewOutcome; readonly log: string };
}

/** An input file the comment cannot be built from; `source` names the file. */
export class CommentInputError extends UserError {
  constructor(
    readonly source: string,
    detail: string,
    readonly fix: string,
  ) {
    super(`${source}: ${detail}. Fix: ${fix}`);
  }
}

/** Parses one `check --json` output; every problem names the file and the field. */
export function parseCheckReport(text: string, source: string): CheckReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CommentInputError(
      source,
      `is not JSON (${(error as Error).message})`,
      "write it with `npm run -s check -- --stack <env> --json > check.json`",
    );
  }
  const parsed = checkReportSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    throw new CommentInputError(
      source,
      `is not the output of check --json (${problems})`,
      "regenerate it with the check command of this commit",
    );
  }
  return parsed.data;
}

/**
 * What the comment says for a stack whose check printed no report (it exits 2, with a message on
 * stderr, when the stack file is missing or is not YAML): one error on the stack file.
 */
export function checkCrashReport(stack: string, stderr: string): CheckReport {
  return {
    ok: false,
    errors: [
      {
        key: `Pulumi.${stack}.yaml`,
        message: `could not be checked: ${stderr.trim().replace(/\s+/g, " ")}`,
        fix: `run npm run -s check -- --stack ${stack} and fix what it reports`,
      },
    ],
    warnings: [],
    missingInputs: [],
    assumptions: [],
  };
}

export function parsePreviewOutcome(text: string, source: string): PreviewOutcome {
  const outcome = text.trim();
  if ((PREVIEW_OUTCOMES as readonly string[]).includes(outcome)) return outcome as PreviewOutcome;
  throw new CommentInputError(
    source,
    `holds '${outcome}', not a step outcome`,
    `write the preview step's outcome: one of ${PREVIEW_OUTCOMES.join(", ")}`,
  );
}

// Pulumi colours its output unless told not to; a comment shows escape codes as text.
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, "");
}

/** Keeps the end of a log (where Pulumi prints the resource summary and any error) within `limit`. */
export function tailWithin(log: string, limit: number, runUrl?: string): string {
  if (log.length <= limit) return log;
  const lines = log.split("\n");
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0 && size + lines[i].length + 1 <= limit; i--) {
    kept.unshift(lines[i]);
    size += lines[i].length + 1;
  }
  const where = runUrl ? ` (whole log: ${runUrl})` : " (whole log in the workflow run)";
  return [`... ${lines.length - kept.length} earlier lines cut${where}`, ...kept].join("\n");
}

function checkStatus(check: CheckReport): string {
  const counts = [
    check.errors.length > 0 ? `${check.errors.length} error(s)` : "",
    check.warnings.length > 0 ? `${check.warnings.length} warning(s)` : "",
  ].filter(Boolean);
  return `${check.ok ? "passed" : "**failed**"}${counts.length > 0 ? `, ${counts.join(", ")}` : ""}`;
}

const OUTCOME_WORDS: Record<PreviewOutcome, string> = {
  success: "succeeded",
  failure: "**failed**",
  cancelled: "cancelled",
  skipped: "skipped",
};

function previewStatus(stack: StackPreview): string {
  if (stack.preview) return OUTCOME_WORDS[stack.preview.outcome];
  return stack.check.ok ? "not run" : "not run (check failed)";
}

function summaryRow(stack: StackPreview): string {
  const s = stack.check.summary;
  const cells = s
    ? [
        `${markdownText(s.deploymentShape)} (${markdownText(s.gpu)}), TP ${s.tensorParallel}`,
        `${s.perGpuGiB.required} of ${s.perGpuGiB.available} (headroom ${s.perGpuGiB.headroom})`,
        // With autoscaling, the range from its fewest to its most instances.
        stack.check.autoscaling === undefined
          ? `${s.cost.deploymentUsdPerHour}`
          : `${stack.check.autoscaling.usdPerHour.min} to ${stack.check.autoscaling.usdPerHour.max}`,
        s.cost.evaluationUsd === undefined ? "no TTL" : `${s.cost.evaluationUsd} USD`,
      ]
    : ["-", "-", "-", "-"];
  return `| ${[inlineCode(stack.stack), checkStatus(stack.check), ...cells, previewStatus(stack)].map(tableCell).join(" | ")} |`;
}

// Keys, values and commands come from the stack file: code spans, where GitHub links and mentions
// nothing; the message is escaped prose.
function issueLines(title: string, issues: readonly CheckIssue[]): string[] {
  if (issues.length === 0) return [];
  const lines = issues.map((issue) => {
    const value = issue.value === undefined ? "" : ` = ${inlineCode(quoted(issue.value))}`;
    return `- ${inlineCode(displayKey(issue.key))}${value}: ${markdownText(issue.message)}. Fix: ${inlineCode(issue.fix)}`;
  });
  return [`**${title}**`, "", ...lines, ""];
}

function stackHeader(stack: StackPreview): string[] {
  const s = stack.check.summary;
  const lines = [`### ${inlineCode(stack.stack)}`, ""];
  if (s) {
    const m = s.perGpuGiB;
    lines.push(
      `${inlineCode(s.model)} on ${markdownText(s.deploymentShape)} (${markdownText(s.gpu)}), tensor parallel ${s.tensorParallel}. Per GPU: weights ${m.weights} + ` +
        `KV cache ${m.kvCache} (${s.kvCacheKiBPerToken} KiB/token) + activations ${m.activations} + runtime ` +
        `${m.runtimeReserve} = **${m.required} of ${m.available} GiB** (headroom ${m.headroom}). Cost: deployment ` +
        `**${s.cost.deploymentUsdPerHour} USD/h**, build instance ${s.cost.buildUsdPerHour} USD/h while building` +
        (s.cost.evaluationUsd === undefined ? "" : `, ${s.cost.evaluationUsd} USD over evaluation.ttlHours`) +
        ` (list prices ${s.cost.priceDate}).` +
        (s.build === undefined
          ? ""
          : ` Engine build if the bucket's cache misses: about ${s.build.onMiss.totalMinutes} min on ${markdownText(s.build.onMiss.shape)}, ` +
            `about ${s.build.onMiss.usd} USD (only serving settings changed: about ${s.build.onEngineHit.usd} USD on ${markdownText(s.build.onEngineHit.shape)}; nothing on a hit).`),
      "",
    );
  }
  const scaling = stack.check.autoscaling;
  if (scaling !== undefined) {
    lines.push(
      `Autoscaling: ${scaling.minInstances} to ${scaling.maxInstances} instances, **${scaling.usdPerHour.min} to ${scaling.usdPerHour.max} USD/h**; ` +
        `scale out when ${inlineCode(scaling.scaleOut.query)}, scale in when ${inlineCode(scaling.scaleIn.query)}.`,
      "",
    );
  }
  lines.push(
    ...issueLines("Errors", stack.check.errors),
    ...issueLines("Warnings", stack.check.warnings),
    ...issueLines("Not set (pulumi up fails without them)", stack.check.missingInputs),
    ...stack.check.assumptions.map((assumption) => `Assumed: ${markdownText(assumption)}`),
  );
  return lines;
}

function previewSection(stack: StackPreview, log: string, runUrl: string | undefined): string[] {
  if (!stack.preview) return [];
  const where = runUrl ? `the workflow run: ${runUrl}` : "the workflow run";
  return [
    `<details${stack.preview.outcome === "failure" ? " open" : ""}>`,
    `<summary>pulumi preview: ${OUTCOME_WORDS[stack.preview.outcome].replace(/\*/g, "")}</summary>`,
    "",
    log.trim() === "" ? `No output was captured; see ${where}.` : codeBlock(log),
    "",
    "</details>",
    "",
  ];
}

export interface RenderOptions {
  /** Link to the workflow run, named where a log had to be cut. */
  readonly runUrl?: string;
  readonly commit?: string;
  readonly maxChars?: number;
}

/**
 * The comment body: marker, one summary table row per stack, then per stack its sizing, its check
 * findings and its preview log. Logs share what is left of the size limit, each keeping its end.
 */
export function renderPrComment(stacks: readonly StackPreview[], options: RenderOptions = {}): string {
  const maxChars = options.maxChars ?? MAX_COMMENT_CHARS;
  const sorted = [...stacks].sort((a, b) => a.stack.localeCompare(b.stack));
  const head = [
    COMMENT_MARKER,
    "## Infrastructure preview",
    "",
    (options.commit ? `Commit ${inlineCode(options.commit)}. ` : "") +
      "Sizing and cost come from `npm run -s check -- --stack <env> --json` (offline); previews run with the policy pack in `policy/` enforced.",
    "",
    "| stack | check | deployment shape | GPU memory per GPU (GiB) | deployment USD/h | evaluation cost | preview |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...sorted.map(summaryRow),
    "",
  ];
  const render = (logs: readonly string[]): string =>
    [
      ...head,
      ...sorted.flatMap((stack, i) => [
        ...stackHeader(stack),
        ...previewSection(stack, logs[i], options.runUrl),
      ]),
    ]
      .filter((line, i, all) => !(line === "" && all[i - 1] === ""))
      .join("\n");

  const logs = sorted.map((stack) => stripAnsi(stack.preview?.log ?? ""));
  const withoutLogs = render(logs.map(() => "")).length;
  const withLogs = withoutLogs + logs.reduce((sum, log) => sum + log.length, 0);
  if (withLogs <= maxChars) return render(logs);
  // Short logs stay whole; what they leave over goes to the longer ones.
  const notice = 120;
  let budget = maxChars - withoutLogs;
  let remaining = logs.length;
  const limits = logs.map(() => 0);
  for (const i of logs.map((_, index) => index).sort((a, b) => logs[a].length - logs[b].length)) {
    const share = Math.max(0, Math.floor(budget / remaining));
    limits[i] = logs[i].length <= share ? logs[i].length : Math.max(0, share - notice);
    budget -= Math.min(logs[i].length, share);
    remaining--;
  }
  return render(logs.map((log, i) => tailWithin(log, limits[i], options.runUrl)));
}

function readStack(dir: string, stack: string): StackPreview {
  const checkPath = path.join(dir, stack, "check.json");
  if (!existsSync(checkPath)) {
    throw new CommentInputError(
      checkPath,
      "does not exist",
      `write it with npm run -s check -- --stack ${stack} --json`,
    );
  }
  const report = readFileSync(checkPath, "utf8");
  const stderrPath = path.join(dir, stack, "check.stderr");
  const stderr = existsSync(stderrPath) ? readFileSync(stderrPath, "utf8") : "";
  const check =
    report.trim() === "" && stderr.trim() !== ""
      ? checkCrashReport(stack, stderr)
      : parseCheckReport(report, checkPath);
  const logPath = path.join(dir, stack, "preview.log");
  const outcomePath = path.join(dir, stack, "preview.outcome");
  if (!existsSync(outcomePath)) return { stack, check };
  const outcome = parsePreviewOutcome(readFileSync(outcomePath, "utf8"), outcomePath);
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  return { stack, check, preview: { outcome, log } };
}

/**
 * The comment for the previews folder `dir`: one folder per stack, named after it, with
 * `check.json` (`check --json` output) and `check.stderr` (its stderr, shown when it printed no
 * report); beside them, when the preview ran, `preview.log` and `preview.outcome`. A missing or
 * unreadable file is a `UserError` naming it.
 */
export function commentFromPreviews(dir: string, options: RenderOptions = {}): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `--dir ${dir} is not a folder. Fix: point it at the folder the preview jobs' artifacts were downloaded to`,
    );
  }
  const stacks = readdirSync(dir).filter((name) => statSync(path.join(dir, name)).isDirectory());
  if (stacks.length === 0) {
    throw new UserError(
      `--dir ${dir} has no stack folders. Fix: each preview job uploads <stack>/check.json`,
    );
  }
  return renderPrComment(
    stacks.map((stack) => readStack(dir, stack)),
    options,
  );
}

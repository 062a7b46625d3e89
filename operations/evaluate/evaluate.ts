/**
 * `evaluate`: bring a stack up, wait until its deployment answers, run the prompt set, write the
 * report, and destroy the stack: always, after a failure, a timeout or Ctrl-C too, unless --keep.
 * A forgotten A10 costs 2 USD an hour and an H100.8 about 80, so the teardown is the point.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { sizingSummary } from "../../components/config/summary";
import { UserError } from "../errors";
import {
  type EvaluationReport,
  parsePrompts,
  type Phase,
  type PromptResult,
  renderMarkdown,
  runCost,
  runPrompts,
  summarize,
  type Teardown,
} from "./figures";
import { CHAT_ROUTE, chatRequestBody } from "../endpoint/chat";
import { runOnePrompt, waitUntilReady } from "./deployment-calls";
import { createDeploymentClient, parseDeploymentUrl } from "../endpoint/deployment-client";
import { type AuthOptions, createAuthProvider, errorMessage } from "../oci-client";
import type { OutputSink } from "../output";
import { loadStackConfig, stackRequestBody } from "../endpoint/request-body";
import { type BackoffPolicy, withRetry } from "../retry";
import { type DeploymentOutputs, deploymentOutputs, type StackBackend } from "../stacks";
import { findTokenCounter } from "./tokenizer";

/** Where the Hugging Face hub cache is for an environment; cli/evaluate.ts passes the process's. */
export { hubCacheDir } from "./tokenizer";

export const DEFAULT_PROMPTS = join(__dirname, "prompts.jsonl");

export interface EvaluateOptions {
  readonly stack: string;
  /** Leave the stack running afterwards instead of destroying it. */
  readonly keep: boolean;
  /** The prompt set, one {"id", "prompt", "maxTokens"?} a line. */
  readonly promptsFile: string;
  /** Prompts in flight at once. */
  readonly concurrency: number;
  /** Tokens per answer when a prompt sets none; unset: the stack's example body. */
  readonly maxTokens?: number;
  readonly readyTimeoutMs: number;
  /** Interval between readiness checks. */
  readonly pollMs: number;
  /** Where the JSON and Markdown reports go; created when missing. */
  readonly outDir: string;
  /**
   * The model's tokenizer.json, or the folder holding it, to count output tokens with; unset: the
   * one in `model.localDir`, else the Hugging Face cache's snapshot of the model (tokenizer.ts).
   */
  readonly tokenizer?: string;
  /** The Hugging Face hub cache folder, searched when `tokenizer` is unset. */
  readonly hubCache: string;
  /** The project folder holding the stack files. */
  readonly projectDir: string;
  readonly auth: AuthOptions;
  readonly controlPlaneEndpoint?: string;
}

// Three destroys, 10-60 s apart: a destroy usually fails on a transient conflict (a work request
// still running, a 429 from the control plane), which a short wait clears.
export const DESTROY_BACKOFF: BackoffPolicy = { attempts: 3, baseMs: 10_000, maxMs: 60_000 };

export interface EvaluateDeps {
  readonly output: OutputSink;
  /** The project's stacks: up and destroy. */
  readonly backend: StackBackend;
  /** Where Ctrl-C arrives; `process` for users. */
  readonly signals: NodeJS.EventEmitter;
  /**
   * Whether a Ctrl-C also reaches the Pulumi CLI by itself: a terminal sends SIGINT to the whole
   * foreground process group. Then it must not be forwarded: the CLI cancels on the first SIGINT and
   * terminates on the second, "which may lead to orphaned resources" (pulumi/pulumi, the CLI's
   * cancellationScope in pkg/cmd/pulumi). True for a terminal (`process.stdin.isTTY`).
   */
  readonly sigintReachesPulumi: boolean;
  readonly destroyBackoff?: BackoffPolicy;
}

/** Collects Pulumi's progress chunks into whole lines, each printed with a prefix. */
function lineWriter(io: OutputSink, prefix: string): { write: (text: string) => void; flush: () => void } {
  let pending = "";
  return {
    write(text) {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") io.write(`${prefix}${line}\n`);
    },
    flush() {
      if (pending.trim() !== "") io.write(`${prefix}${pending}\n`);
      pending = "";
    },
  };
}

/**
 * Runs the evaluation and writes its report; true when every phase succeeded. A destroy that keeps
 * failing throws a UserError naming what may still be running, after the report is written.
 */
export async function evaluate(options: EvaluateOptions, deps: EvaluateDeps): Promise<boolean> {
  const { output: io, backend } = deps;
  const { stack, concurrency, maxTokens, readyTimeoutMs, pollMs, auth } = options;
  let promptsText: string;
  try {
    promptsText = readFileSync(options.promptsFile, "utf8");
  } catch (error) {
    throw new UserError(`--prompts ${options.promptsFile} cannot be read: ${(error as Error).message}`);
  }
  const cases = parsePrompts(promptsText, options.promptsFile);
  const config = loadStackConfig(options.projectDir, stack);
  const usdPerHour = sizingSummary(config).cost.deploymentUsdPerHour;
  // Before `up`: a run that could not count its tokens is refused while it costs nothing yet.
  const tokens = findTokenCounter({
    explicit: options.tokenizer,
    modelDir:
      config.model.localDir === undefined ? undefined : resolve(options.projectDir, config.model.localDir),
    huggingFaceId: config.model.huggingFaceId,
    revision: config.model.revision,
    hubCache: options.hubCache,
  });
  const provider = await createAuthProvider(auth);
  const outDir = options.outDir;
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (error) {
    throw new UserError(`--out ${outDir} cannot be created: ${(error as Error).message}`);
  }

  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  const log = (line: string) => io.write(`[${elapsed()}s] ${line}\n`);
  const phases: Phase[] = [];
  const phase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const phaseStart = Date.now();
    log(`${name} ...`);
    try {
      const result = await body();
      phases.push({ name, seconds: (Date.now() - phaseStart) / 1000, ok: true });
      log(`${name} done in ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`);
      return result;
    } catch (error) {
      phases.push({ name, seconds: (Date.now() - phaseStart) / 1000, ok: false });
      throw error;
    }
  };

  const interrupt = new AbortController();
  let destroying = false;
  const onSigint = () => {
    if (interrupt.signal.aborted) {
      log(
        destroying
          ? "Ctrl-C again: the destroy is retried until it finishes, so the GPU stops costing"
          : "Ctrl-C again: still stopping; the destroy follows",
      );
      return;
    }
    log(
      options.keep
        ? "interrupted: stopping (--keep: the stack stays up)"
        : "interrupted: stopping, then destroying the stack",
    );
    interrupt.abort(new UserError("interrupted by Ctrl-C"));
  };
  deps.signals.on("SIGINT", onSigint);

  let outputs: DeploymentOutputs | undefined;
  const measured: PromptResult[] = [];
  let promptPhaseMs = 0;
  let streaming = false;
  let failure: unknown;
  try {
    const upProgress = lineWriter(io, "  | ");
    let raw;
    try {
      raw = await phase("up", () =>
        backend.up(stack, {
          onOutput: upProgress.write,
          signal: deps.sigintReachesPulumi ? undefined : interrupt.signal,
        }),
      );
    } finally {
      upProgress.flush();
    }
    interrupt.signal.throwIfAborted();
    outputs = deploymentOutputs(stack, raw);
    streaming = outputs.predictStreamUrl !== undefined;
    const target = parseDeploymentUrl(
      outputs.predictStreamUrl ?? outputs.predictUrl,
      "the stack's predictUrl",
    );
    const client = createDeploymentClient(provider, auth, target, {
      controlPlaneEndpoint: options.controlPlaneEndpoint,
      api: outputs.api,
    });
    const { openaiModel } = outputs;
    const body = (prompt: string, maxTokens: number | undefined) =>
      openaiModel === undefined
        ? stackRequestBody(config, { prompt, maxTokens, stream: streaming })
        : chatRequestBody(openaiModel, { prompt, maxTokens, stream: streaming });
    await phase("ready", () =>
      waitUntilReady(client, body("Hello", 1), streaming, {
        readyTimeoutMs,
        pollMs,
        signal: interrupt.signal,
        log,
      }),
    );
    const promptStart = Date.now();
    try {
      await phase(`prompts (${cases.length}, concurrency ${concurrency})`, () =>
        runPrompts(
          cases,
          concurrency,
          (promptCase) =>
            runOnePrompt(
              client,
              promptCase,
              body(promptCase.prompt, promptCase.maxTokens ?? maxTokens),
              streaming,
              interrupt.signal,
              log,
              tokens.count,
            ),
          measured,
          interrupt.signal,
        ),
      );
    } finally {
      promptPhaseMs = Date.now() - promptStart;
    }
    if (measured.length > 0 && measured.every((result) => !result.ok)) {
      throw new UserError(`every prompt failed; first: ${measured[0].error}`);
    }
  } catch (error) {
    failure = interrupt.signal.aborted ? interrupt.signal.reason : error;
    log(`failed: ${errorMessage(failure)}`);
  }

  let teardown: Teardown = "kept";
  let destroyError: UserError | undefined;
  if (options.keep) {
    log(
      `--keep: stack '${stack}' stays up at ${usdPerHour} USD/h${outputs?.expiresAt ? ` (the reaper destroys it after ${outputs.expiresAt})` : ""}; destroy it with 'pulumi destroy --stack ${stack}'`,
    );
  } else {
    destroying = true;
    try {
      await phase("destroy", () =>
        destroyWithRetry(backend, stack, deps.destroyBackoff ?? DESTROY_BACKOFF, io, log),
      );
      teardown = "destroyed";
    } catch (error) {
      teardown = "destroy failed";
      const running = outputs?.modelDeploymentId
        ? `model deployment ${outputs.modelDeploymentId}`
        : "its resources";
      destroyError = new UserError(
        `destroy of stack '${stack}' failed ${(deps.destroyBackoff ?? DESTROY_BACKOFF).attempts} times (last: ${errorMessage(error).split("\n")[0]}): ${running} on ${config.deployment.shape} may still be running at ${usdPerHour} USD/h. Fix: pulumi destroy --stack ${stack} (docs/operations.md covers a stuck destroy)`,
      );
    }
  }
  deps.signals.off("SIGINT", onSigint);

  const results = measured.filter((result) => result !== undefined);
  const finished = Date.now();
  const report: EvaluationReport = {
    stack,
    startedAt,
    finishedAt: new Date(finished).toISOString(),
    endpoint: endpointOf(outputs),
    modelDeploymentId: outputs?.modelDeploymentId,
    shape: config.deployment.shape,
    usdPerHour,
    api: outputs?.api ?? "triton",
    tokenizer: tokens.source,
    streaming,
    concurrency,
    phases,
    ...(outputs?.buildPhaseMinutes === undefined ? {} : { buildPhaseMinutes: outputs.buildPhaseMinutes }),
    summary: summarize(results, promptPhaseMs),
    cost: runCost(finished - started, usdPerHour),
    teardown,
    ...(failure === undefined ? {} : { error: errorMessage(failure) }),
    prompts: results,
  };
  const base = writeReport(outDir, report);
  printSummary(io, report);
  io.write(`report: ${base}.json, ${base}.md\n`);
  if (destroyError) throw destroyError;
  return failure === undefined;
}

/** The URL the prompts went to: the stream route when the stack streams, the chat route on an OpenAI stack. */
function endpointOf(outputs: DeploymentOutputs | undefined): string | undefined {
  if (outputs === undefined) return undefined;
  const url = outputs.predictStreamUrl ?? outputs.predictUrl;
  return outputs.api === "openai" ? `${url.replace(/\/$/, "")}${CHAT_ROUTE}` : url;
}

/** Writes `<base>.json` and `<base>.md`; returns the base path. */
function writeReport(outDir: string, report: EvaluationReport): string {
  const base = join(outDir, `evaluate-${report.stack}-${report.startedAt.replace(/[:.]/g, "-")}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(report));
  return base;
}

function printSummary(io: OutputSink, report: EvaluationReport): void {
  const s = report.summary;
  io.write(
    [
      `prompts      ${s.succeeded} ok, ${s.failed} failed of ${s.prompts}`,
      `latency      ${s.latencyMs ? `p50 ${s.latencyMs.p50} ms, p95 ${s.latencyMs.p95} ms` : "-"}`,
      ...(s.timeToFirstTokenMs
        ? [`first token  p50 ${s.timeToFirstTokenMs.p50} ms, p95 ${s.timeToFirstTokenMs.p95} ms`]
        : []),
      `tokens       ${s.outputTokens === null ? "-" : `${s.outputTokens} output, ${s.outputTokensPerSecond} tokens/s (${report.tokenizer})`}`,
      `cost         ${report.cost.elapsedHours} h x ${report.usdPerHour} USD/h = ${report.cost.usd.toFixed(2)} USD`,
      `teardown     ${report.teardown}`,
      "",
    ].join("\n"),
  );
}

async function destroyWithRetry(
  backend: StackBackend,
  stack: string,
  policy: BackoffPolicy,
  io: OutputSink,
  log: (line: string) => void,
): Promise<void> {
  await withRetry(
    async () => {
      const progress = lineWriter(io, "  | ");
      try {
        await backend.destroy(stack, { onOutput: progress.write });
      } finally {
        progress.flush();
      }
    },
    {
      policy,
      shouldRetry: () => true,
      onRetry: (error, delayMs, nextAttempt) =>
        log(
          `destroy failed (${errorMessage(error).split("\n")[0]}): retrying in ${(delayMs / 1000).toFixed(0)} s (attempt ${nextAttempt} of ${policy.attempts})`,
        ),
    },
  );
}

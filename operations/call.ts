/**
 * One generate call, measured: latency, time to first streamed piece, streamed pieces, attempts.
 * Both `invoke` and `evaluate` go through it, so both retry and time calls the same way.
 */
import { type DeploymentClient, type GenerateAnswer, isRetryableStatus } from "./deployment-client";
import { type BackoffPolicy, withRetry } from "./retry";

export interface CallResult {
  readonly text: string;
  /** The whole answer; for a stream, the last event with `text_output` set to the joined pieces. */
  readonly answer: GenerateAnswer;
  readonly latencyMs: number;
  /** Streaming only: from sending the request to the first piece of text. */
  readonly timeToFirstTokenMs?: number;
  /**
   * Streaming only: events that carried text. A decoupled Triton model sends one response per
   * generated step, so this counts output tokens; a non-streamed answer has no token count.
   */
  readonly outputTokens?: number;
  readonly attempts: number;
}

export interface CallOptions {
  readonly stream: boolean;
  readonly policy: BackoffPolicy;
  readonly onText?: (piece: string) => void;
  readonly onRetry?: (error: unknown, delayMs: number, nextAttempt: number) => void;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

function textOf(answer: GenerateAnswer): string {
  const text = answer.text_output;
  return typeof text === "string" ? text : "";
}

export async function callGenerate(
  client: DeploymentClient,
  body: Record<string, unknown>,
  options: CallOptions,
): Promise<CallResult> {
  const now = options.now ?? performance.now.bind(performance);
  let attempts = 0;
  return withRetry(
    async (attempt) => {
      attempts = attempt;
      const started = now();
      if (!options.stream) {
        const answer = await client.generate(body, options.signal);
        const text = textOf(answer);
        options.onText?.(text);
        return { text, answer, latencyMs: now() - started, attempts };
      }
      const pieces: string[] = [];
      let firstPieceAt: number | undefined;
      let last: GenerateAnswer = {};
      await client.generateStream(
        body,
        (event) => {
          last = event;
          const piece = textOf(event);
          if (piece === "") return;
          firstPieceAt ??= now();
          pieces.push(piece);
          options.onText?.(piece);
        },
        options.signal,
      );
      const text = pieces.join("");
      return {
        text,
        answer: { ...last, text_output: text },
        latencyMs: now() - started,
        timeToFirstTokenMs: firstPieceAt === undefined ? undefined : firstPieceAt - started,
        outputTokens: pieces.length,
        attempts,
      };
    },
    {
      policy: options.policy,
      shouldRetry: isRetryableStatus,
      onRetry: options.onRetry,
      signal: options.signal,
    },
  );
}

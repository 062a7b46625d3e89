/**
 * One call to the deployment, measured: latency, time to first streamed piece, streamed events,
 * attempts. `invoke`, `evaluate` and the endpoint proof go through it, so all retry and time calls
 * the same way, on Triton's generate API and on the OpenAI chat route alike.
 */
import { chatAnswerText, chatChunkText, type DeploymentApi } from "./chat";
import { type DeploymentClient, type GenerateAnswer, isRetryableStatus } from "./deployment-client";
import { type BackoffPolicy, withRetry } from "../retry";

export interface CallResult {
  readonly text: string;
  /**
   * The whole answer. For a Triton stream, its last event with `text_output` set to the joined
   * pieces; for an OpenAI stream, its last chunk as it came (`text` holds the joined pieces).
   */
  readonly answer: GenerateAnswer;
  readonly latencyMs: number;
  /** Streaming only: from sending the request to the first piece of text. */
  readonly timeToFirstTokenMs?: number;
  /**
   * Streaming only: the events that carried text. Not a token count: an event may carry several
   * tokens' text, and a step whose text is held back (an incomplete character, the start of a stop
   * string) sends none. `evaluate` counts tokens with the model's tokenizer instead (tokenizer.ts).
   */
  readonly events?: number;
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

function tritonText(answer: GenerateAnswer): string {
  const text = answer.text_output;
  return typeof text === "string" ? text : "";
}

/** The text of a whole answer, and of one streamed event, for each API. */
const TEXT_OF: Readonly<
  Record<DeploymentApi, { answer: (a: GenerateAnswer) => string; event: (e: GenerateAnswer) => string }>
> = {
  triton: { answer: tritonText, event: tritonText },
  openai: { answer: chatAnswerText, event: chatChunkText },
};

export async function callGenerate(
  client: DeploymentClient,
  body: Record<string, unknown>,
  options: CallOptions,
): Promise<CallResult> {
  const now = options.now ?? performance.now.bind(performance);
  const api = client.api ?? "triton";
  const textOf = TEXT_OF[api];
  let attempts = 0;
  return withRetry(
    async (attempt) => {
      attempts = attempt;
      const started = now();
      if (!options.stream) {
        const answer = await client.generate(body, options.signal);
        const text = textOf.answer(answer);
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
          const piece = textOf.event(event);
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
        answer: api === "triton" ? { ...last, text_output: text } : last,
        latencyMs: now() - started,
        timeToFirstTokenMs: firstPieceAt === undefined ? undefined : firstPieceAt - started,
        events: pieces.length,
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

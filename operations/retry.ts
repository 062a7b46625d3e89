/**
 * Retry with exponential backoff and full jitter: each wait is uniform in [0, min(max, base * 2^n)],
 * so many clients throttled together (evaluate's concurrent prompts) do not come back in lockstep
 * (AWS Architecture Blog, "Exponential Backoff And Jitter", the "full jitter" variant).
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface BackoffPolicy {
  /** Calls in total, the first included. */
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

// OCI documents 429 and 503 from /predict as "retry with backoff" (Data Science docs, "Predict
// Endpoint", API responses table); five calls over up to ~15 s rides out a brief throttle.
export const PREDICT_BACKOFF: BackoffPolicy = { attempts: 5, baseMs: 500, maxMs: 8_000 };

/** Wait before retry number `retry` (0 for the first retry). `random` returns [0, 1). */
export function backoffDelayMs(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  readonly policy: BackoffPolicy;
  readonly shouldRetry: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, delayMs: number, nextAttempt: number) => void;
  readonly signal?: AbortSignal;
  readonly random?: () => number;
}

/** Runs `call` until it succeeds, fails with an error `shouldRetry` refuses, or attempts run out. */
export async function withRetry<T>(call: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      if (attempt >= options.policy.attempts || !options.shouldRetry(error) || options.signal?.aborted)
        throw error;
      const delayMs = backoffDelayMs(attempt - 1, options.policy, options.random);
      options.onRetry?.(error, delayMs, attempt + 1);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}

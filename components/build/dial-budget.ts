/**
 * How many dial errors `@pulumi/command`'s remote connection must be allowed to outlast a host that
 * refuses connections for a while (a GPU VM booting, a Bastion session not yet answering), from the
 * provider's real retry schedule rather than from `perDialTimeout`.
 *
 * pulumi-command v1.2.1 dials through `dialWithRetry` (provider/pkg/provider/remote/connection.go
 * 150-187), which runs `retry.Until` from the Pulumi Go SDK with an `Acceptor` that sets only
 * `Accept`, so the SDK's default schedule applies. provider/go.mod:12 requires
 * github.com/pulumi/pulumi/sdk/v3 v3.224.0, whose sdk/go/common/util/retry/until.go says:
 *
 * - the first wait is 100 ms, each next one 1.5 times the last, none longer than 5 s (lines 40-42);
 * - the loop calls `Accept`, and only when it declines waits `delay` (clamped to the maximum first),
 *   then multiplies `delay` by the backoff as a `time.Duration`, whole nanoseconds (lines 90-112).
 *
 * `Accept` (connection.go 153-173) counts `dials = try + 1` and gives up once `dials > limit`
 * (`reachedDialingErrorLimit`, connection.go 252-255): a limit of N makes N + 1 attempts with N waits
 * between them. Its message says "after N failed attempts" (connection.go 161-162) all the same.
 *
 * Through a proxy, the hop from the bastion to the target ("Dial from proxy", connection.go 222-224)
 * is an SSH channel the bastion opens: a target that refuses the port answers at once, so the waits
 * are all the time N dial errors buy, whatever `perDialTimeout` is. `perDialTimeout` is the
 * `ssh.ClientConfig.Timeout` of a direct dial (connection.go 104), which bounds an attempt that hangs.
 */

/** `retry.DefaultDelay`, `DefaultBackoff`, `DefaultMaxDelay` (until.go:40-42). */
export const RETRY_FIRST_DELAY_NS = 100_000_000;
export const RETRY_BACKOFF = 1.5;
export const RETRY_MAX_DELAY_NS = 5_000_000_000;

const NS_PER_SECOND = 1e9;

function checkLimit(dialErrorLimit: number): void {
  if (!Number.isInteger(dialErrorLimit) || dialErrorLimit < 0) {
    throw new RangeError(
      `dialErrorLimit ${dialErrorLimit} has no bounded schedule: pass a whole number of dial errors, 0 or more (-1, the provider's "unlimited", never gives up)`,
    );
  }
}

/**
 * The waits, in nanoseconds, `dialWithRetry` takes with `dialErrorLimit` N when every attempt fails:
 * N of them, as until.go computes them (clamp, wait, then grow by the backoff in whole nanoseconds).
 */
export function retryDelaysNs(dialErrorLimit: number): number[] {
  checkLimit(dialErrorLimit);
  const delays: number[] = [];
  let delay = RETRY_FIRST_DELAY_NS;
  for (let wait = 0; wait < dialErrorLimit; wait++) {
    if (delay > RETRY_MAX_DELAY_NS) delay = RETRY_MAX_DELAY_NS;
    delays.push(delay);
    delay = Math.trunc(delay * RETRY_BACKOFF);
  }
  return delays;
}

/**
 * Seconds `dialErrorLimit` N dial errors last when every attempt fails at once (a refused channel
 * through a proxy): the sum of the N waits.
 */
export function instantFailureSeconds(dialErrorLimit: number): number {
  return retryDelaysNs(dialErrorLimit).reduce((sum, delay) => sum + delay, 0) / NS_PER_SECOND;
}

/**
 * The smallest `dialErrorLimit` whose waits alone last at least `budgetSeconds`: the limit that
 * outlasts a host refusing connections for that long even when every attempt fails instantly.
 */
export function dialErrorLimitFor(budgetSeconds: number): number {
  if (!Number.isFinite(budgetSeconds) || budgetSeconds < 0) {
    throw new RangeError(
      `the dial budget ${budgetSeconds} s is not a duration: pass the seconds the connection must survive, 0 or more`,
    );
  }
  const budgetNs = budgetSeconds * NS_PER_SECOND;
  let limit = 0;
  let waitedNs = 0;
  let delay = RETRY_FIRST_DELAY_NS;
  while (waitedNs < budgetNs) {
    if (delay > RETRY_MAX_DELAY_NS) delay = RETRY_MAX_DELAY_NS;
    waitedNs += delay;
    delay = Math.trunc(delay * RETRY_BACKOFF);
    limit++;
  }
  return limit;
}

/**
 * The longest `dialErrorLimit` N dial errors can take when every attempt runs to `perDialTimeout`:
 * N + 1 attempts of that many seconds plus the N waits between them. A `perDialTimeout` of 0 sets no
 * maximum on an attempt (the provider's description, connection.go 74-77), so there is no bound.
 */
export function worstCaseDialSeconds(dialErrorLimit: number, perDialTimeoutSeconds: number): number {
  checkLimit(dialErrorLimit);
  if (!Number.isFinite(perDialTimeoutSeconds) || perDialTimeoutSeconds < 0) {
    throw new RangeError(
      `perDialTimeout ${perDialTimeoutSeconds} s is not a duration: pass whole seconds, 0 or more`,
    );
  }
  if (perDialTimeoutSeconds === 0) return Number.POSITIVE_INFINITY;
  return (dialErrorLimit + 1) * perDialTimeoutSeconds + instantFailureSeconds(dialErrorLimit);
}

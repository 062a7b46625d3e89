/**
 * Expiry times that are fixed when set and move only when the TTL changes. The time is taken once by
 * a local command and kept in state, so every later `pulumi up` sees the same value, and setting
 * `evaluation.ttlHours` on an existing stack (or changing it) sets a new one: no `ignoreChanges`
 * that would freeze the tag at whatever the first run wrote. The command is a resource of whoever
 * owns the expiry (the program for the deployment, `EngineBuild` for its instance).
 */

/** The freeform tag that carries an expiry; the policy pack requires it on evaluation GPUs. */
export const EXPIRES_AT_TAG = "expires-at";

/**
 * Hours after which `reap` deletes a build host, its network and its IAM, whatever became of the
 * stack: the `expires-at` those resources carry is their creation plus this.
 */
export const BUILD_TTL_HOURS = 12;

/** Prints `now + hours` as ISO 8601 UTC to the second, with the Node that runs the program. */
export function expiryCommand(hours: number): string {
  if (!(hours > 0)) throw new Error(`an expiry needs a positive number of hours, not ${hours}`);
  return `node -e "console.log(new Date(Date.now() + ${hours} * 3600000).toISOString().replace(/\\.\\d{3}Z$/, 'Z'))"`;
}

/**
 * Expiry times that are fixed when set and move only when the TTL changes. The time is taken once by
 * a local command and kept in state, so every later `pulumi up` sees the same value, and setting
 * `evaluation.ttlHours` on an existing stack (or changing it) sets a new one: no `ignoreChanges`
 * that would freeze the tag at whatever the first run wrote.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** Prints `now + hours` as ISO 8601 UTC to the second, with the Node that runs the program. */
export function expiryCommand(hours: number): string {
  if (!(hours > 0)) throw new Error(`an expiry needs a positive number of hours, not ${hours}`);
  return `node -e "console.log(new Date(Date.now() + ${hours} * 3600000).toISOString().replace(/\\.\\d{3}Z$/, 'Z'))"`;
}

export function expiryClock(
  name: string,
  hours: number,
  opts?: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const clock = new command.local.Command(name, { create: expiryCommand(hours) }, opts);
  return clock.stdout.apply((out) => out.trim());
}

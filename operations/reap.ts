/**
 * `reap`: destroys the stacks of this project whose `expiresAt` output has passed. Stacks without
 * `expiresAt` (production: no `evaluation.ttlHours`) are never touched, nor are stacks whose
 * outputs cannot be read.
 */
import { minimatch } from "minimatch";
import { type CliIo, parseCommandLine, resolveFrom, runCommand } from "./cli";
import { UsageError } from "./errors";
import { errorMessage } from "./oci-client";
import type { StackBackend, StackOutputs } from "./stacks";

export const REAP_USAGE = `usage: npm run -s reap -- [--dry-run] [--stacks <glob>]
  --dry-run          list what would be destroyed, destroy nothing
  --stacks <glob>    only stacks whose name matches (default: every stack of the project)
  --dir <path>       project folder (default: the current folder)
  --help             this text`;

const OPTIONS = {
  "dry-run": { type: "boolean", default: false },
  stacks: { type: "string", default: "*" },
  dir: { type: "string" },
  help: { type: "boolean", default: false },
} as const;

export type ReapAction = "destroyed" | "would destroy" | "kept" | "destroy failed" | "skipped";

export interface ReapDecision {
  readonly stack: string;
  readonly action: ReapAction;
  readonly reason: string;
  readonly usdPerHour?: number;
}

/** Whether a stack with these outputs has expired at `now`: a reason either way. */
export function expiry(outputs: StackOutputs, now: Date): { expired: boolean; reason: string } {
  const value = outputs.expiresAt;
  if (value === undefined || value === null || value === "") {
    return { expired: false, reason: "no expiresAt output (no evaluation.ttlHours): never reaped" };
  }
  const at = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    return { expired: false, reason: `expiresAt ${JSON.stringify(value)} is not a date: left alone` };
  }
  return at.getTime() <= now.getTime()
    ? { expired: true, reason: `expired at ${value}` }
    : { expired: false, reason: `expires at ${value}` };
}

export interface ReapOptions {
  readonly dryRun: boolean;
  readonly pattern: string;
  readonly now: Date;
  readonly log: (line: string) => void;
}

export async function reapStacks(backend: StackBackend, options: ReapOptions): Promise<ReapDecision[]> {
  const decisions: ReapDecision[] = [];
  const stacks = (await backend.listStacks()).filter((name) => minimatch(name, options.pattern));
  for (const stack of stacks) {
    let outputs: StackOutputs;
    try {
      outputs = await backend.outputs(stack);
    } catch (error) {
      decisions.push({
        stack,
        action: "skipped",
        reason: `outputs unreadable: ${errorMessage(error).split("\n")[0]}`,
      });
      continue;
    }
    const usdPerHour =
      typeof outputs.estimatedUsdPerHour === "number" ? outputs.estimatedUsdPerHour : undefined;
    const { expired, reason } = expiry(outputs, options.now);
    if (!expired) {
      decisions.push({ stack, action: "kept", reason });
      continue;
    }
    if (options.dryRun) {
      decisions.push({ stack, action: "would destroy", reason, usdPerHour });
      continue;
    }
    options.log(`${stack}: ${reason}, destroying ...`);
    try {
      await backend.destroy(stack, { onOutput: () => undefined });
      decisions.push({ stack, action: "destroyed", reason, usdPerHour });
    } catch (error) {
      decisions.push({
        stack,
        action: "destroy failed",
        reason: `${reason}; ${errorMessage(error).split("\n")[0]}`,
        usdPerHour,
      });
    }
  }
  return decisions;
}

const cost = (usdPerHour: number | undefined) =>
  usdPerHour === undefined ? "cost unknown" : `${usdPerHour} USD/h`;

export async function reapMain(
  argv: string[],
  io: CliIo,
  backend: (projectDir: string) => StackBackend,
  now: () => Date = () => new Date(),
): Promise<number> {
  return runCommand(io, REAP_USAGE, async () => {
    const { values, positionals } = parseCommandLine(argv, OPTIONS);
    if (values.help) {
      io.write(`${REAP_USAGE}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const decisions = await reapStacks(backend(resolveFrom(io, values.dir ?? ".")), {
      dryRun: values["dry-run"],
      pattern: values.stacks,
      now: now(),
      log: (line) => io.write(`${line}\n`),
    });
    for (const decision of decisions) {
      const money =
        decision.action === "kept" || decision.action === "skipped" ? "" : ` (${cost(decision.usdPerHour)})`;
      io.write(`${decision.action.padEnd(14)} ${decision.stack}: ${decision.reason}${money}\n`);
    }
    const stopped = decisions.filter((decision) => decision.action === "destroyed");
    const stoppedUsd = stopped.reduce((sum, decision) => sum + (decision.usdPerHour ?? 0), 0);
    if (values["dry-run"]) {
      const would = decisions.filter((decision) => decision.action === "would destroy");
      io.write(`dry run: ${would.length} stack(s) would be destroyed, nothing was\n`);
    } else {
      io.write(
        `destroyed ${stopped.length} stack(s), stopping ${Math.round(stoppedUsd * 100) / 100} USD/h\n`,
      );
    }
    const failed = decisions.filter((decision) => decision.action === "destroy failed");
    for (const decision of failed) {
      io.error(
        `error: ${decision.stack} is still running (${cost(decision.usdPerHour)}). Fix: pulumi destroy --stack ${decision.stack}`,
      );
    }
    return failed.length === 0 ? 0 : 1;
  });
}

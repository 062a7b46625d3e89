/**
 * `reap`: destroys the stacks of this project whose `expiresAt` output has passed. Stacks without
 * `expiresAt` (production: no `evaluation.ttlHours`) are never touched, nor are stacks whose
 * outputs cannot be read. Then it deletes the build hosts' resources (instances, bastions, networks,
 * and their dynamic group and policy) whose own `expires-at` tag has passed, whatever their stack
 * (build-resources.ts). Unless told to act (`dryRun: false`, the CLI's `--yes`), it only lists what
 * it would destroy and delete. cli/reap.ts reads the flags.
 */
import { minimatch } from "minimatch";
import { type AuthOptions, createAuthProvider, errorMessage } from "../oci-client";
import type { OutputSink } from "../output";
import {
  type CloudResources,
  ociCloudResources,
  reapResources,
  type ResourceDecision,
} from "./build-resources";
import type { StackBackend, StackOutputs } from "../stacks";

/** Where the build resources are searched and deleted: the OCI side of `reap`. */
export type CloudConnector = (auth: AuthOptions, region: string | undefined) => Promise<CloudResources>;

const ociConnector: CloudConnector = async (auth, region) =>
  ociCloudResources(await createAuthProvider(auth), region === undefined ? {} : { region });

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

export interface ReapStacksOptions {
  readonly dryRun: boolean;
  readonly pattern: string;
  readonly now: Date;
  readonly log: (line: string) => void;
}

export async function reapStacks(backend: StackBackend, options: ReapStacksOptions): Promise<ReapDecision[]> {
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

/** The build resources' part of the run: one line each, and whether any failed. */
async function reapBuildResources(
  cloud: () => Promise<CloudResources>,
  options: { dryRun: boolean; pattern: string; now: Date },
  io: OutputSink,
): Promise<boolean> {
  let decisions: ResourceDecision[];
  let iamUnchecked: string | undefined;
  try {
    ({ decisions, iamUnchecked } = await reapResources(await cloud(), options));
  } catch (error) {
    io.error(`error: build resources were not checked: ${errorMessage(error).split("\n")[0]}`);
    return false;
  }
  for (const d of decisions) {
    io.write(`${d.action.padEnd(14)} ${d.type} ${d.name} (${d.id}), stack ${d.stack || "?"}: ${d.reason}\n`);
  }
  const count = (action: ResourceDecision["action"]) => decisions.filter((d) => d.action === action).length;
  io.write(
    options.dryRun
      ? `dry run: ${count("would delete")} build resource(s) would be deleted, nothing was (--yes deletes them)\n`
      : `deleted ${count("deleted")} build resource(s); ${count("in use")} still in use, for a later run\n`,
  );
  const failed = decisions.filter((d) => d.action === "delete failed");
  for (const d of failed) io.error(`error: ${d.type} ${d.id} was not deleted: ${d.reason}`);
  if (iamUnchecked !== undefined) {
    io.error(`error: the builds' dynamic groups and policies were not checked: ${iamUnchecked}`);
  }
  return failed.length === 0 && iamUnchecked === undefined;
}

export interface ReapOptions {
  /** List what would be destroyed and deleted; destroy and delete nothing. The CLI's default. */
  readonly dryRun: boolean;
  /** A glob: only stacks, and build resources tagged with a stack, whose name matches. */
  readonly pattern: string;
  /** Where to search for expired build resources; unset: the profile's region. */
  readonly region?: string;
  readonly auth: AuthOptions;
}

export interface ReapDeps {
  readonly output: OutputSink;
  /** The project's stacks. */
  readonly backend: StackBackend;
  readonly now?: () => Date;
  /** The OCI side: Resource Search and the deletes. */
  readonly connect?: CloudConnector;
}

/** Reaps expired stacks, then expired build resources; true when nothing failed. */
export async function reap(options: ReapOptions, deps: ReapDeps): Promise<boolean> {
  const { output: io, backend } = deps;
  const now = deps.now ?? (() => new Date());
  const connect = deps.connect ?? ociConnector;
  const decisions = await reapStacks(backend, {
    dryRun: options.dryRun,
    pattern: options.pattern,
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
  if (options.dryRun) {
    const would = decisions.filter((decision) => decision.action === "would destroy");
    io.write(`dry run: ${would.length} stack(s) would be destroyed, nothing was (--yes destroys them)\n`);
  } else {
    io.write(`destroyed ${stopped.length} stack(s), stopping ${Math.round(stoppedUsd * 100) / 100} USD/h\n`);
  }
  const failed = decisions.filter((decision) => decision.action === "destroy failed");
  for (const decision of failed) {
    io.error(
      `error: ${decision.stack} is still running (${cost(decision.usdPerHour)}). Fix: pulumi destroy --stack ${decision.stack}`,
    );
  }
  const resourcesOk = await reapBuildResources(
    () => connect(options.auth, options.region),
    { dryRun: options.dryRun, pattern: options.pattern, now: now() },
    io,
  );
  return failed.length === 0 && resourcesOk;
}

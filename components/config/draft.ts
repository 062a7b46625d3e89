/**
 * Judging a configuration that has bad settings: the draft replaces them with defaults or stand-ins,
 * and a check runs on it only when it reads none of them, so one bad setting never hides the
 * errors of the others and no verdict is ever passed on a stand-in.
 */
import type { z } from "zod";
import { STAND_INS } from "./defaults";
import { type ParsedSchema, stackSchema, type StackConfig } from "./schema";
import { valueAt } from "./schema-errors";

/** A configuration with stand-ins for its bad settings, and the keys of those settings. */
export interface Draft {
  readonly config: StackConfig;
  readonly badKeys: ReadonlySet<string>;
}

/**
 * Whether a rule that read `read` depends on the bad setting `bad`. A rule that lists a map (the
 * environment) still runs when one entry is bad: that entry is left out, so the rule can miss a
 * problem of the bad entry but never report one that is not there.
 */
export function overlaps(read: string, bad: string): boolean {
  return read === bad || read.startsWith(`${bad}.`);
}

/**
 * Runs a check on a view of the configuration that records the settings it reads: a leaf when the
 * check reads its value, a map when it lists its keys.
 */
function runRecordingReads<T>(
  check: (config: StackConfig) => T,
  config: StackConfig,
): { result: T; reads: Set<string> } {
  const reads = new Set<string>();
  const view = <T extends object>(node: T, prefix: string): T =>
    new Proxy(node, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof property !== "string") return value;
        const key = prefix === "" ? property : `${prefix}.${property}`;
        if (value !== null && typeof value === "object" && !Array.isArray(value)) return view(value, key);
        reads.add(key);
        return value;
      },
      ownKeys(target) {
        reads.add(prefix);
        return Reflect.ownKeys(target);
      },
    });
  return { result: check(view(config, "")), reads };
}

/**
 * The values with every setting the schema refused taken out (back to its default) or replaced by a
 * stand-in, parsed: what the cross-field rules run on when some settings are bad, so one bad
 * setting never hides the errors of the others. Undefined when nothing usable is left.
 */
export function parseWithoutBadSettings(
  values: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
): ParsedSchema | undefined {
  const repaired = structuredClone(values);
  for (const issue of issues) {
    const paths =
      issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of paths) {
      if (path.length === 0) return undefined;
      const parent = valueAt(repaired, path.slice(0, -1));
      if (parent !== null && typeof parent === "object") {
        Reflect.deleteProperty(parent, path[path.length - 1]);
      }
      const standIn = STAND_INS[path.map(String).join(".")];
      if (standIn !== undefined) repaired[String(path[0])] = standIn;
    }
  }
  const reparsed = stackSchema.safeParse(repaired);
  return reparsed.success ? reparsed.data : undefined;
}

/** What `check` returns on the draft, or undefined when it read a bad setting (its verdict would judge a stand-in). */
export function withGoodSettings<T>(draft: Draft, check: (config: StackConfig) => T): T | undefined {
  const run = runRecordingReads(check, draft.config);
  const dependsOnBad = [...run.reads].some((read) => [...draft.badKeys].some((key) => overlaps(read, key)));
  return dependsOnBad ? undefined : run.result;
}

/**
 * The schema's complaints in the stack's own terms: each zod issue becomes a ConfigError naming the
 * dotted key, the value the user wrote and the command that fixes it.
 */
import { z } from "zod";
import { type ConfigError, stackSchema } from "./schema";
import { quoted, shellWord } from "./quoting";
import { closest } from "./spelling";

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function setCommand(key: string): string {
  return `pulumi config set --path ${shellWord(key)} <value>`;
}

/** Advice added to every error of a key, where the generic fix would leave the user guessing. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  "evaluation.ttlHours":
    "or remove it to keep the deployment without an expiry: pulumi config rm --path evaluation.ttlHours",
  "docker.host":
    "e.g. ssh://opc@10.0.0.5, tcp://10.0.0.5:2376 or unix:///var/run/docker.sock; remove it to use the local daemon",
};

// A grammar's problem may end by asking `; did you mean "x"?`, and a printed error ends its message
// with a period (`formatConfigError`): the question goes in parentheses, so the line never reads `?.`.
const TRAILING_QUESTION = /; (did you mean [^;]*\?)$/;

/**
 * An error as it is reported: the key's own advice added to its fix, a trailing "did you mean"
 * question put in parentheses.
 */
export function withHint(error: ConfigError): ConfigError {
  const hint = KEY_HINTS[error.key];
  const message = error.message.replace(TRAILING_QUESTION, " ($1)");
  return { ...error, message, fix: hint === undefined ? error.fix : `${error.fix}; ${hint}` };
}

export function schemaIssueToError(issue: z.core.$ZodIssue, values: unknown): ConfigError[] {
  const key = issue.path.map(String).join(".");
  const value = valueAt(values, issue.path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((unknownKey) => {
        const fullKey = key ? `${key}.${unknownKey}` : unknownKey;
        const siblings = Object.keys(shapeAt(issue.path));
        const guess = closest(unknownKey, siblings);
        return {
          key: fullKey,
          value: valueAt(values, [...issue.path, unknownKey]),
          message: "is not a setting of this stack",
          fix: guess
            ? `did you mean '${key ? `${key}.` : ""}${guess}'? Remove it with 'pulumi config rm --path ${shellWord(fullKey)}'`
            : `remove it with 'pulumi config rm --path ${shellWord(fullKey)}'; known keys here: ${siblings.join(", ")}`,
        };
      });
    case "invalid_value": {
      const allowed = issue.values.map(String);
      const meant = typeof value === "string" ? closest(value, allowed) : undefined;
      return [
        {
          key,
          value,
          message: `is not one of the supported values (${allowed.join(", ")})`,
          fix:
            meant === undefined
              ? `use one of ${allowed.join(", ")}: ${setCommand(key)}`
              : `did you mean ${quoted(meant)}? pulumi config set --path ${shellWord(key)} ${shellWord(meant)}`,
        },
      ];
    }
    case "invalid_type":
      return [
        value === undefined
          ? { key, value, message: "is required", fix: `set it: ${setCommand(key)}` }
          : { key, value, message: `must be ${describeExpected(issue.expected)}`, fix: setCommand(key) },
      ];
    case "too_small":
    case "too_big":
      return [
        {
          key,
          value,
          message: issue.message.replace(/^Too (small|big): expected \w+ to (have |be )?/, "must be "),
          fix: `set a value ${issue.code === "too_small" ? "at least" : "at most"} ${String(
            issue.code === "too_small" ? issue.minimum : issue.maximum,
          )}: ${setCommand(key)}`,
        },
      ];
    default:
      return [{ key, value, message: issue.message, fix: setCommand(key) }];
  }
}

const EXPECTED_NAMES: Readonly<Record<string, string>> = {
  int: "a whole number",
  number: "a number",
  string: "text",
  boolean: "true or false",
  object: "a map of settings (key: value lines below it)",
  record: "a map of settings (key: value lines below it)",
  array: "a list",
};

function describeExpected(expected: string): string {
  return EXPECTED_NAMES[expected] ?? expected;
}

function shapeAt(path: readonly PropertyKey[]): Record<string, unknown> {
  let node: z.ZodType = stackSchema;
  for (const part of path) {
    const unwrapped = unwrap(node);
    if (!(unwrapped instanceof z.ZodObject)) return {};
    node = unwrapped.shape[String(part)] as z.ZodType;
  }
  const unwrapped = unwrap(node);
  return unwrapped instanceof z.ZodObject ? unwrapped.shape : {};
}

function unwrap(node: z.ZodType): z.ZodType {
  let current = node;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodOptional
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** The keys an issue reports as bad; an unknown key is not read by anything, so it makes none bad. */
export function issueKeys(issue: z.core.$ZodIssue): string[] {
  const key = issue.path.map(String).join(".");
  return issue.code === "unrecognized_keys" ? [] : [key];
}

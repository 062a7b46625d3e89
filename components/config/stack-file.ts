/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI would hand it to the program, without the CLI:
 * what `check`, `render` and the tests use. Secret values stay encrypted and unread; only their
 * presence is reported.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { stackNameProblem, suggestStackName } from "./grammars";
import { PROJECT, RawStackConfig, SECRET_KEYS } from "./schema";

export interface StackFile {
  readonly path: string;
  readonly raw: RawStackConfig;
  /** Secret keys written in plain text, which `pulumi config set --secret` would have encrypted. */
  readonly plaintextSecrets: string[];
}

/** The file is not a stack file at all (YAML syntax, or `config` is not a map): nothing to check. */
export class StackFileError extends Error {}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && "secure" in value;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

function readDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new StackFileError(`${path} cannot be read: ${(error as Error).message}`);
  }
  try {
    return parse(text) ?? {};
  } catch (error) {
    throw new StackFileError(
      `${path} is not valid YAML: ${(error as Error).message.split("\n")[0].replace(/:$/, "")}. Fix the file, or recreate it with 'pulumi config set'`,
    );
  }
}

export function readStackFile(projectDir: string, stack: string): StackFile {
  const path = stackFilePath(projectDir, stack);
  const document = readDocument(path);
  if (!isMap(document)) {
    throw new StackFileError(
      `${path} must be a map with a 'config:' key; it holds ${JSON.stringify(document)}`,
    );
  }
  const entries = document.config ?? {};
  if (!isMap(entries)) {
    throw new StackFileError(
      `${path}: 'config' must be a map of settings ('  <namespace>:<key>: <value>' lines below it), not ${JSON.stringify(entries)}`,
    );
  }
  const values: Record<string, unknown> = {};
  const secretsSet = new Set<string>();
  const plaintextSecrets: string[] = [];
  const otherKeys: string[] = [];
  let ociRegion: string | undefined;
  for (const [fullKey, value] of Object.entries(entries)) {
    const colon = fullKey.indexOf(":");
    const [namespace, key] =
      colon >= 0 ? [fullKey.slice(0, colon), fullKey.slice(colon + 1)] : [PROJECT, fullKey];
    if (namespace !== PROJECT) {
      otherKeys.push(fullKey);
      if (fullKey === "oci:region") ociRegion = typeof value === "string" ? value : undefined;
      continue;
    }
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      secretsSet.add(key);
      if (!isSecure(value)) plaintextSecrets.push(key);
      continue;
    }
    values[key] = value;
  }
  return { path, raw: { values, ociRegion, secretsSet, otherKeys }, plaintextSecrets };
}

/** The stacks of the project folder: one `Pulumi.<stack>.yaml` each. */
export function stackFilesIn(projectDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(projectDir);
  } catch {
    return [];
  }
  return names.flatMap((name) => /^Pulumi\.(.+)\.yaml$/.exec(name)?.[1] ?? []);
}

/**
 * Why `stack` cannot name a stack here: not a Pulumi stack name, or no stack file of that name;
 * either way with the stack probably meant. Undefined when the stack file exists.
 */
export function stackNameIssue(projectDir: string, stack: string): string | undefined {
  const existing = stackFilesIn(projectDir);
  const meant = suggestStackName(stack, existing);
  const didYouMean = meant === undefined ? "" : `; did you mean ${JSON.stringify(meant)}?`;
  const problem = stackNameProblem(stack);
  if (problem !== undefined) return `${JSON.stringify(stack)} ${problem}${didYouMean}`;
  if (existsSync(stackFilePath(projectDir, stack))) return undefined;
  return (
    `${stackFilePath(projectDir, stack)} does not exist${didYouMean}` +
    ` (create it with 'pulumi stack init ${stack}' and set its config, or pass --dir <project dir>)`
  );
}

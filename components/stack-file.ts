/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI would hand it to the program, without the CLI:
 * what `check`, `render` and the tests use. Secret values stay encrypted and unread; only their
 * presence is reported.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT, RawStackConfig, SECRET_KEYS } from "./config";

export interface StackFile {
  readonly path: string;
  readonly raw: RawStackConfig;
  /** Secret keys written in plain text, which `pulumi config set --secret` would have encrypted. */
  readonly plaintextSecrets: string[];
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && "secure" in value;
}

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

export function readStackFile(projectDir: string, stack: string): StackFile {
  const path = stackFilePath(projectDir, stack);
  const document: unknown = parse(readFileSync(path, "utf8")) ?? {};
  const entries =
    typeof document === "object" && document !== null && "config" in document
      ? ((document as { config?: Record<string, unknown> }).config ?? {})
      : {};
  const values: Record<string, unknown> = {};
  const secretsSet = new Set<string>();
  const plaintextSecrets: string[] = [];
  let ociRegion: string | undefined;
  for (const [fullKey, value] of Object.entries(entries)) {
    if (fullKey === "oci:region") {
      ociRegion = typeof value === "string" ? value : undefined;
      continue;
    }
    const [namespace, key] = fullKey.includes(":") ? fullKey.split(":", 2) : [PROJECT, fullKey];
    if (namespace !== PROJECT) continue;
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      secretsSet.add(key);
      if (!isSecure(value)) plaintextSecrets.push(key);
      continue;
    }
    values[key] = value;
  }
  return { path, raw: { values, ociRegion, secretsSet }, plaintextSecrets };
}

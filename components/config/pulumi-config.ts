/**
 * The program's config source: Pulumi's runtime configuration turned into the same raw shape the
 * stack-file reader produces, so both go through one parser.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, RawStackConfig, SECRET_KEYS } from "./schema";

export function readPulumiConfig(): RawStackConfig {
  const prefix = `${PROJECT}:`;
  const values: Record<string, unknown> = {};
  const secretsSet = new Set<string>();
  const otherKeys: string[] = [];
  for (const [fullKey, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) {
      otherKeys.push(fullKey);
      continue;
    }
    const key = fullKey.slice(prefix.length);
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      secretsSet.add(key);
      continue;
    }
    values[key] = decode(text);
  }
  return { values, ociRegion: new pulumi.Config("oci").get("region"), secretsSet, otherKeys };
}

// The CLI passes structured values (set with --path or written as YAML maps) as JSON text.
function decode(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

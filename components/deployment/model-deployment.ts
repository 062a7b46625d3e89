/**
 * What the model deployment carries besides its container: tags, log names, log retention, and
 * whether it streams.
 */
import type { ContainerSpec } from "./container-spec";
import { EXPIRES_AT_TAG } from "./expiry";

export const LOG_RETENTION_DAYS = 30;

/**
 * The deployment's tags. What changes with the image or the shape lives here rather than in the
 * catalog model's metadata: a tag update leaves a serving model alone, where a metadata update is
 * deactivate, update, activate (terraform-provider-oci v8.28.0
 * internal/service/datascience/datascience_model_resource.go:403-422, DeactivateModel at :1105).
 */
export function deploymentTags(
  stack: string,
  details: { imageDigest: string; shape: string; expiresAt?: string },
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...extra,
    "managed-by": "pulumi",
    stack,
    "image-digest": details.imageDigest,
    shape: details.shape,
    ...(details.expiresAt === undefined ? {} : { [EXPIRES_AT_TAG]: details.expiresAt }),
  };
}

/** Log names allow letters, digits, `-`, `_` and `.`; display names may hold anything. */
export function logName(displayName: string, kind: string): string {
  const base = displayName
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-|-$/g, "");
  return `${base}-${kind}`;
}

export function streamingEnabled(container: ContainerSpec): boolean {
  return container.environment.MODEL_DEPLOY_ENABLE_STREAMING === "true";
}

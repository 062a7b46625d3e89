/**
 * triton-trtllm-oci: configuration in, a signed Triton endpoint on OCI Data Science out.
 * Config is parsed and validated once, before any resource is registered; every error is reported
 * together, each naming its key.
 */
import * as pulumi from "@pulumi/pulumi";
import { formatConfigError, parseStackConfig, StackConfig } from "./components/config";
import { readPulumiConfig } from "./components/pulumi-config";
import { sizingSummary } from "./components/summary";

function loadConfig(): StackConfig {
  const result = parseStackConfig(readPulumiConfig());
  for (const warning of result.warnings) pulumi.log.warn(formatConfigError(warning));
  const errors = [...result.errors, ...result.missingSecrets];
  if (errors.length > 0 || result.config === undefined) {
    throw new pulumi.RunError(
      `invalid stack configuration (${errors.length} error(s)):\n${errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}`,
    );
  }
  return result.config;
}

const config = loadConfig();

export const sizing = sizingSummary(config);
export const estimatedUsdPerHour = sizing.cost.deploymentUsdPerHour;

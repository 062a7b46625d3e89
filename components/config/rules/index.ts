/**
 * Cross-field rules: the mistakes that otherwise surface after 30-60 minutes of GPU time. Each rule
 * is a pure function of the parsed configuration and returns every problem it finds; the parse
 * pipeline runs these lists on every configuration.
 */
import type { Rule } from "../schema";
import { awqBlockSizeRule } from "./awq";
import {
  contextLengthRule,
  gpuArchitectureRule,
  memoryRule,
  quantizationRule,
  tensorParallelRule,
} from "./gpu";
import { unusedDockerHostWarning } from "./image-mirror";
import { artifactSourcesRule, iamRule } from "./inputs";
import { containerSizeRule, environmentNamesRule, httpPortRule } from "./oci-limits";
import { chatFormatRule, defaultMaxTokensRule } from "./openai";
import { PRODUCTION_RULES, productionWarnings } from "./production";
import { streamingEvictionRule } from "./serving";
import { deprecatedSshCidrWarning, idleGpusWarning, movingImageTagWarning } from "./warnings";

// The program builds its container spec from the same view the OCI limits are checked on.
export { containerSpecInput } from "../views";

export const RULES: readonly Rule[] = [
  artifactSourcesRule,
  iamRule,
  quantizationRule,
  awqBlockSizeRule,
  tensorParallelRule,
  contextLengthRule,
  memoryRule,
  gpuArchitectureRule,
  streamingEvictionRule,
  chatFormatRule,
  defaultMaxTokensRule,
  // Apart, so a bad setting one of them reads does not silence the others.
  httpPortRule,
  environmentNamesRule,
  containerSizeRule,
  // A production endpoint: autoscaling, private access, alerts (rules/production.ts).
  ...PRODUCTION_RULES,
];

/** Advice that does not stop a deployment but costs money or reproducibility. */
export const WARNING_RULES: readonly Rule[] = [
  idleGpusWarning,
  movingImageTagWarning,
  deprecatedSshCidrWarning,
  unusedDockerHostWarning,
  productionWarnings,
];

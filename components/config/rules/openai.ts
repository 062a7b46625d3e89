/**
 * Rules on a stack that serves the OpenAI API (`deployment.api: openai`, deployment/openai-frontend.ts):
 * a conversation format for the model, and the default answer length.
 */
import { chatFormat } from "../chat-templates";
import type { ConfigError, Rule } from "../schema";

/**
 * The frontend renders every chat request with the tokenizer's chat template (server v2.57.0
 * python/openai/openai_frontend/engine/triton_engine.py:125-129), so a model that has none and is
 * given none cannot be chatted with: each request would fail.
 */
export const chatFormatRule: Rule = (config) => {
  if (config.deployment.api !== "openai") return [];
  const format = chatFormat(config.model.huggingFaceId);
  if (format?.kind !== "none") return [];
  return [
    {
      key: "model.huggingFaceId",
      value: config.model.huggingFaceId,
      message: `is ${format.why}, and deployment.api openai serves chat completions, whose prompts come from the model's chat template`,
      fix: `serve an instruct model (pulumi config set --path model.huggingFaceId ${config.model.huggingFaceId}-instruct), or set deployment.api triton to complete raw prompts through Triton's generate endpoint`,
    },
  ];
};

/**
 * `deployment.defaultMaxTokens`: what a request that sets no `max_tokens` gets, only where the
 * frontend leaves it to the model (the OpenAI API), and never more than the engine generates.
 */
export const defaultMaxTokensRule: Rule = (config) => {
  const tokens = config.deployment.defaultMaxTokens;
  if (tokens === undefined) return [];
  const errors: ConfigError[] = [];
  if (config.deployment.api !== "openai") {
    errors.push({
      key: "deployment.defaultMaxTokens",
      value: tokens,
      message:
        "applies to deployment.api openai only: on Triton's generate endpoint every request sends max_tokens, a required input",
      fix: "pulumi config rm --path deployment.defaultMaxTokens, or pulumi config set --path deployment.api openai",
    });
  }
  const { maxOutputLen } = config.engine;
  if (tokens > maxOutputLen) {
    errors.push({
      key: "deployment.defaultMaxTokens",
      value: tokens,
      message: `is more than engine.maxOutputLen (${maxOutputLen}), the most tokens the engine generates for one request`,
      fix: `pulumi config set --path deployment.defaultMaxTokens ${maxOutputLen} (or less), or remove it to use engine.maxOutputLen`,
    });
  }
  return errors;
};

/**
 * The JSON body of a generate call. With a stack, it is the stack's own example body
 * (components/deployment/stack-outputs.ts: the model's end/pad ids and the tensor names its image reads) with
 * the prompt, length and streaming flag of this call; without one, the catalogue's ids for `--model`.
 */
import { existsSync } from "node:fs";
import { MODELS } from "../../components/config/catalog";
import { formatConfigError, parseStackConfig, type StackConfig } from "../../components/config/config";
import { readStackFile, stackFilePath } from "../../components/config/stack-file";
import { exampleRequestBody } from "../../components/deployment/stack-outputs";
import { UsageError, UserError } from "../errors";

export interface CallOptions {
  readonly prompt: string;
  /** Unset: the example body's own `max_tokens`. */
  readonly maxTokens?: number;
  readonly stream: boolean;
}

export function stackRequestBody(config: StackConfig, call: CallOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { ...exampleRequestBody(config), text_input: call.prompt };
  if (call.maxTokens !== undefined) body.max_tokens = call.maxTokens;
  // `stream: true` on a model that is not decoupled always fails (tensorrtllm_backend v0.18.2
  // inflight_batcher_llm/src/utils.cc:795), so the key
  // is only sent where the example body has it, or when this call streams.
  if ("stream" in body || call.stream) body.stream = call.stream;
  return body;
}

export const DEFAULT_MAX_TOKENS = 64;

export function catalogueRequestBody(huggingFaceId: string, call: CallOptions): Record<string, unknown> {
  const model = MODELS[huggingFaceId];
  if (model === undefined) {
    throw new UsageError(
      `--model '${huggingFaceId}' is not in the model catalogue (${Object.keys(MODELS).join(", ")}): pass --stack to use a stack's configuration`,
    );
  }
  return {
    text_input: call.prompt,
    max_tokens: call.maxTokens ?? DEFAULT_MAX_TOKENS,
    end_id: model.eosTokenId,
    pad_id: model.padTokenId,
    ...(call.stream ? { stream: true } : {}),
  };
}

/** The stack's validated configuration, read offline from `Pulumi.<stack>.yaml` like `check` does. */
export function loadStackConfig(projectDir: string, stack: string): StackConfig {
  const path = stackFilePath(projectDir, stack);
  if (!existsSync(path)) {
    throw new UserError(
      `${path} does not exist: --stack '${stack}' names no stack of the project in ${projectDir}`,
    );
  }
  const result = parseStackConfig(readStackFile(projectDir, stack).raw);
  if (result.config === undefined || result.errors.length > 0) {
    const first = result.errors[0];
    throw new UserError(
      `${path} has ${result.errors.length} configuration error(s)${first ? `, first: ${formatConfigError(first)}` : ""}. Fix: npm run -s check -- --stack ${stack}`,
    );
  }
  return result.config;
}

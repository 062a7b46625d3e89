/** Pure builders for what the stack records and exports beside resource outputs. */
import type { StackConfig } from "../config/config";
import { requireServingImage, type RequestTensorNames } from "../config/image-catalog";
import { GREEDY_TOP_P, OPENAI_CHAT_ROUTE, OPENAI_MODEL } from "./openai-frontend";

/** What a client asks for; `generateRequestBody` turns it into the JSON the deployment reads. */
export interface GenerateRequest {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  /** Fewest tokens before the end token may stop generation. */
  readonly minTokens?: number;
  readonly seed?: number;
  readonly stopWords?: readonly string[];
  readonly badWords?: readonly string[];
  /** Text as it is generated; only a streaming stack (`deployment.streaming`) can. Default: streams there. */
  readonly stream?: boolean;
}

/** The request tensor names the stack's serving image reads (see components/config/image-catalog.ts). */
export function requestNames(config: StackConfig): RequestTensorNames {
  return requireServingImage(config.image.source).requestNames;
}

/**
 * The `/generate` body for `request` on this stack: the model's own end and pad ids, the request
 * names of the serving image's TensorRT-LLM release, and `stream` only where the stack is
 * decoupled (elsewhere the deployment refuses it). Throws when a stream is asked of a stack that
 * cannot stream.
 */
export function generateRequestBody(config: StackConfig, request: GenerateRequest): Record<string, unknown> {
  const decoupled = config.deployment.streaming;
  if (request.stream === true && !decoupled) {
    throw new Error(
      "stream: true needs a streaming stack; set deployment.streaming: true and run pulumi up, or send without stream",
    );
  }
  const names = requestNames(config);
  const optional: [string, unknown][] = [
    ["temperature", request.temperature],
    ["top_p", request.topP],
    ["top_k", request.topK],
    [names.minTokens, request.minTokens],
    [names.seed, request.seed],
    ["stop_words", request.stopWords],
    ["bad_words", request.badWords],
  ];
  return {
    text_input: request.prompt,
    max_tokens: request.maxTokens,
    ...Object.fromEntries(optional.filter(([, value]) => value !== undefined)),
    end_id: config.model.resolved.eosTokenId,
    pad_id: config.model.resolved.padTokenId,
    ...(decoupled ? { stream: request.stream ?? true } : {}),
  };
}

/**
 * The request body of a first call: the model's real end and pad ids (never the walkthrough's 2/3),
 * a fixed seed under the name the serving image reads, and `stream` on a streaming stack only. It
 * samples: `top_p` is what turns sampling on. TensorRT-LLM's defaults are `topK` 0 and `topP` 0.0,
 * and with both at 0 it searches greedily, so temperature and seed alone would change nothing
 * (TensorRT-LLM docs/source/advanced/gpt-runtime.md, "Sampling Parameters": "If setting `topK = 0`
 * and `topP = 0.0f`, greedy search is performed").
 */
export function exampleRequestBody(config: StackConfig): Record<string, unknown> {
  return generateRequestBody(config, {
    prompt: "What is the capital of France?",
    maxTokens: 64,
    temperature: 0.7,
    topP: 0.9,
    seed: 42,
  });
}

/**
 * An OpenAI chat request of an OpenAI stack (`deployment.api: openai`): one user message to the
 * model the frontend serves. Only fields its schema declares (it refuses others,
 * python/openai/openai_frontend/schemas/openai.py:823-825 of server v2.57.0).
 */
export function chatRequestBody(
  prompt: string,
  options: { readonly maxTokens: number; readonly topP?: number; readonly temperature?: number },
): Record<string, unknown> {
  return {
    model: OPENAI_MODEL,
    messages: [{ role: "user", content: prompt }],
    max_tokens: options.maxTokens,
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    ...(options.topP === undefined ? {} : { top_p: options.topP }),
    stream: false,
  };
}

/**
 * What the build host asks the served model before anything is uploaded: the known-answer prompt
 * (`build.validation`), decoded greedily (top_k 1: the engine takes the most likely token every
 * step, so the answer does not depend on luck), a few tokens. On a streaming stack the host asks it
 * twice, with `stream` false and true. On an OpenAI stack it is the same question as a chat message
 * through the frontend, greedy through `top_p` (GREEDY_TOP_P says why).
 */
export function validationRequestBody(config: StackConfig): Record<string, unknown> {
  if (config.deployment.api === "openai") {
    return chatRequestBody(config.build.validation.prompt, { maxTokens: 16, topP: GREEDY_TOP_P });
  }
  return generateRequestBody(config, {
    prompt: config.build.validation.prompt,
    maxTokens: 16,
    topK: 1,
    stream: false,
  });
}

/**
 * A pasteable, signed call with the OCI CLI (request signing from the caller's OCI profile); on an
 * OpenAI stack a chat request to the chat route under `/predict`, sampling as the generate example
 * does.
 */
export function signedCallCommand(predictUrl: string, config: StackConfig): string {
  const [uri, request] =
    config.deployment.api === "openai"
      ? [
          `${predictUrl}${OPENAI_CHAT_ROUTE}`,
          chatRequestBody("What is the capital of France?", { maxTokens: 64, temperature: 0.7, topP: 0.9 }),
        ]
      : [predictUrl, exampleRequestBody(config)];
  return `oci raw-request --http-method POST --target-uri ${uri} --request-body '${JSON.stringify(request)}'`;
}

/**
 * The OpenAI chat path of a deployment whose container runs Triton's OpenAI frontend (a stack with
 * `api: openai` in its outputs): the route, the request body, and the text of an answer or of one
 * streamed chunk. Shapes as the 25.04 frontend (Triton server v2.57.0) writes and reads them, in
 * python/openai/openai_frontend/ of triton-inference-server/server.
 */
import { UserError } from "../errors";
import { DEFAULT_MAX_TOKENS } from "./request-body";

export {
  DEPLOYMENT_APIS,
  OPENAI_CHAT_ROUTE as CHAT_ROUTE,
  type DeploymentApi,
} from "../../components/deployment/openai-frontend";

export interface ChatCall {
  readonly prompt: string;
  /** Unset: DEFAULT_MAX_TOKENS. */
  readonly maxTokens?: number;
  readonly stream: boolean;
}

/**
 * One user message to `model`. `max_tokens` is always sent: the 25.04 request schema defaults it to
 * 16 (schemas/openai.py:858-859). Nothing else is: the schema refuses a field it does not declare
 * (`extra="forbid"`, schemas/openai.py:825), and the frontend sends the engine only what the request
 * holds (engine/utils/triton.py:81-106).
 */
export function chatRequestBody(model: string, call: ChatCall): Record<string, unknown> {
  return {
    model,
    messages: [{ role: "user", content: call.prompt }],
    max_tokens: call.maxTokens ?? DEFAULT_MAX_TOKENS,
    stream: call.stream,
  };
}

function firstChoice(answer: Record<string, unknown>): Record<string, unknown> | undefined {
  const choices = answer.choices;
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
  return typeof first === "object" && first !== null ? (first as Record<string, unknown>) : undefined;
}

/**
 * The text of a whole answer: `choices[0].message.content`, a string the frontend always sets
 * (engine/triton_engine.py:155-171; ChatCompletionResponseMessage, schemas/openai.py:707-714).
 */
export function chatAnswerText(answer: Record<string, unknown>): string {
  const message = firstChoice(answer)?.message;
  const content =
    typeof message === "object" && message !== null
      ? (message as Record<string, unknown>).content
      : undefined;
  if (typeof content !== "string") {
    throw new UserError(
      `the deployment answered ${JSON.stringify(answer).slice(0, 200)}, not an OpenAI chat completion with choices[0].message.content: check that the stack serves the OpenAI frontend (api: openai)`,
    );
  }
  return content;
}

/**
 * The text of one streamed chunk: `choices[0].delta.content`. The first chunk carries only the role
 * and an empty content, each later one the text of one Triton response
 * (engine/triton_engine.py:285-341); the schema lets the content be absent or null
 * (ChatCompletionStreamResponseDelta, schemas/openai.py:425-436). A whole completion where a chunk
 * was expected (a stream route that answered at once) gives its message's text.
 */
export function chatChunkText(chunk: Record<string, unknown>): string {
  const choice = firstChoice(chunk);
  const part = choice?.delta ?? choice?.message;
  const content =
    typeof part === "object" && part !== null ? (part as Record<string, unknown>).content : undefined;
  return typeof content === "string" ? content : "";
}

/** The stream's last event: `data: [DONE]` (engine/triton_engine.py:343), not JSON. */
export const STREAM_DONE = "[DONE]";

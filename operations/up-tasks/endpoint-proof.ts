/**
 * `prove-endpoint`, the last thing `pulumi up` does (TritonDeployment's `-proof` command): one signed
 * known-answer request through the deployment's own OCI route, the answer checked with the build
 * host's rule, and its timings, which the stack outputs record as `endpointProof`.
 */
import { type EndpointProof, knownAnswerProblem } from "../../components/deployment/endpoint-proof";
import { callGenerate, type CallResult } from "../endpoint/call";
import type { DeploymentApi } from "../endpoint/chat";
import { type DeploymentClient, explainInvokeError, stateAfterFailure } from "../endpoint/deployment-client";
import { UserError } from "../errors";
import { httpStatus } from "../oci-client";
import { type BackoffPolicy, PREDICT_BACKOFF } from "../retry";

export interface EndpointProofRequest {
  /** The build's validation request (components/deployment/stack-outputs.ts): generate or chat. */
  readonly body: Record<string, unknown>;
  /** Text the answer must hold (`build.validation.expect`). */
  readonly expect: string;
  /** Read server-sent events from `/predictWithResponseStream` (a streaming stack). */
  readonly stream: boolean;
  /** `openai`: a chat request to the frontend's chat route (the client's `api`), answered in chat form. */
  readonly api?: DeploymentApi;
}

export interface EndpointProofDeps {
  /** One progress line (stderr: stdout is the proof alone, which the stack output parses). */
  readonly log: (line: string) => void;
  /** 429 and 503 are retried with it; default PREDICT_BACKOFF, as `invoke` does. */
  readonly policy?: BackoffPolicy;
  /** Monotonic milliseconds, for the timings. */
  readonly now?: () => number;
  /** Wall clock, for `checkedAt`. */
  readonly clock?: () => Date;
}

/**
 * Why `up` failed and what the user can do. Nothing is rolled back: Pulumi keeps the stack outputs
 * of the last successful `up` when one fails, so they still name what served before, and after a
 * container change the previous deployment is still there (a replacement deletes it only once
 * the whole `up` succeeded; docs/day-two.md).
 */
function proofFailed(client: DeploymentClient, what: string): UserError {
  const id = client.target.modelDeploymentId;
  return new UserError(
    `endpoint proof failed: ${what}. ` +
      `Model deployment ${id} is left as it is for inspection: its predict and access logs, 'oci data-science model-deployment get --model-deployment-id ${id}'. ` +
      `The stack outputs still hold the last proven state: 'pulumi stack output modelId' is the model that served before, 'pulumi stack output predictUrl' the endpoint that did (after a container change the previous deployment still answers there until the next successful up). ` +
      `To go back: revert the configuration change and run 'pulumi up' (docs/day-two.md, "After a failed proof")`,
  );
}

/**
 * What the build host's `ask` also refuses (engine-build/steps/validate.sh:58-77): an answer that
 * carries an error, or none in `text_output`. A chat completion without its text is refused where
 * it is read (operations/endpoint/chat.ts, chatAnswerText), and the frontend answers errors with an HTTP
 * status, which the call throws.
 */
function answerProblem(result: CallResult, api: DeploymentApi): string | undefined {
  if (api === "openai") return undefined;
  const { answer } = result;
  if (typeof answer.error === "string") return `the answer carried an error: ${answer.error}`;
  if (typeof answer.text_output !== "string") {
    return `the answer has no text_output: ${JSON.stringify(answer).slice(0, 200)}`;
  }
  return undefined;
}

/** The last message's content of a chat body: the question it asks. */
function chatQuestion(body: Record<string, unknown>): unknown {
  const messages = body.messages;
  const last: unknown = Array.isArray(messages) ? messages[messages.length - 1] : undefined;
  return typeof last === "object" && last !== null ? (last as Record<string, unknown>).content : undefined;
}

/** Sends the request, checks the answer; resolves to the proof, or rejects with a UserError. */
export async function proveEndpoint(
  client: DeploymentClient,
  request: EndpointProofRequest,
  deps: EndpointProofDeps,
): Promise<EndpointProof> {
  const policy = deps.policy ?? PREDICT_BACKOFF;
  const { target } = client;
  const api = request.api ?? "triton";
  const question = api === "openai" ? chatQuestion(request.body) : request.body.text_input;
  deps.log(
    `asking model deployment ${target.modelDeploymentId} ${JSON.stringify(question)}; expecting '${request.expect}'`,
  );
  let result: CallResult;
  try {
    result = await callGenerate(client, request.body, {
      stream: request.stream,
      policy,
      now: deps.now,
      onRetry: (error, delayMs, nextAttempt) =>
        deps.log(
          `HTTP ${httpStatus(error)} from the deployment: retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${nextAttempt} of ${policy.attempts})`,
        ),
    });
  } catch (error) {
    const state = await stateAfterFailure(client, error);
    const context = {
      target,
      bodyBytes: Buffer.byteLength(JSON.stringify(request.body)),
      auth: client.auth,
      attempts: policy.attempts,
    };
    throw proofFailed(client, explainInvokeError(error, context, state));
  }
  const problem = answerProblem(result, api) ?? knownAnswerProblem(result.text, request.expect);
  if (problem !== undefined) throw proofFailed(client, problem);
  const proof: EndpointProof = {
    answer: result.text,
    latencyMs: Math.round(result.latencyMs),
    firstByteMs: Math.round(result.timeToFirstTokenMs ?? result.latencyMs),
    checkedAt: (deps.clock ?? (() => new Date()))().toISOString(),
  };
  deps.log(`answered ${JSON.stringify(proof.answer)} in ${proof.latencyMs} ms: holds '${request.expect}'`);
  return proof;
}

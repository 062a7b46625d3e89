/**
 * `invoke`: one signed call to a stack's deployment (or any deployment URL), printing the text as
 * it arrives, or the whole answer with its latency as JSON. The call is Triton's generate request,
 * or on a stack that serves the OpenAI frontend (its `api` output) and with `--chat` a chat
 * completion (chat.ts). cli/invoke.ts reads the flags.
 */
import { callGenerate } from "./call";
import { chatRequestBody, type DeploymentApi } from "./chat";
import { UsageError, UserError } from "../errors";
import {
  createDeploymentClient,
  explainInvokeError,
  parseDeploymentUrl,
  stateAfterFailure,
} from "./deployment-client";
import { type AuthOptions, createAuthProvider, httpStatus } from "../oci-client";
import type { OutputSink } from "../output";
import { catalogueRequestBody, loadStackConfig, stackRequestBody } from "./request-body";
import { PREDICT_BACKOFF } from "../retry";
import { deploymentOutputs, type StackBackend } from "../stacks";

export interface InvokeOptions {
  /** The stack whose predictUrl (unless `endpoint` is given) and configuration the call uses. */
  readonly stack?: string;
  /** The deployment URL to call; one of `stack` and `endpoint` is given. */
  readonly endpoint?: string;
  /** Without a stack: the catalogue model whose end/pad ids the body carries. */
  readonly model: string;
  /**
   * Call the OpenAI chat route with a chat body. With `stack` alone the stack's `api` output decides
   * and this only checks it; with `endpoint` it picks the route.
   */
  readonly chat: boolean;
  /** The model name the OpenAI frontend serves; unset: the stack's `openaiModel` output. */
  readonly openaiModel?: string;
  readonly prompt: string;
  /** Tokens to generate; unset: the stack's example body, else 64. */
  readonly maxTokens?: number;
  readonly stream: boolean;
  /** Print the whole answer, its latency and the attempts as JSON instead of the text. */
  readonly json: boolean;
  /** The project folder holding the stack files. */
  readonly projectDir: string;
  readonly auth: AuthOptions;
  /** Data Science API endpoint, for the deployment's state after a failure. */
  readonly controlPlaneEndpoint?: string;
}

export interface InvokeDeps {
  readonly output: OutputSink;
  /** Where the stack's outputs are read; only asked when `stack` is given without `endpoint`. */
  readonly backend: StackBackend;
}

/** Makes the call and prints the answer; a failed call throws a UserError explaining it. */
export async function invoke(options: InvokeOptions, deps: InvokeDeps): Promise<void> {
  const { output } = deps;
  const { auth } = options;
  const call = { prompt: options.prompt, maxTokens: options.maxTokens, stream: options.stream };

  let url = options.endpoint;
  let api: DeploymentApi = options.chat ? "openai" : "triton";
  let openaiModel = options.openaiModel;
  if (url === undefined && options.stack !== undefined) {
    const outputs = deploymentOutputs(options.stack, await deps.backend.outputs(options.stack));
    if (options.chat && outputs.api !== "openai") {
      throw new UserError(
        `stack '${options.stack}' serves Triton's generate API (its api output is ${outputs.api}), not the OpenAI chat route. Fix: call without --chat, or deploy the OpenAI frontend (deployment.api openai) and pulumi up`,
      );
    }
    api = outputs.api;
    openaiModel ??= outputs.openaiModel;
    if (options.stream && outputs.predictStreamUrl === undefined) {
      throw new UserError(
        `stack '${options.stack}' does not stream: it exports no predictStreamUrl. Fix: pulumi config set --path deployment.streaming true, then pulumi up; or call without --stream`,
      );
    }
    url = options.stream ? outputs.predictStreamUrl : outputs.predictUrl;
  }
  const target = parseDeploymentUrl(
    url ?? "",
    options.endpoint === undefined ? "the stack's predictUrl" : "--endpoint",
  );
  if (api === "openai" && openaiModel === undefined) {
    throw new UsageError(
      "--chat with --endpoint needs --openai-model <name>: the model the deployment's OpenAI frontend serves ('pulumi stack output openaiModel')",
    );
  }
  if (api === "triton" && options.openaiModel !== undefined) {
    throw new UsageError(
      "--openai-model names the model of a chat call: add --chat, or leave it out for Triton's generate API",
    );
  }
  const body =
    openaiModel !== undefined && api === "openai"
      ? chatRequestBody(openaiModel, call)
      : options.stack === undefined
        ? catalogueRequestBody(options.model, call)
        : stackRequestBody(loadStackConfig(options.projectDir, options.stack), call);
  const client = createDeploymentClient(await createAuthProvider(auth), auth, target, {
    controlPlaneEndpoint: options.controlPlaneEndpoint,
    api,
  });

  const bodyBytes = Buffer.byteLength(JSON.stringify(body));
  try {
    const result = await callGenerate(client, body, {
      stream: options.stream,
      policy: PREDICT_BACKOFF,
      onText: options.json ? undefined : (piece) => output.write(piece),
      onRetry: (error, delayMs, nextAttempt) =>
        output.error(
          `HTTP ${httpStatus(error)} from the deployment: retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${nextAttempt} of ${PREDICT_BACKOFF.attempts})`,
        ),
    });
    if (options.json) {
      const report = {
        ...(api === "openai" ? { content: result.text } : { text_output: result.text }),
        answer: result.answer,
        latencyMs: Math.round(result.latencyMs),
        ...(result.timeToFirstTokenMs === undefined
          ? {}
          : { timeToFirstTokenMs: Math.round(result.timeToFirstTokenMs) }),
        ...(result.events === undefined ? {} : { events: result.events }),
        attempts: result.attempts,
      };
      output.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      output.write("\n");
    }
  } catch (error) {
    const state = await stateAfterFailure(client, error);
    throw new UserError(
      explainInvokeError(error, { target, api, bodyBytes, auth, attempts: PREDICT_BACKOFF.attempts }, state),
    );
  }
}

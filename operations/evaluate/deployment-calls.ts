/**
 * What `evaluate` asks of a running deployment: wait until it answers, then one measured prompt,
 * whose output tokens the model's tokenizer counts (tokenizer.ts). Errors that no later call can
 * escape (a refused signature, a vanished endpoint) stop the run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { callGenerate } from "../endpoint/call";
import { UserError } from "../errors";
import { FatalRunError, type PromptCase, type PromptResult } from "./figures";
import {
  type DeploymentClient,
  type DeploymentState,
  explainInvokeError,
  isRetryableStatus,
  stateAfterFailure,
  StreamError,
} from "../endpoint/deployment-client";
import { errorMessage, httpStatus } from "../oci-client";
import { PREDICT_BACKOFF } from "../retry";

export interface ReadyOptions {
  readonly readyTimeoutMs: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

const GAVE_UP_STATES = new Set(["FAILED", "DELETED", "DELETING", "INACTIVE", "NEEDS_ATTENTION"]);

/**
 * Until the deployment is ACTIVE and answers a one-token call. OCI marks it ACTIVE once its health
 * check of the container (MODEL_DEPLOY_HEALTH_ENDPOINT, Triton's /v2/health/ready: Oracle's "Bring
 * Your Own Container" page, docs.oracle.com/en-us/iaas/data-science/using/mod-dep-byoc.htm) passes, and the public endpoint exposes only /predict, so that call is the readiness probe.
 */
export async function waitUntilReady(
  client: DeploymentClient,
  probeBody: Record<string, unknown>,
  stream: boolean,
  options: ReadyOptions,
): Promise<void> {
  const deadline = Date.now() + options.readyTimeoutMs;
  let lastState = "";
  for (;;) {
    let state: string;
    try {
      const current = await client.deploymentState(options.signal);
      state = current.state;
      if (state !== lastState)
        options.log(`deployment ${state}${current.details ? ` (${current.details})` : ""}`);
      if (GAVE_UP_STATES.has(state)) {
        throw new UserError(
          `model deployment ${client.target.modelDeploymentId} is ${state}${current.details ? `: ${current.details}` : ""}. Fix: read its logs in the OCI console`,
        );
      }
    } catch (error) {
      if (!isRetryableStatus(error)) throw explainedError(client, error);
      state = lastState;
    }
    lastState = state;
    if (state === "ACTIVE") {
      try {
        await callGenerate(client, probeBody, {
          stream,
          policy: { ...PREDICT_BACKOFF, attempts: 1 },
          signal: options.signal,
        });
        options.log("deployment answers");
        return;
      } catch (error) {
        const status = httpStatus(error);
        if (status !== 404 && status !== 429 && status !== 503) throw explainedError(client, error);
        options.log(`not answering yet (HTTP ${status})`);
      }
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `model deployment ${client.target.modelDeploymentId} did not answer within ${options.readyTimeoutMs / 60_000} minutes (last state ${lastState || "unknown"}). Fix: read its logs; raise --ready-timeout for a slow image pull`,
      );
    }
    await sleep(options.pollMs, undefined, { signal: options.signal });
  }
}

function explainedError(client: DeploymentClient, error: unknown, state?: DeploymentState): UserError {
  if (error instanceof UserError) return error;
  return new UserError(
    explainInvokeError(
      error,
      {
        target: client.target,
        api: client.api,
        bodyBytes: 0,
        auth: client.auth,
        attempts: PREDICT_BACKOFF.attempts,
      },
      state,
    ),
  );
}

export async function runOnePrompt(
  client: DeploymentClient,
  promptCase: PromptCase,
  body: Record<string, unknown>,
  stream: boolean,
  signal: AbortSignal,
  log: (line: string) => void,
  countTokens: (text: string) => number,
): Promise<PromptResult> {
  try {
    const result = await callGenerate(client, body, {
      stream,
      policy: PREDICT_BACKOFF,
      signal,
      onRetry: (error, delayMs, nextAttempt) =>
        log(
          `prompt ${promptCase.id}: HTTP ${httpStatus(error)}, retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${nextAttempt})`,
        ),
    });
    const outputTokens = countTokens(result.text);
    const ttft =
      result.timeToFirstTokenMs === undefined
        ? ""
        : `, first token ${Math.round(result.timeToFirstTokenMs)} ms`;
    log(`prompt ${promptCase.id}: ${Math.round(result.latencyMs)} ms, ${outputTokens} tokens${ttft}`);
    return {
      id: promptCase.id,
      ok: true,
      latencyMs: Math.round(result.latencyMs * 10) / 10,
      ...(result.timeToFirstTokenMs === undefined
        ? {}
        : { timeToFirstTokenMs: Math.round(result.timeToFirstTokenMs * 10) / 10 }),
      outputTokens,
      attempts: result.attempts,
      outputPreview: result.text.slice(0, 80),
    };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const status = httpStatus(error);
    // A refused signature or a vanished endpoint fails every later prompt the same way.
    if (status === 401 || status === 403 || status === 404) {
      const state = await stateAfterFailure(client, error);
      throw new FatalRunError(`prompt ${promptCase.id}: ${explainedError(client, error, state).message}`);
    }
    const explained = explainedError(client, error).message;
    if (status === undefined && !(error instanceof StreamError) && !/timeout/i.test(errorMessage(error))) {
      throw new FatalRunError(`prompt ${promptCase.id}: ${explained}`);
    }
    log(`prompt ${promptCase.id}: failed: ${explained}`);
    return { id: promptCase.id, ok: false, error: explained };
  }
}

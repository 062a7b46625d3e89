/**
 * Signed calls to a model deployment: the `oci-modeldeployment` client calls `/{id}/predict` and
 * `/{id}/predictWithResponseStream` (on an OpenAI stack, those paths followed by the chat route),
 * and the `oci-datascience` client reads the deployment's lifecycle state. The SDK is set up by
 * oci-client.ts; retries are ours (retry.ts), so the SDK's own retrier and circuit breaker are off
 * for these calls.
 */
import * as common from "oci-common";
import { DataScienceClient } from "oci-datascience";
import { ModelDeploymentClient } from "oci-modeldeployment";
import { createParser } from "eventsource-parser";
import { CHAT_ROUTE, type DeploymentApi, STREAM_DONE } from "./chat";
import { UsageError, UserError } from "../errors";
import {
  type AuthOptions,
  createSdkClient,
  errorMessage,
  filterSdkRetrierWarnings,
  httpStatus,
  noRetryConfiguration,
  sdkMessage,
} from "../oci-client";

export interface DeploymentTarget {
  /** Scheme, host and any path prefix before the deployment OCID. */
  readonly endpoint: string;
  readonly modelDeploymentId: string;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Splits a deployment URL (`<endpoint>/<ocid>`, optionally ending in `/predict` or
 * `/predictWithResponseStream`, as the stack's `predictUrl` does, and these may be followed by the
 * OpenAI chat route) into what the SDK client needs.
 */
export function parseDeploymentUrl(url: string, key: string): DeploymentTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${key} '${url}' is not a URL: pass the stack's predictUrl output`);
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOOPBACK_HOSTS.has(parsed.hostname))) {
    throw new UsageError(`${key} '${url}' must use https (plain http only reaches a loopback address)`);
  }
  const segments = parsed.pathname.split("/").filter((segment) => segment !== "");
  const route = CHAT_ROUTE.split("/").filter((segment) => segment !== "");
  if (segments.slice(-route.length).join("/") === route.join("/")) segments.splice(-route.length);
  if (segments.at(-1) === "predict" || segments.at(-1) === "predictWithResponseStream") segments.pop();
  const modelDeploymentId = segments.pop();
  if (modelDeploymentId === undefined || !modelDeploymentId.startsWith("ocid1.datasciencemodeldeployment.")) {
    throw new UsageError(
      `${key} '${url}' does not name a model deployment: expected https://<host>/<ocid1.datasciencemodeldeployment...>/predict`,
    );
  }
  const prefix = segments.length > 0 ? `/${segments.join("/")}` : "";
  return { endpoint: `${parsed.origin}${prefix}`, modelDeploymentId };
}

/**
 * One answer of Triton's `/generate` or one event of `/generate_stream` (a flat JSON object), or on
 * an OpenAI stack one chat completion or one streamed chunk of it.
 */
export type GenerateAnswer = Record<string, unknown>;

export interface DeploymentState {
  readonly state: string;
  readonly details?: string;
}

export interface ClientOptions {
  /** Data Science API endpoint; the SDK derives it from the profile's region when unset. */
  readonly controlPlaneEndpoint?: string;
  /** OCI ends a predict call after 60 s (Data Science docs, "Invoking a Model Deployment"). */
  readonly timeoutMs?: number;
  /** The API the container serves (the stack's `api` output); default `triton`. */
  readonly api?: DeploymentApi;
}

export interface DeploymentClient {
  readonly target: DeploymentTarget;
  /**
   * `openai`: every call goes to the chat route, with a chat body, and answers chat completions.
   * Unset: `triton`.
   */
  readonly api?: DeploymentApi;
  /** How calls are signed, for error messages. */
  readonly auth: AuthOptions;
  generate(body: Record<string, unknown>, signal?: AbortSignal): Promise<GenerateAnswer>;
  /** Calls `onEvent` for every server-sent event as it arrives; resolves when the stream ends. */
  generateStream(
    body: Record<string, unknown>,
    onEvent: (event: GenerateAnswer) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  deploymentState(signal?: AbortSignal): Promise<DeploymentState>;
}

const PREDICT_TIMEOUT_MS = 60_000;

/** What the container answers, for messages about an answer of another kind. */
const ANSWER_KIND: Readonly<Record<DeploymentApi, string>> = {
  triton: "Triton's /generate",
  openai: "the OpenAI frontend's chat completions",
};

function notJson(text: string, api: DeploymentApi): UserError {
  const check =
    api === "triton"
      ? "check that MODEL_DEPLOY_PREDICT_ENDPOINT maps /predict to .../generate"
      : `check that the deployment's predictApiSpecification is openai, so that OCI routes ${CHAT_ROUTE} to the frontend`;
  return new UserError(
    `the deployment answered ${JSON.stringify(text.slice(0, 200))}, not JSON like ${ANSWER_KIND[api]}: ${check}`,
  );
}

/**
 * The client the SDK sends through: it keeps the body of the last error answer, and on an OpenAI
 * stack adds the chat route to the path the SDK built, before the signing client underneath signs
 * the request (oci-common lib/http.js, FetchHttpClient.send, signs `req.uri` as it receives it).
 * The SDK builds its error from `code` and `message` and otherwise keeps only the status text
 * (oci-common lib/helper.js, handleErrorResponse), which would drop how the server explains a bad
 * request: Triton's HTTP 400 `{"error": "..."}` (triton-inference-server/server src/http_server.cc:131),
 * or FastAPI's `{"detail": ...}` from the OpenAI frontend (below).
 */
class PredictHttpClient implements common.HttpClient {
  lastErrorBody?: string;

  constructor(
    private readonly inner: common.HttpClient,
    private readonly route: string,
  ) {}

  async send(
    request: common.HttpRequest,
    ...rest: Tail<Parameters<common.HttpClient["send"]>>
  ): Promise<Response> {
    const routed = this.route === "" ? request : { ...request, uri: withRoute(request.uri, this.route) };
    const response = await this.inner.send(routed, ...rest);
    if (response.status >= 300) this.lastErrorBody = await response.clone().text();
    return response;
  }
}

type Tail<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;

/** `route` after the path of `uri`, before its query. */
function withRoute(uri: string, route: string): string {
  const url = new URL(uri);
  url.pathname = `${url.pathname.replace(/\/$/, "")}${route}`;
  return url.toString();
}

/**
 * The server's own explanation, in place of the SDK's: Triton's `{"error": "..."}`, or FastAPI's
 * `{"detail": "..."}` for an HTTPException (the frontend turns every failure into a 400 with the
 * exception's text, frontend/fastapi/routers/chat.py:47-53) and `{"detail": [{loc, msg}, ...]}` for a
 * request its schema refuses (fastapi/exception_handlers.py, request_validation_exception_handler).
 */
function withServerMessage(error: unknown, body: string | undefined): unknown {
  if (!(error instanceof common.OciError) || body === undefined) return error;
  let parsed: { error?: unknown; detail?: unknown };
  try {
    parsed = JSON.parse(body) as { error?: unknown; detail?: unknown };
  } catch {
    return error; // not JSON: the SDK's message stands
  }
  if (typeof parsed.error === "string") error.message = parsed.error;
  else if (typeof parsed.detail === "string") error.message = parsed.detail;
  else if (Array.isArray(parsed.detail)) {
    const problems = parsed.detail.map((item: unknown) => {
      const { loc, msg } = (typeof item === "object" && item !== null ? item : {}) as {
        loc?: unknown;
        msg?: unknown;
      };
      const where = Array.isArray(loc) ? loc.filter((part) => part !== "body").join(".") : "";
      return `${where === "" ? "" : `${where}: `}${typeof msg === "string" ? msg : JSON.stringify(item)}`;
    });
    if (problems.length > 0) error.message = problems.join("; ");
  }
  return error;
}

function asAnswer(value: unknown, api: DeploymentApi): GenerateAnswer {
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw notJson(value, api);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UserError(
      `the deployment answered ${JSON.stringify(parsed)}, not a JSON object like ${ANSWER_KIND[api]}`,
    );
  }
  return parsed as GenerateAnswer;
}

/** A `{"error": ...}` object inside a 200 stream: how Triton reports a failure after streaming began. */
export class StreamError extends UserError {}

async function* bytesOf(stream: unknown): AsyncIterable<Uint8Array> {
  if (stream === null || stream === undefined) return;
  if (typeof (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    yield* stream as AsyncIterable<Uint8Array>;
    return;
  }
  throw new UserError("the deployment's stream answer is not readable");
}

export function createDeploymentClient(
  provider: common.AuthenticationDetailsProvider,
  auth: AuthOptions,
  target: DeploymentTarget,
  options: ClientOptions = {},
): DeploymentClient {
  filterSdkRetrierWarnings();
  const timeoutMs = options.timeoutMs ?? PREDICT_TIMEOUT_MS;
  const api = options.api ?? "triton";
  // One SDK client per call, because the abort signal travels in the HTTP client's fetch options
  // (oci-common lib/http.js, FetchHttpClient.send). The HTTP client is ours only to keep error bodies.
  const predictCall = (signal?: AbortSignal) => {
    const configuration = noRetryConfiguration(signal, timeoutMs);
    const signer = new common.DefaultRequestSigner(provider);
    const http = new PredictHttpClient(
      new common.FetchHttpClient(signer, null, configuration.httpOptions),
      api === "openai" ? CHAT_ROUTE : "",
    );
    const client = new ModelDeploymentClient({ httpClient: http }, configuration);
    client.endpoint = target.endpoint;
    return { client, withServerMessage: (error: unknown) => withServerMessage(error, http.lastErrorBody) };
  };
  return {
    target,
    auth,
    api,
    async generate(body, signal) {
      // `requestBody` is typed as a string but the SDK serialises it with JSON.stringify
      // (oci-common lib/object-serializer.js, called from predict in oci-modeldeployment
      // lib/client.js): a JSON string would arrive as one quoted string, so the object goes in.
      const call = predictCall(signal);
      const response = await call.client
        .predict({ modelDeploymentId: target.modelDeploymentId, requestBody: body as unknown as string })
        .catch((error: unknown) => {
          // The SDK reads a 2xx body with response.json(), which throws on anything else.
          throw error instanceof SyntaxError ? notJson(error.message, api) : call.withServerMessage(error);
        });
      // The SDK parses the body as JSON although it types `value` as a string (oci-modeldeployment
      // lib/client.js, predict: `body: yield response.json()`).
      return asAnswer(response.value, api);
    },
    async generateStream(body, onEvent, signal) {
      const call = predictCall(signal);
      const answer = await call.client
        .predictWithResponseStream({
          modelDeploymentId: target.modelDeploymentId,
          requestBody: body as unknown as string, // serialised by the SDK, as for predict
        })
        .catch((error: unknown) => {
          throw call.withServerMessage(error);
        });
      // The SDK returns the raw body when the content type is exactly `text/event-stream`, and
      // wraps it in `{ value }` otherwise (lib/client.js, predictWithResponseStream).
      const stream =
        answer !== null && typeof answer === "object" && "value" in answer ? answer.value : answer;
      let events = 0;
      let done = false;
      let raw = "";
      let failure: StreamError | undefined;
      const parser = createParser({
        onEvent(message) {
          if (api === "openai" && message.data === STREAM_DONE) {
            done = true;
            return;
          }
          const event = asAnswer(message.data, api);
          if (typeof event.error === "string") {
            failure ??= new StreamError(`the deployment reported an error mid-stream: ${event.error}`);
            return;
          }
          events++;
          onEvent(event);
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of bytesOf(stream)) {
        const text = decoder.decode(chunk, { stream: true });
        if (events === 0 && raw.length < 1_000_000) raw += text;
        parser.feed(text);
        if (failure) throw failure;
      }
      parser.feed(decoder.decode());
      if (failure) throw failure;
      // A deployment without streaming answers the whole JSON object instead of events.
      if (events === 0 && raw.trim().startsWith("{")) {
        onEvent(asAnswer(raw, api));
        return;
      }
      // The frontend ends every stream it finishes with `data: [DONE]` (engine/triton_engine.py:343);
      // a failure after the first chunk only closes the connection, with no error event
      // (starlette's StreamingResponse stops at the generator's exception).
      if (api === "openai" && !done) {
        throw new StreamError(
          `the deployment's stream ended before its final "data: ${STREAM_DONE}": the answer is cut short. Fix: read the deployment's predict log (the frontend logs the exception)`,
        );
      }
    },
    async deploymentState(signal) {
      const client = createSdkClient(
        DataScienceClient,
        provider,
        { endpoint: options.controlPlaneEndpoint },
        noRetryConfiguration(signal, timeoutMs),
      );
      const response = await client.getModelDeployment({ modelDeploymentId: target.modelDeploymentId });
      const deployment = response.modelDeployment;
      return { state: String(deployment.lifecycleState), details: deployment.lifecycleDetails ?? undefined };
    },
  };
}

/** 429 and 503 are the retryable answers of /predict (Data Science docs, "Predict Endpoint"). */
export function isRetryableStatus(error: unknown): boolean {
  const status = httpStatus(error);
  return status === 429 || status === 503;
}

export interface InvokeContext {
  readonly target: DeploymentTarget;
  /** The API called; default `triton`. */
  readonly api?: DeploymentApi;
  readonly bodyBytes: number;
  readonly auth: AuthOptions;
  readonly attempts: number;
}

function credentialsName(auth: AuthOptions): string {
  return auth.method === "api_key" || auth.method === "security_token"
    ? `profile '${auth.profile ?? "DEFAULT"}' (${auth.method})`
    : `the ${auth.method.replace("_", " ")}`;
}

/** One line naming what went wrong with a call and what to do; `state` is the lifecycle, if known. */
export function explainInvokeError(error: unknown, context: InvokeContext, state?: DeploymentState): string {
  const id = context.target.modelDeploymentId;
  if (state && state.state !== "ACTIVE") {
    const waiting = state.state === "CREATING" || state.state === "UPDATING";
    return `model deployment ${id} is ${state.state}${state.details ? ` (${state.details})` : ""}: ${
      waiting
        ? "OCI is still pulling the image and starting Triton (up to 30 minutes). Fix: wait until it is ACTIVE, then call again"
        : "it cannot answer. Fix: check its work requests and logs in the OCI console, or 'pulumi up' again"
    }`;
  }
  if (error instanceof UserError) return error.message;
  const status = httpStatus(error);
  const detail =
    error instanceof common.OciError
      ? `${error.serviceCode === "None" ? "" : `${error.serviceCode}: `}${sdkMessage(error.message)}`
      : "";
  switch (status) {
    case 401:
      return `401 ${detail}: OCI refused the signature made with ${credentialsName(context.auth)}. Fix: check that its user, fingerprint and key_file match an API key of the user (or refresh the session token), and that this machine's clock is right`;
    case 404:
      return `404 ${detail}: no model deployment ${id} at ${context.target.endpoint}${context.api === "openai" ? `, or it does not route ${CHAT_ROUTE} (its predictApiSpecification is not openai)` : ""}, or no policy lets you call it. Fix: check the URL ('npm run -s invoke -- --stack <name>' reads it from the stack) and that a policy allows 'use data-science-model-deployments' in its compartment`;
    case 411:
      return `411 ${detail}: the request reached OCI without Content-Length. This client sends it; a proxy on the way dropped it. Fix: call without that proxy (HTTPS_PROXY)`;
    case 413:
      return `413 ${detail}: the request body is ${context.bodyBytes} bytes and OCI accepts at most 10 MB. Fix: shorten the prompt`;
    case 429:
    case 503:
      return `${status} ${detail}: still refused after ${context.attempts} attempts with backoff. Fix: lower --concurrency, or raise deployment.bandwidthMbps (429 is the load balancer or the tenancy's 150 requests/s)`;
    case undefined:
      break;
    default:
      return `${status} ${detail}`;
  }
  // A call that never got an answer is thrown by the SDK's retrier as a plain `{ code, message }`
  // object, not an Error (oci-common lib/retrier.js, makeServiceCall).
  const message = errorMessage(error);
  if (/timeout/i.test(message)) {
    return `no answer from ${context.target.endpoint} within the call timeout (OCI ends a call after 60 s). Fix: lower --max-tokens`;
  }
  // A private deployment (deployment.access private) answers only inside its VCN.
  return `cannot reach ${context.target.endpoint}: ${message}. Fix: check the URL and the network (proxy, VPN); a private deployment answers only from inside its VCN: run the call there, or through a Bastion port forward (docs/production.md#private-access)`;
}

/** Best effort: the lifecycle state explains a 404 or 503 from a deployment that is not ACTIVE. */
export async function stateAfterFailure(
  client: DeploymentClient,
  error: unknown,
): Promise<DeploymentState | undefined> {
  const status = httpStatus(error);
  if (status !== 404 && status !== 409 && status !== 503) return undefined;
  try {
    return await client.deploymentState(AbortSignal.timeout(15_000));
  } catch {
    return undefined;
  }
}

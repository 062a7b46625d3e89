/**
 * A stand-in for OCI's model deployment endpoint and Data Science API on 127.0.0.1: it verifies the
 * OCI request signature of every call with the public half of a key pair the test generated
 * (draft-cavage HTTP signatures as OCI uses them: the signed headers, `(request-target)`, host,
 * date, and for a body its length, type and SHA-256), then answers like Triton's `/generate` and
 * `/generate_stream`, or on the chat route (`/predict/v1/chat/completions`,
 * `/predictWithResponseStream/v1/chat/completions`) like Triton's OpenAI frontend. It closes itself
 * after `lifetimeMs`, so a failed test never leaves it running.
 */
import { after } from "node:test";
import { createHash, generateKeyPairSync, type KeyObject, verify } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { scratchDir } from "./scratch";

export const DEPLOYMENT_ID = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaafaketest";
const TENANCY = "ocid1.tenancy.oc1..aaaafaketenancy";
const USER = "ocid1.user.oc1..aaaafakeuser";
const FINGERPRINT = "12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef";
export const KEY_ID = `${TENANCY}/${USER}/${FINGERPRINT}`;

export interface OciCredentials {
  readonly configFile: string;
  readonly publicKey: KeyObject;
}

/** A fresh RSA key pair and an OCI config file whose DEFAULT profile signs with it. */
export function testCredentials(): OciCredentials {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const dir = scratchDir("oci-profile-");
  const keyFile = join(dir, "key.pem");
  writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const configFile = join(dir, "config");
  writeFileSync(
    configFile,
    `[DEFAULT]\nuser=${USER}\nfingerprint=${FINGERPRINT}\nkey_file=${keyFile}\ntenancy=${TENANCY}\nregion=us-ashburn-1\n`,
  );
  return { configFile, publicKey };
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  /** Why the signature is not valid; undefined when it verified. */
  readonly signatureProblem?: string;
}

export type Reply =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string }
  | {
      readonly status: 200;
      readonly sse: readonly unknown[];
      readonly gapMs?: number;
      /** End with `data: [DONE]`, as the OpenAI frontend does. */
      readonly done?: boolean;
    }
  | { readonly hang: true };

export interface Behaviour {
  predict?(request: RecordedRequest, index: number): Reply;
  /** Lifecycle state for GET /20190101/modelDeployments/{id}, by call index. */
  lifecycle?(index: number): string;
}

export interface FakeDeployment {
  readonly predictUrl: string;
  readonly predictStreamUrl: string;
  readonly controlPlaneEndpoint: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

function parseSignature(header: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of header.replace(/^Signature\s+/, "").matchAll(/(\w+)="([^"]*)"/g))
    fields[match[1]] = match[2];
  return fields;
}

/** Recomputes the signing string from what arrived and checks the signature with the public key. */
export function signatureProblem(
  method: string,
  path: string,
  headers: IncomingMessage["headers"],
  body: string,
  publicKey: KeyObject,
): string | undefined {
  const authorization = headers.authorization;
  if (authorization === undefined) return "no Authorization header";
  const fields = parseSignature(authorization);
  if (fields.version !== "1" || fields.algorithm !== "rsa-sha256")
    return `unexpected signature scheme: ${authorization}`;
  if (fields.keyId !== KEY_ID) return `keyId ${fields.keyId} is not ${KEY_ID}`;
  // The SDK lists "Content-Type Content-Length" capitalised; names are case-insensitive and the
  // signing string uses them lowercased (http-signature lib/signer.js).
  const signed = (fields.headers ?? "").split(" ").map((name) => name.toLowerCase());
  if (!signed.includes("date") && !signed.includes("x-date")) return "neither date nor x-date is signed";
  const required = ["(request-target)", "host"];
  if (method === "POST") required.push("content-length", "content-type", "x-content-sha256");
  const missing = required.filter((name) => !signed.includes(name));
  if (missing.length > 0) return `headers not signed: ${missing.join(", ")}`;
  if (method === "POST") {
    const sha = createHash("sha256").update(body).digest("base64");
    if (headers["x-content-sha256"] !== sha)
      return `x-content-sha256 ${headers["x-content-sha256"]} is not ${sha}`;
    if (headers["content-length"] !== String(Buffer.byteLength(body)))
      return "content-length does not match the body";
  }
  const lines = signed.map((name) =>
    name === "(request-target)"
      ? `(request-target): ${method.toLowerCase()} ${path}`
      : `${name}: ${headers[name]}`,
  );
  const ok = verify(
    "sha256",
    Buffer.from(lines.join("\n")),
    publicKey,
    Buffer.from(fields.signature ?? "", "base64"),
  );
  return ok ? undefined : "signature does not verify";
}

function answer(response: ServerResponse, reply: Reply): void {
  if ("hang" in reply) return;
  if ("sse" in reply) {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const events = [...reply.sse.map((event) => JSON.stringify(event)), ...(reply.done ? ["[DONE]"] : [])];
    const next = () => {
      const event = events.shift();
      if (event === undefined) {
        response.end();
        return;
      }
      response.write(`data: ${event}\n\n`);
      setTimeout(next, reply.gapMs ?? 5);
    };
    next();
    return;
  }
  if ("text" in reply) {
    response.writeHead(reply.status, { "content-type": "text/plain" });
    response.end(reply.text);
    return;
  }
  response.writeHead(reply.status, { "content-type": "application/json", "opc-request-id": "fake-request" });
  response.end(JSON.stringify(reply.json));
}

/** Triton's /generate answer (flat JSON: triton-inference-server/server docs/protocol/extension_generate.md). */
export function tritonAnswer(text: string): Record<string, unknown> {
  return { model_name: "ensemble", model_version: "1", text_output: text };
}

/**
 * The OpenAI frontend's whole chat answer (Triton server v2.57.0, python/openai/openai_frontend/
 * engine/triton_engine.py:155-171, serialised through its response model with `usage` null).
 */
export function chatCompletion(text: string, model: string): Record<string, unknown> {
  return {
    id: "cmpl-fake",
    choices: [
      {
        finish_reason: "stop",
        index: 0,
        message: { content: text, tool_calls: null, role: "assistant", function_call: null },
        logprobs: null,
      },
    ],
    created: 1_700_000_000,
    model,
    system_fingerprint: null,
    object: "chat.completion",
    usage: null,
  };
}

/**
 * The OpenAI frontend's streamed chunks for `pieces`: first the role with empty content, then one
 * chunk per Triton response, the last with finish_reason "stop" (engine/triton_engine.py:285-341,
 * `model_dump_json(exclude_unset=True)`); the reply adds `data: [DONE]` with `done: true`.
 */
export function chatChunks(pieces: readonly string[], model: string): Record<string, unknown>[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id: "cmpl-fake",
    choices: [{ delta, logprobs: null, finish_reason: finish, index: 0 }],
    created: 1_700_000_000,
    model,
    system_fingerprint: null,
    object: "chat.completion.chunk",
  });
  return [
    chunk({ content: "", function_call: null, role: "assistant" }, null),
    ...pieces.map((piece, index) =>
      chunk({ content: piece, function_call: null, role: null }, index === pieces.length - 1 ? "stop" : null),
    ),
  ];
}

/** The paths OCI forwards to the container: the two predict routes, bare or followed by the chat route. */
function predictPath(path: string): boolean {
  return [`/${DEPLOYMENT_ID}/predict`, `/${DEPLOYMENT_ID}/predictWithResponseStream`].some(
    (route) => path === route || path === `${route}/v1/chat/completions`,
  );
}

export async function startFakeDeployment(
  publicKey: KeyObject,
  behaviour: Behaviour,
  lifetimeMs = 60_000,
): Promise<FakeDeployment> {
  const requests: RecordedRequest[] = [];
  let predictCalls = 0;
  let lifecycleCalls = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = request.url ?? "/";
      const method = request.method ?? "GET";
      const recorded: RecordedRequest = {
        method,
        path,
        headers: request.headers,
        body,
        signatureProblem: signatureProblem(method, path, request.headers, body, publicKey),
      };
      requests.push(recorded);
      if (recorded.signatureProblem !== undefined) {
        answer(response, {
          status: 401,
          json: { code: "NotAuthenticated", message: recorded.signatureProblem },
        });
        return;
      }
      if (method === "GET" && path === `/20190101/modelDeployments/${DEPLOYMENT_ID}`) {
        const state = behaviour.lifecycle?.(lifecycleCalls++) ?? "ACTIVE";
        answer(response, {
          status: 200,
          json: { id: DEPLOYMENT_ID, lifecycleState: state, modelDeploymentUrl: "", displayName: "fake" },
        });
        return;
      }
      if (method === "POST" && predictPath(path)) {
        const reply = behaviour.predict?.(recorded, predictCalls++) ?? {
          status: 200,
          json: tritonAnswer("ok"),
        };
        answer(response, reply);
        return;
      }
      answer(response, {
        status: 404,
        json: { code: "NotAuthorizedOrNotFound", message: `no route ${method} ${path}` },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const lifetime = setTimeout(() => void close(), lifetimeMs);
  lifetime.unref();
  const base = `http://127.0.0.1:${port}`;
  return {
    predictUrl: `${base}/${DEPLOYMENT_ID}/predict`,
    predictStreamUrl: `${base}/${DEPLOYMENT_ID}/predictWithResponseStream`,
    controlPlaneEndpoint: base,
    requests,
    close,
  };
}

/**
 * A `serve(behaviour)` for one test file: each call starts a fake deployment checking signatures with
 * `publicKey`, and every server it started is closed after the file's tests.
 */
export function fakeDeploymentPool(publicKey: KeyObject): (behaviour: Behaviour) => Promise<FakeDeployment> {
  const servers: FakeDeployment[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));
  return async (behaviour) => {
    const server = await startFakeDeployment(publicKey, behaviour);
    servers.push(server);
    return server;
  };
}

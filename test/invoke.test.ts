import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { commandExitCode, parseCommandLine } from "../cli/args";
import { invokeCommand, invokeMain, invokeOptions } from "../cli/invoke";
import { UserError } from "../operations/errors";
import { invoke, type InvokeOptions } from "../operations/endpoint/invoke";
import { backoffDelayMs, withRetry } from "../operations/retry";
import type { StackBackend } from "../operations/stacks";
import { captureIo } from "./support/capture-io";
import {
  chatChunks,
  chatCompletion,
  DEPLOYMENT_ID,
  signatureProblem,
  fakeDeploymentPool,
  testCredentials,
  tritonAnswer,
} from "./support/fake-deployment";
import { FakeStacks, writeStackProject } from "./support/fake-stacks";

const ROOT = resolve(__dirname, "..");
const credentials = testCredentials();
const serve = fakeDeploymentPool(credentials.publicKey);

const refuse = async (): Promise<never> => {
  throw new Error("this call must not read a stack");
};
const noBackend: StackBackend = { listStacks: refuse, outputs: refuse, up: refuse, destroy: refuse };

interface Call {
  readonly out: string;
  readonly err: string;
  /** The message of the UserError the call failed with; undefined when it succeeded. */
  readonly error?: string;
}

/** The operation with the flags' defaults, signing with the test's OCI profile. */
async function call(
  options: Partial<InvokeOptions> & Pick<InvokeOptions, "prompt">,
  backend: StackBackend = noBackend,
): Promise<Call> {
  const io = captureIo(ROOT);
  const defaults: Omit<InvokeOptions, "prompt"> = {
    model: "tiiuae/falcon-7b-instruct",
    chat: false,
    stream: false,
    json: false,
    projectDir: ROOT,
    auth: { method: "api_key", configFile: credentials.configFile },
  };
  try {
    await invoke({ ...defaults, ...options }, { output: io, backend });
    return { out: io.out(), err: io.err() };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { out: io.out(), err: io.err(), error: error.message };
  }
}

/** The command line, parsed and run as `npm run -s invoke` does, printing to a buffer. */
async function commandLine(argv: string[]) {
  const io = captureIo(ROOT);
  const code = await commandExitCode(invokeCommand, invokeMain, argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe("invoke", () => {
  it("signs the call with the OCI profile and sends the catalogue's end/pad ids", async () => {
    const server = await serve({
      predict: () => ({ status: 200, json: tritonAnswer("Paris is the capital.") }),
    });
    const result = await call({ endpoint: server.predictUrl, prompt: "What is the capital of France?" });
    assert.equal(result.err, "");
    assert.equal(result.error, undefined);
    assert.equal(result.out, "Paris is the capital.\n");
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert.equal(request.signatureProblem, undefined);
    assert.equal(request.path, `/${DEPLOYMENT_ID}/predict`);
    assert.equal(request.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(request.body), {
      text_input: "What is the capital of France?",
      max_tokens: 64,
      end_id: 11,
      pad_id: 11,
    });
  });

  it("the stand-in's verifier refuses a body or path the signature was not made over", async () => {
    const server = await serve({});
    await call({ endpoint: server.predictUrl, prompt: "hi" });
    const [request] = server.requests;
    assert.equal(
      signatureProblem("POST", request.path, request.headers, request.body, credentials.publicKey),
      undefined,
    );
    assert.match(
      signatureProblem(
        "POST",
        request.path,
        request.headers,
        request.body.replace("hi", "ho"),
        credentials.publicKey,
      ) ?? "",
      /x-content-sha256/,
    );
    assert.equal(
      signatureProblem("POST", `${request.path}X`, request.headers, request.body, credentials.publicKey),
      "signature does not verify",
    );
    const otherKey = testCredentials().publicKey;
    assert.equal(
      signatureProblem("POST", request.path, request.headers, request.body, otherKey),
      "signature does not verify",
    );
  });

  it("--json prints the whole answer, the latency and the attempts", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const result = await call({ endpoint: server.predictUrl, json: true, maxTokens: 8, prompt: "Capital?" });
    assert.equal(result.error, undefined);
    const printed = JSON.parse(result.out);
    assert.equal(printed.text_output, "Paris.");
    assert.deepEqual(printed.answer, tritonAnswer("Paris."));
    assert.equal(printed.attempts, 1);
    assert.ok(Number.isInteger(printed.latencyMs) && printed.latencyMs >= 0);
    assert.equal(JSON.parse(server.requests[0].body).max_tokens, 8);
  });

  it("--stream prints server-sent pieces as they arrive and counts the events", async () => {
    const pieces = ["Par", "is", " is", " the", " capital", "."];
    const server = await serve({
      predict: () => ({ status: 200, sse: pieces.map(tritonAnswer), gapMs: 10 }),
    });
    const plain = await call({ endpoint: server.predictStreamUrl, stream: true, prompt: "Capital?" });
    assert.equal(plain.error, undefined);
    assert.equal(plain.out, "Paris is the capital.\n");
    assert.equal(server.requests[0].path, `/${DEPLOYMENT_ID}/predictWithResponseStream`);
    assert.equal(JSON.parse(server.requests[0].body).stream, true);
    const json = await call({
      endpoint: server.predictStreamUrl,
      stream: true,
      json: true,
      prompt: "Capital?",
    });
    const printed = JSON.parse(json.out);
    assert.equal(printed.text_output, "Paris is the capital.");
    assert.equal(printed.events, pieces.length);
    assert.equal(printed.outputTokens, undefined, "events are not tokens: invoke does not call them so");
    assert.ok(printed.timeToFirstTokenMs <= printed.latencyMs);
    assert.ok(printed.latencyMs >= 45, "the stand-in sends the pieces 10 ms apart");
  });

  it("an error event inside a 200 stream fails the call with Triton's message", async () => {
    const server = await serve({
      predict: () => ({ status: 200, sse: [tritonAnswer("Par"), { error: "Exceeds max_tokens budget" }] }),
    });
    const result = await call({ endpoint: server.predictStreamUrl, stream: true, prompt: "Capital?" });
    assert.equal(result.error, "the deployment reported an error mid-stream: Exceeds max_tokens budget");
  });

  it("an answer that is not JSON is one line pointing at the predict mapping", async () => {
    const server = await serve({ predict: () => ({ status: 200, text: "<html>welcome</html>" }) });
    const result = await call({ endpoint: server.predictUrl, prompt: "Capital?" });
    assert.match(
      result.error ?? "",
      /^the deployment answered .* not JSON like Triton's \/generate: check that MODEL_DEPLOY_PREDICT_ENDPOINT/,
    );
    assert.equal(result.error?.split("\n").length, 1);
  });

  it("retries 429 with backoff, then prints the answer", async () => {
    const server = await serve({
      predict: (_, index) =>
        index === 0
          ? { status: 429, json: { code: "TooManyRequests", message: "Too many requests" } }
          : { status: 200, json: tritonAnswer("Paris.") },
    });
    const result = await call({ endpoint: server.predictUrl, prompt: "Capital?" });
    assert.equal(result.error, undefined);
    assert.equal(result.out, "Paris.\n");
    assert.match(result.err, /^HTTP 429 from the deployment: retrying in \d+\.\d s \(attempt 2 of 5\)\n$/);
    assert.equal(server.requests.length, 2);
    assert.ok(server.requests.every((request) => request.signatureProblem === undefined));
    assert.notEqual(server.requests[0].headers.authorization, undefined);
  });

  it("401: one line naming the profile and the fix, exit 1, no stack trace", async () => {
    const server = await serve({
      predict: () => ({
        status: 401,
        json: {
          code: "NotAuthenticated",
          message: "The required information to complete authentication was not provided or was incorrect.",
        },
      }),
    });
    const result = await call({ endpoint: server.predictUrl, prompt: "Capital?" });
    assert.equal(result.out, "");
    assert.equal(result.err, "");
    assert.equal(result.error?.split("\n").length, 1, result.error);
    assert.match(result.error ?? "", /^401 NotAuthenticated: .*profile 'DEFAULT'.*Fix: /);
    assert.equal(server.requests.length, 1, "401 is not retried");
  });

  it("a 400 from Triton shows Triton's own message, which the SDK's error would drop", async () => {
    const server = await serve({
      predict: () => ({
        status: 400,
        json: { error: "unexpected inference input 'min_tokens' for model 'ensemble'" },
      }),
    });
    const result = await call({ endpoint: server.predictUrl, prompt: "Capital?" });
    assert.equal(result.error, "400 unexpected inference input 'min_tokens' for model 'ensemble'");
    assert.equal(server.requests[0].signatureProblem, undefined);
  });

  it("413 names OCI's 10 MB limit and the body size", async () => {
    const server = await serve({
      predict: () => ({ status: 413, json: { code: "PayloadTooLarge", message: "too large" } }),
    });
    const result = await call({ endpoint: server.predictUrl, prompt: "Capital?" });
    const bytes = Buffer.byteLength(server.requests[0].body);
    assert.match(
      result.error ?? "",
      new RegExp(
        `413 PayloadTooLarge: too large: the request body is ${bytes} bytes and OCI accepts at most 10 MB`,
      ),
    );
  });

  it("411 blames a proxy; a 404 from an ACTIVE deployment points at the URL and the policy", async () => {
    const server = await serve({
      predict: (_, index) =>
        index === 0
          ? { status: 411, json: { code: "LengthRequired", message: "Missing content length header" } }
          : { status: 404, json: { code: "NotAuthorizedOrNotFound", message: "not found" } },
      lifecycle: () => "ACTIVE",
    });
    const options = {
      endpoint: server.predictUrl,
      controlPlaneEndpoint: server.controlPlaneEndpoint,
      prompt: "hi",
    };
    const lengthRequired = await call(options);
    assert.match(lengthRequired.error ?? "", /^411 LengthRequired: .*a proxy on the way dropped it/);
    const notFound = await call(options);
    assert.match(
      notFound.error ?? "",
      new RegExp(
        `^404 NotAuthorizedOrNotFound: not found: no model deployment ${DEPLOYMENT_ID} at .*use data-science-model-deployments`,
      ),
    );
  });

  it("a 404 from a deployment that is still CREATING says so", async () => {
    const server = await serve({
      predict: () => ({ status: 404, json: { code: "NotAuthorizedOrNotFound", message: "not found" } }),
      lifecycle: () => "CREATING",
    });
    const result = await call({
      endpoint: server.predictUrl,
      controlPlaneEndpoint: server.controlPlaneEndpoint,
      prompt: "Capital?",
    });
    assert.match(
      result.error ?? "",
      new RegExp(`^model deployment ${DEPLOYMENT_ID} is CREATING: .*wait until it is ACTIVE`),
    );
    const lookup = server.requests.find((request) => request.method === "GET");
    assert.equal(lookup?.path, `/20190101/modelDeployments/${DEPLOYMENT_ID}`);
    assert.equal(lookup?.signatureProblem, undefined);
  });

  it("a broken OCI profile is one line naming the profile, the file and the fix", async () => {
    const broken = join(resolve(credentials.configFile, ".."), "broken-config");
    writeFileSync(
      broken,
      "[DEFAULT]\nuser=ocid1.user.oc1..x\ntenancy=ocid1.tenancy.oc1..x\nregion=us-ashburn-1\n",
    );
    const result = await call({
      endpoint: "https://example.invalid/ocid1.datasciencemodeldeployment.oc1.iad.x/predict",
      auth: { method: "api_key", configFile: broken },
      prompt: "hi",
    });
    assert.equal(
      result.error,
      `OCI profile 'DEFAULT' in ${broken} cannot be used: missing fingerprint in config. Fix: run 'oci setup config', or pass --config-file / --profile naming a profile with user, fingerprint, key_file, tenancy and region`,
    );
    const missing = await call({
      endpoint: "https://example.invalid/ocid1.datasciencemodeldeployment.oc1.iad.x",
      auth: { method: "api_key", configFile: credentials.configFile, profile: "NOPE" },
      prompt: "hi",
    });
    assert.match(missing.error ?? "", /^OCI profile 'NOPE' in .* cannot be used: No profile named NOPE/);
  });

  it("--stack reads predictUrl through the Pulumi seam and the body from the stack's config", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const stacks = new FakeStacks({ stacks: { dev: { predictUrl: server.predictUrl } } });
    const project = writeStackProject("dev", false);
    const result = await call(
      { stack: "dev", maxTokens: 12, projectDir: project, prompt: "Capital?" },
      stacks,
    );
    assert.equal(result.err, "");
    assert.equal(result.error, undefined);
    assert.deepEqual(stacks.calls, ["outputs dev"]);
    const body = JSON.parse(server.requests[0].body);
    assert.equal(body.text_input, "Capital?");
    assert.equal(body.max_tokens, 12);
    assert.equal(body.end_id, 11, "the stack deploys Falcon-7B-instruct: end id 11");
    assert.equal(body.pad_id, 11);
  });

  it("--stream on a stack without predictStreamUrl says how to enable streaming", async () => {
    const stacks = new FakeStacks({ stacks: { dev: { predictUrl: `https://h/${DEPLOYMENT_ID}/predict` } } });
    const result = await call({ stack: "dev", stream: true, prompt: "Capital?" }, stacks);
    assert.match(result.error ?? "", /stack 'dev' does not stream.*deployment\.streaming true/);
  });
});

describe("invoke --chat: a stack serving Triton's OpenAI frontend", () => {
  const MODEL = "tensorrt_llm_bls";
  const CHAT_PATH = `/${DEPLOYMENT_ID}/predict/v1/chat/completions`;
  const CHAT_STREAM_PATH = `/${DEPLOYMENT_ID}/predictWithResponseStream/v1/chat/completions`;
  const openaiStack = (server: { predictUrl: string; predictStreamUrl: string }, streams = true) =>
    new FakeStacks({
      stacks: {
        dev: {
          predictUrl: server.predictUrl,
          ...(streams ? { predictStreamUrl: server.predictStreamUrl } : {}),
          api: "openai",
          openaiModel: MODEL,
        },
      },
    });

  it("posts a signed chat body to <deployment>/predict/v1/chat/completions and prints the message", async () => {
    const server = await serve({
      predict: () => ({ status: 200, json: chatCompletion("Paris is the capital.", MODEL) }),
    });
    const result = await call({
      endpoint: server.predictUrl,
      chat: true,
      openaiModel: MODEL,
      maxTokens: 12,
      prompt: "What is the capital of France?",
    });
    assert.equal(result.error, undefined);
    assert.equal(result.out, "Paris is the capital.\n");
    const [request] = server.requests;
    assert.equal(request.path, CHAT_PATH);
    assert.equal(request.signatureProblem, undefined, "the signature covers the chat route's path");
    assert.deepEqual(JSON.parse(request.body), {
      model: MODEL,
      messages: [{ role: "user", content: "What is the capital of France?" }],
      max_tokens: 12,
      stream: false,
    });
  });

  it("max_tokens is always sent: the 25.04 frontend would stop at 16", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: chatCompletion("Paris.", MODEL) }) });
    await call({ endpoint: server.predictUrl, chat: true, openaiModel: MODEL, prompt: "Capital?" });
    assert.equal(JSON.parse(server.requests[0].body).max_tokens, 64);
  });

  it("a stack whose api output is openai gets the chat call with its openaiModel, streamed through predictWithResponseStream", async () => {
    const pieces = ["Par", "is", " is the capital", "."];
    const server = await serve({
      predict: () => ({ status: 200, sse: chatChunks(pieces, MODEL), done: true, gapMs: 5 }),
    });
    const stacks = openaiStack(server);
    const plain = await call({ stack: "dev", stream: true, prompt: "Capital?" }, stacks);
    assert.equal(plain.error, undefined);
    assert.equal(plain.out, "Paris is the capital.\n");
    assert.equal(server.requests[0].path, CHAT_STREAM_PATH);
    assert.equal(server.requests[0].signatureProblem, undefined);
    const body = JSON.parse(server.requests[0].body);
    assert.equal(body.model, MODEL);
    assert.equal(body.stream, true);
    assert.equal(body.text_input, undefined, "no Triton input on the chat route");

    const json = await call({ stack: "dev", stream: true, json: true, prompt: "Capital?" }, stacks);
    const printed = JSON.parse(json.out);
    assert.equal(printed.content, "Paris is the capital.");
    assert.equal(printed.text_output, undefined);
    assert.equal(printed.events, pieces.length, "the role chunk carries no text");
    assert.equal(printed.answer.choices[0].finish_reason, "stop");
  });

  it("a stream cut before data: [DONE] fails instead of passing a short answer off as whole", async () => {
    const server = await serve({
      predict: () => ({ status: 200, sse: chatChunks(["Par", "is"], MODEL).slice(0, 2) }),
    });
    const result = await call({ stack: "dev", stream: true, prompt: "Capital?" }, openaiStack(server));
    assert.match(result.error ?? "", /^the deployment's stream ended before its final "data: \[DONE\]"/);
  });

  it("the frontend's FastAPI errors come through in its own words", async () => {
    const server = await serve({
      predict: (_, index) =>
        index === 0
          ? { status: 400, json: { detail: "Unknown model: odsc-llm" } }
          : {
              status: 422,
              json: {
                detail: [
                  {
                    type: "extra_forbidden",
                    loc: ["body", "max_completion_tokens"],
                    msg: "Extra inputs are not permitted",
                    input: 5,
                  },
                ],
              },
            },
    });
    const options = { endpoint: server.predictUrl, chat: true, openaiModel: "odsc-llm", prompt: "hi" };
    assert.equal((await call(options)).error, "400 Unknown model: odsc-llm");
    assert.equal((await call(options)).error, "422 max_completion_tokens: Extra inputs are not permitted");
  });

  it("--chat on a stack that serves Triton's generate API is refused, naming the stack's api", async () => {
    const stacks = new FakeStacks({ stacks: { dev: { predictUrl: `https://h/${DEPLOYMENT_ID}/predict` } } });
    const result = await call({ stack: "dev", chat: true, prompt: "Capital?" }, stacks);
    assert.match(
      result.error ?? "",
      /^stack 'dev' serves Triton's generate API \(its api output is triton\)/,
    );
  });

  it("a stack that exports api openai without openaiModel, or an api it does not know, is refused", async () => {
    const url = `https://h/${DEPLOYMENT_ID}/predict`;
    const noModel = await call(
      { stack: "dev", prompt: "hi" },
      new FakeStacks({ stacks: { dev: { predictUrl: url, api: "openai" } } }),
    );
    assert.match(noModel.error ?? "", /exports api 'openai' but no openaiModel/);
    const unknown = await call(
      { stack: "dev", prompt: "hi" },
      new FakeStacks({ stacks: { dev: { predictUrl: url, api: "grpc" } } }),
    );
    assert.match(
      unknown.error ?? "",
      /exports api 'grpc', which this command does not know \(triton, openai\)/,
    );
  });

  it("--chat with --endpoint needs the model name; --openai-model alone is a usage mistake", async () => {
    const endpoint = `https://example.invalid/${DEPLOYMENT_ID}/predict`;
    const noModel = await call({ endpoint, chat: true, prompt: "hi" });
    assert.match(noModel.error ?? "", /^--chat with --endpoint needs --openai-model <name>/);
    const noChat = await call({ endpoint, openaiModel: MODEL, prompt: "hi" });
    assert.match(noChat.error ?? "", /^--openai-model names the model of a chat call/);
  });

  it("a URL that already names the chat route is the same deployment", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: chatCompletion("ok", MODEL) }) });
    const result = await call({
      endpoint: `${server.predictUrl}/v1/chat/completions`,
      chat: true,
      openaiModel: MODEL,
      prompt: "hi",
    });
    assert.equal(result.error, undefined);
    assert.equal(server.requests[0].path, CHAT_PATH);
  });
});

describe("invoke: the command line (cli/invoke.ts)", () => {
  it("usage mistakes exit 2 with the usage line", async () => {
    for (const argv of [
      [],
      ["--endpoint", "https://h/x"],
      ["--stack", "dev", "a", "b"],
      ["--auth", "password", "--stack", "dev", "hi"],
      ["--max-tokens", "0", "--stack", "dev", "hi"],
      ["--stack", "my stack", "hi"],
      ["--bogus"],
    ]) {
      const result = await commandLine(argv);
      assert.equal(result.code, 2, argv.join(" "));
      assert.match(result.err, /usage: npm run -s invoke/);
      assert.equal(result.out, "");
    }
    const plainHttp = await commandLine(["--endpoint", `http://example.com/${DEPLOYMENT_ID}/predict`, "hi"]);
    assert.equal(plainHttp.code, 2);
    assert.match(plainHttp.err, /^--endpoint 'http:\/\/example.com\/.*' must use https/);
  });

  it("--help prints the usage and the options, exit 0", async () => {
    const help = await commandLine(["--help"]);
    assert.equal(help.code, 0);
    assert.match(
      help.out,
      /^usage: npm run -s invoke -- \[--stack <name> \| --endpoint <url>\] \[options\] "<prompt>"\n {2}--stack <name> /,
    );
    assert.equal(help.err, "");
  });

  it("the flags become the operation's options; relative paths start where the user ran npm", () => {
    const parse = (argv: string[]) => {
      const parsed = parseCommandLine(invokeCommand, argv);
      assert.ok(parsed);
      return invokeOptions(parsed, "/home/me/work");
    };
    assert.deepEqual(
      parse([
        "--stack",
        "dev",
        "--stream",
        "--json",
        "--max-tokens",
        "128",
        "--config-file",
        "oci/cfg",
        "Tell",
      ]),
      {
        stack: "dev",
        endpoint: undefined,
        model: "tiiuae/falcon-7b-instruct",
        chat: false,
        openaiModel: undefined,
        prompt: "Tell",
        maxTokens: 128,
        stream: true,
        json: true,
        projectDir: "/home/me/work",
        auth: {
          method: "api_key",
          profile: process.env.OCI_CLI_PROFILE,
          configFile: "/home/me/work/oci/cfg",
        },
        controlPlaneEndpoint: undefined,
      },
    );
    const chat = parse(["--endpoint", "https://h/x", "--chat", "--openai-model", "ensemble", "hi"]);
    assert.equal(chat.chat, true);
    assert.equal(chat.openaiModel, "ensemble");
    const endpoint = parse(["--endpoint", "https://h/x", "--dir", "p", "--auth", "security_token", "hi"]);
    assert.equal(endpoint.endpoint, "https://h/x");
    assert.equal(endpoint.projectDir, "/home/me/work/p");
    assert.equal(endpoint.auth.method, "security_token");
    assert.equal(endpoint.maxTokens, undefined);
  });

  it("an operation's error is one line, `error: <message>`, exit 1", async () => {
    const broken = join(resolve(credentials.configFile, ".."), "broken-config-cli");
    writeFileSync(broken, "[DEFAULT]\nuser=ocid1.user.oc1..x\n");
    const result = await commandLine([
      "--endpoint",
      "https://example.invalid/ocid1.datasciencemodeldeployment.oc1.iad.x/predict",
      "--config-file",
      broken,
      "hi",
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.err,
      new RegExp(`^error: OCI profile 'DEFAULT' in ${broken} cannot be used: .*Fix: [^\n]*\n$`),
    );
  });

  it("the npm entry point runs the same command and sets the exit code", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        "cli/invoke.ts",
        "--endpoint",
        server.predictUrl,
        "--config-file",
        credentials.configFile,
        "Capital?",
      ],
      { cwd: ROOT, timeout: 30_000 },
    );
    assert.equal(stdout, "Paris.\n");
    const help = await promisify(execFile)(process.execPath, ["--import", "tsx", "cli/invoke.ts", "--help"], {
      cwd: ROOT,
      timeout: 30_000,
    });
    assert.match(help.stdout, /^usage: npm run -s invoke/);
  });
});

describe("backoff", () => {
  it("waits a uniform share of min(max, base x 2^retry): full jitter", () => {
    const policy = { attempts: 5, baseMs: 500, maxMs: 8_000 };
    assert.equal(
      backoffDelayMs(0, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(0, policy, () => 0.5),
      250,
    );
    assert.equal(
      backoffDelayMs(3, policy, () => 0.5),
      2_000,
    );
    assert.equal(
      backoffDelayMs(10, policy, () => 0.999_999),
      7_999,
      "capped at maxMs",
    );
  });

  it("stops at the first error it may not retry, and after the last attempt", async () => {
    let calls = 0;
    const policy = { attempts: 3, baseMs: 1, maxMs: 1 };
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new Error("retryable");
        },
        { policy, shouldRetry: () => true },
      ),
      /retryable/,
    );
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new Error("final");
        },
        { policy, shouldRetry: () => false },
      ),
      /final/,
    );
    assert.equal(calls, 1);
  });
});

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { invokeMain } from "../operations/invoke";
import { authOptions } from "../operations/oci-client";
import { backoffDelayMs, withRetry } from "../operations/retry";
import type { StackBackend } from "../operations/stacks";
import { captureIo } from "./support/capture-io";
import {
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

const noBackend = (): StackBackend => {
  throw new Error("this call must not read a stack");
};

async function invoke(argv: string[], backend: (dir: string) => StackBackend = noBackend, cwd = ROOT) {
  const io = captureIo(cwd);
  const code = await invokeMain([...argv, "--config-file", credentials.configFile], io, backend);
  return { code, out: io.out(), err: io.err() };
}

describe("invoke", () => {
  it("signs the call with the OCI profile and sends the catalogue's end/pad ids", async () => {
    const server = await serve({
      predict: () => ({ status: 200, json: tritonAnswer("Paris is the capital.") }),
    });
    const result = await invoke(["--endpoint", server.predictUrl, "What is the capital of France?"]);
    assert.equal(result.err, "");
    assert.equal(result.code, 0);
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
    await invoke(["--endpoint", server.predictUrl, "hi"]);
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
    const result = await invoke(["--endpoint", server.predictUrl, "--json", "--max-tokens", "8", "Capital?"]);
    assert.equal(result.code, 0);
    const printed = JSON.parse(result.out);
    assert.equal(printed.text_output, "Paris.");
    assert.deepEqual(printed.answer, tritonAnswer("Paris."));
    assert.equal(printed.attempts, 1);
    assert.ok(Number.isInteger(printed.latencyMs) && printed.latencyMs >= 0);
    assert.equal(JSON.parse(server.requests[0].body).max_tokens, 8);
  });

  it("--stream prints server-sent pieces as they arrive and counts them", async () => {
    const pieces = ["Par", "is", " is", " the", " capital", "."];
    const server = await serve({
      predict: () => ({ status: 200, sse: pieces.map(tritonAnswer), gapMs: 10 }),
    });
    const plain = await invoke(["--endpoint", server.predictStreamUrl, "--stream", "Capital?"]);
    assert.equal(plain.code, 0);
    assert.equal(plain.out, "Paris is the capital.\n");
    assert.equal(server.requests[0].path, `/${DEPLOYMENT_ID}/predictWithResponseStream`);
    assert.equal(JSON.parse(server.requests[0].body).stream, true);
    const json = await invoke(["--endpoint", server.predictStreamUrl, "--stream", "--json", "Capital?"]);
    const printed = JSON.parse(json.out);
    assert.equal(printed.text_output, "Paris is the capital.");
    assert.equal(printed.outputTokens, pieces.length);
    assert.ok(printed.timeToFirstTokenMs <= printed.latencyMs);
    assert.ok(printed.latencyMs >= 45, "the stand-in sends the pieces 10 ms apart");
  });

  it("an error event inside a 200 stream fails the call with Triton's message", async () => {
    const server = await serve({
      predict: () => ({ status: 200, sse: [tritonAnswer("Par"), { error: "Exceeds max_tokens budget" }] }),
    });
    const result = await invoke(["--endpoint", server.predictStreamUrl, "--stream", "Capital?"]);
    assert.equal(result.code, 1);
    assert.match(
      result.err,
      /^error: the deployment reported an error mid-stream: Exceeds max_tokens budget\n$/,
    );
  });

  it("an answer that is not JSON is one line pointing at the predict mapping", async () => {
    const server = await serve({ predict: () => ({ status: 200, text: "<html>welcome</html>" }) });
    const result = await invoke(["--endpoint", server.predictUrl, "Capital?"]);
    assert.equal(result.code, 1);
    assert.match(
      result.err,
      /^error: the deployment answered .* not JSON like Triton's \/generate: check that MODEL_DEPLOY_PREDICT_ENDPOINT/,
    );
    assert.equal(result.err.split("\n").length, 2);
  });

  it("retries 429 with backoff, then prints the answer", async () => {
    const server = await serve({
      predict: (_, index) =>
        index === 0
          ? { status: 429, json: { code: "TooManyRequests", message: "Too many requests" } }
          : { status: 200, json: tritonAnswer("Paris.") },
    });
    const result = await invoke(["--endpoint", server.predictUrl, "Capital?"]);
    assert.equal(result.code, 0);
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
    const result = await invoke(["--endpoint", server.predictUrl, "Capital?"]);
    assert.equal(result.code, 1);
    assert.equal(result.out, "");
    assert.equal(result.err.split("\n").length, 2, result.err);
    assert.match(result.err, /^error: 401 NotAuthenticated: .*profile 'DEFAULT'.*Fix: /);
    assert.doesNotMatch(result.err, /\n\s+at /);
    assert.equal(server.requests.length, 1, "401 is not retried");
  });

  it("a 400 from Triton shows Triton's own message, which the SDK's error would drop", async () => {
    const server = await serve({
      predict: () => ({
        status: 400,
        json: { error: "unexpected inference input 'min_tokens' for model 'ensemble'" },
      }),
    });
    const result = await invoke(["--endpoint", server.predictUrl, "Capital?"]);
    assert.equal(result.code, 1);
    assert.equal(result.err, "error: 400 unexpected inference input 'min_tokens' for model 'ensemble'\n");
    assert.equal(server.requests[0].signatureProblem, undefined);
  });

  it("413 names OCI's 10 MB limit and the body size", async () => {
    const server = await serve({
      predict: () => ({ status: 413, json: { code: "PayloadTooLarge", message: "too large" } }),
    });
    const result = await invoke(["--endpoint", server.predictUrl, "Capital?"]);
    assert.equal(result.code, 1);
    const bytes = Buffer.byteLength(server.requests[0].body);
    assert.match(
      result.err,
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
    const argv = [
      "--endpoint",
      server.predictUrl,
      "--control-plane-endpoint",
      server.controlPlaneEndpoint,
      "hi",
    ];
    const lengthRequired = await invoke(argv);
    assert.equal(lengthRequired.code, 1);
    assert.match(lengthRequired.err, /^error: 411 LengthRequired: .*a proxy on the way dropped it/);
    const notFound = await invoke(argv);
    assert.equal(notFound.code, 1);
    assert.match(
      notFound.err,
      new RegExp(
        `^error: 404 NotAuthorizedOrNotFound: not found: no model deployment ${DEPLOYMENT_ID} at .*use data-science-model-deployments`,
      ),
    );
  });

  it("a 404 from a deployment that is still CREATING says so", async () => {
    const server = await serve({
      predict: () => ({ status: 404, json: { code: "NotAuthorizedOrNotFound", message: "not found" } }),
      lifecycle: () => "CREATING",
    });
    const result = await invoke([
      "--endpoint",
      server.predictUrl,
      "--control-plane-endpoint",
      server.controlPlaneEndpoint,
      "Capital?",
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.err,
      new RegExp(`^error: model deployment ${DEPLOYMENT_ID} is CREATING: .*wait until it is ACTIVE`),
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
    const io = captureIo(ROOT);
    const code = await invokeMain(
      [
        "--endpoint",
        "https://example.invalid/ocid1.datasciencemodeldeployment.oc1.iad.x/predict",
        "--config-file",
        broken,
        "hi",
      ],
      io,
      noBackend,
    );
    assert.equal(code, 1);
    assert.equal(
      io.err(),
      `error: OCI profile 'DEFAULT' in ${broken} cannot be used: missing fingerprint in config. Fix: run 'oci setup config', or pass --config-file / --profile naming a profile with user, fingerprint, key_file, tenancy and region\n`,
    );
    const missing = await invoke([
      "--endpoint",
      "https://example.invalid/ocid1.datasciencemodeldeployment.oc1.iad.x",
      "--profile",
      "NOPE",
      "hi",
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: OCI profile 'NOPE' in .* cannot be used: No profile named NOPE/);
  });

  it("--stack reads predictUrl through the Pulumi seam and the body from the stack's config", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const stacks = new FakeStacks({ stacks: { dev: { predictUrl: server.predictUrl } } });
    const project = writeStackProject("dev", false);
    const result = await invoke(["--stack", "dev", "--max-tokens", "12", "Capital?"], () => stacks, project);
    assert.equal(result.err, "");
    assert.equal(result.code, 0);
    assert.deepEqual(stacks.calls, ["outputs dev"]);
    const body = JSON.parse(server.requests[0].body);
    assert.equal(body.text_input, "Capital?");
    assert.equal(body.max_tokens, 12);
    assert.equal(body.end_id, 11, "the stack deploys Falcon-7B-instruct: end id 11");
    assert.equal(body.pad_id, 11);
  });

  it("--stream on a stack without predictStreamUrl says how to enable streaming", async () => {
    const stacks = new FakeStacks({ stacks: { dev: { predictUrl: `https://h/${DEPLOYMENT_ID}/predict` } } });
    const result = await invoke(["--stack", "dev", "--stream", "Capital?"], () => stacks);
    assert.equal(result.code, 1);
    assert.match(result.err, /stack 'dev' does not stream.*deployment\.streaming true/);
  });

  it("the profile and config file default to the OCI CLI's variables; flags win", () => {
    const io = captureIo("/work/project");
    const env = { OCI_CLI_CONFIG_FILE: "oci/config", OCI_CLI_PROFILE: "EVAL" };
    assert.deepEqual(authOptions(io, {}, env), {
      method: "api_key",
      profile: "EVAL",
      configFile: "/work/project/oci/config",
    });
    assert.deepEqual(
      authOptions(io, { profile: "P", "config-file": "/etc/oci", auth: "security_token" }, env),
      {
        method: "security_token",
        profile: "P",
        configFile: "/etc/oci",
      },
    );
    assert.deepEqual(authOptions(io, {}, {}), {
      method: "api_key",
      profile: undefined,
      configFile: undefined,
    });
  });

  it("usage mistakes exit 2 with the usage line", async () => {
    for (const argv of [
      [],
      ["--endpoint", "https://h/x"],
      ["--stack", "dev", "a", "b"],
      ["--auth", "password", "--stack", "dev", "hi"],
      ["--max-tokens", "0", "--stack", "dev", "hi"],
      ["--bogus"],
    ]) {
      const result = await invoke(argv);
      assert.equal(result.code, 2, argv.join(" "));
      assert.match(result.err, /usage: npm run -s invoke/);
    }
    const plainHttp = await invoke(["--endpoint", `http://example.com/${DEPLOYMENT_ID}/predict`, "hi"]);
    assert.equal(plainHttp.code, 2);
    assert.match(plainHttp.err, /must use https/);
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

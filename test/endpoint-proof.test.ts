// The known-answer proof `pulumi up` ends with (operations/up-tasks/endpoint-proof.ts, run by
// `cli/oci-task.ts prove-endpoint`): the answer checked with the build host's rule, the timings it
// records, and the failures that stop `up` with a way back. The proof signs its request with the
// project's one deployment client (operations/endpoint/deployment-client.ts); OCI's predict and Data Science
// APIs are the 127.0.0.1 stand-in of support/fake-deployment.ts, which checks every signature.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";

import { knownAnswerProblem, parseEndpointProof } from "../components/deployment/endpoint-proof";
import { proveEndpointCommand } from "../components/deployment/oci-task-commands";
import { validationRequestBody } from "../components/deployment/stack-outputs";
import { createDeploymentClient, parseDeploymentUrl } from "../operations/endpoint/deployment-client";
import { type EndpointProofRequest, proveEndpoint } from "../operations/up-tasks/endpoint-proof";
import { type AuthOptions, createAuthProvider } from "../operations/oci-client";
import { PROJECT_DIR } from "./support/dev-stack";
import {
  type Behaviour,
  chatCompletion,
  DEPLOYMENT_ID,
  type FakeDeployment,
  fakeDeploymentPool,
  testCredentials,
  tritonAnswer,
} from "./support/fake-deployment";
import { validConfig } from "./support/stack-fixtures";

const credentials = testCredentials();
const serve = fakeDeploymentPool(credentials.publicKey);
const AUTH: AuthOptions = { method: "api_key", configFile: credentials.configFile };
const BODY = validationRequestBody(validConfig());
const WHOLE: EndpointProofRequest = { body: BODY, expect: "Paris", stream: false };
const FAST = { attempts: 3, baseMs: 1, maxMs: 1 };
const CHECKED_AT = new Date("2026-12-03T20:00:00.000Z");

/** A monotonic clock that moves `stepMs` each time it is read. */
function ticking(stepMs: number): () => number {
  let now = 1_000;
  return () => (now += stepMs);
}

/** Proves the stand-in deployment that answers as `behaviour` says, through `/predict` or the stream route. */
async function prove(behaviour: Behaviour, request: EndpointProofRequest = WHOLE, lines: string[] = []) {
  const server = await serve(behaviour);
  // An OpenAI stack's proof is given `/predict` followed by the chat route (TritonDeployment).
  const url = request.stream
    ? server.predictStreamUrl
    : `${server.predictUrl}${request.api === "openai" ? "/v1/chat/completions" : ""}`;
  const client = createDeploymentClient(
    await createAuthProvider(AUTH),
    AUTH,
    parseDeploymentUrl(url, "--url"),
    {
      controlPlaneEndpoint: server.controlPlaneEndpoint,
      ...(request.api === undefined ? {} : { api: request.api }),
    },
  );
  const deps = {
    log: (line: string) => lines.push(line),
    policy: FAST,
    now: ticking(250),
    clock: () => CHECKED_AT,
  };
  return { server, result: proveEndpoint(client, request, deps) };
}

const predictCalls = (server: FakeDeployment) => server.requests.filter((r) => r.method === "POST");

const WAY_BACK = [
  new RegExp(`Model deployment ${DEPLOYMENT_ID} is left as it is for inspection`),
  /'pulumi stack output modelId' is the model that served before/,
  /revert the configuration change and run 'pulumi up'/,
];

function failsWithWayBack(what: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /^endpoint proof failed: /);
    assert.match(error.message, what);
    for (const guidance of WAY_BACK) assert.match(error.message, guidance);
    return true;
  };
}

describe("the endpoint proof", () => {
  test("a right answer passes after one signed request, reporting its latency, first byte and time", async () => {
    const lines: string[] = [];
    const { server, result } = await prove(
      { predict: () => ({ status: 200, json: tritonAnswer(" Paris. It is the largest city") }) },
      WHOLE,
      lines,
    );
    assert.deepEqual(await result, {
      answer: " Paris. It is the largest city",
      latencyMs: 250,
      firstByteMs: 250,
      checkedAt: "2026-12-03T20:00:00.000Z",
    });
    const [call] = predictCalls(server);
    assert.equal(predictCalls(server).length, 1);
    assert.equal(call.path, `/${DEPLOYMENT_ID}/predict`);
    assert.equal(call.signatureProblem, undefined);
    assert.deepEqual(JSON.parse(call.body), BODY, "the validation body as it is");
    assert.match(lines.join("\n"), /holds 'Paris'/);
  });

  test("through the stream route the first byte is the first piece, before the whole answer", async () => {
    const { server, result } = await prove(
      {
        predict: () => ({
          status: 200,
          sse: [{ text_output: " Par" }, { text_output: "is" }, { text_output: "." }],
        }),
      },
      { ...WHOLE, stream: true },
    );
    const proof = await result;
    assert.equal(proof.answer, " Paris.");
    assert.equal(proof.firstByteMs, 250);
    assert.equal(proof.latencyMs, 500);
    assert.equal(predictCalls(server)[0].path, `/${DEPLOYMENT_ID}/predictWithResponseStream`);
  });

  test("a wrong answer fails, saying what came back and how to go back", async () => {
    const { result } = await prove({
      predict: () => ({ status: 200, json: tritonAnswer(" Lyon, of course") }),
    });
    await assert.rejects(
      result,
      failsWithWayBack(/the answer does not hold 'Paris' \(build\.validation\.expect\): " Lyon, of course"/),
    );
  });

  test("an empty answer, an error inside it, or no text_output fail like the build host's check", async () => {
    const cases: [unknown, RegExp][] = [
      [tritonAnswer(" \n "), /the answer is empty/],
      [
        { error: "model 'ensemble' is not ready" },
        /the answer carried an error: model 'ensemble' is not ready/,
      ],
      [{ model_name: "ensemble" }, /the answer has no text_output: \{"model_name":"ensemble"\}/],
    ];
    for (const [json, what] of cases) {
      const { result } = await prove({ predict: () => ({ status: 200, json }) });
      await assert.rejects(result, failsWithWayBack(what));
    }
  });

  test("an HTTP 500 fails at once with OCI's answer", async () => {
    const { server, result } = await prove({
      predict: () => ({ status: 500, json: { code: "InternalServerError", message: "Triton crashed" } }),
    });
    await assert.rejects(result, failsWithWayBack(/failed: 500 InternalServerError: Triton crashed\./));
    assert.equal(predictCalls(server).length, 1, "a 500 is not retried");
  });

  test("a 503 is retried; one that lasts fails with the deployment's state", async () => {
    const busy = { status: 503, json: { code: "ServiceUnavailable", message: "busy" } };
    const lines: string[] = [];
    const recovered = await prove(
      { predict: (_request, index) => (index === 0 ? busy : { status: 200, json: tritonAnswer(" Paris") }) },
      WHOLE,
      lines,
    );
    assert.equal((await recovered.result).answer, " Paris");
    assert.match(lines.join("\n"), /HTTP 503 from the deployment: retrying .* \(attempt 2 of 3\)/);

    const failing = await prove({ predict: () => busy, lifecycle: () => "FAILED" });
    await assert.rejects(
      failing.result,
      failsWithWayBack(new RegExp(`model deployment ${DEPLOYMENT_ID} is FAILED: it cannot answer`)),
    );
    assert.equal(predictCalls(failing.server).length, 3);
  });
});

describe("the endpoint proof of an OpenAI stack", () => {
  const CHAT: EndpointProofRequest = {
    body: validationRequestBody(validConfig({ "deployment.api": "openai" })),
    expect: "Paris",
    stream: false,
    api: "openai",
  };

  test("asks the chat route under /predict with the chat body and checks the completion's text", async () => {
    const lines: string[] = [];
    const { server, result } = await prove(
      { predict: () => ({ status: 200, json: chatCompletion(" Paris.", "odsc-llm") }) },
      CHAT,
      lines,
    );
    assert.equal((await result).answer, " Paris.");
    const [call] = predictCalls(server);
    assert.equal(call.path, `/${DEPLOYMENT_ID}/predict/v1/chat/completions`);
    assert.equal(call.signatureProblem, undefined);
    assert.deepEqual(JSON.parse(call.body), CHAT.body);
    assert.match(
      lines.join("\n"),
      /asking model deployment .* "The capital of France is"; expecting 'Paris'/,
    );
  });

  test("a wrong or empty chat answer fails like the build host's check", async () => {
    for (const [text, what] of [
      [" Lyon.", /the answer does not hold 'Paris'/],
      ["", /the answer is empty/],
    ] as const) {
      const { result } = await prove(
        { predict: () => ({ status: 200, json: chatCompletion(text, "odsc-llm") }) },
        CHAT,
      );
      await assert.rejects(result, failsWithWayBack(what));
    }
  });
});

describe("the known-answer rule and the recorded proof", () => {
  test("the build host's rule: not blank, and holding the expected text as written", () => {
    assert.equal(knownAnswerProblem(" Paris.", "Paris"), undefined);
    assert.match(knownAnswerProblem(" paris.", "Paris") ?? "", /does not hold 'Paris'/);
    assert.equal(knownAnswerProblem("\t \n", "Paris"), "the answer is empty");
  });

  test("the stack output reads the command's one JSON line; nothing printed is no proof", () => {
    const proof = { answer: " Paris", latencyMs: 5, firstByteMs: 5, checkedAt: "2026-12-03T20:00:00.000Z" };
    assert.deepEqual(parseEndpointProof(`${JSON.stringify(proof)}\n`), proof);
    assert.equal(parseEndpointProof(""), undefined);
    assert.equal(parseEndpointProof(undefined), undefined);
    assert.throws(() => parseEndpointProof("ok\n"), /the endpoint proof printed "ok", not its JSON record/);
    assert.throws(() => parseEndpointProof('{"answer":" Paris"}'), /not its JSON record/);
  });
});

describe("prove-endpoint on the command line", () => {
  const run = (env: Record<string, string>, args: readonly string[]) => {
    try {
      const stdout = execFileSync(process.execPath, ["--import", "tsx", "cli/oci-task.ts", ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { code: 0, stdout, stderr: "" };
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      return { code: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const absentConfig = () => path.join(mkdtempSync(path.join(tmpdir(), "oci-config-")), "absent");
  const URL = `https://modeldeployment.us-ashburn-1.oci.customer-oci.com/${DEPLOYMENT_ID}/predict`;

  test("usage mistakes exit 2 naming the argument", () => {
    const base = ["prove-endpoint", "--region", "us-ashburn-1", "--url", URL];
    const noBody = run({}, [...base, "--expect", "Paris"]);
    assert.equal(noBody.code, 2);
    assert.match(noBody.stderr, /--body is required/);
    const list = run({}, [...base, "--body", "[1]", "--expect", "Paris"]);
    assert.equal(list.code, 2);
    assert.match(list.stderr, /--body must be a JSON object/);
    assert.match(run({}, [...base, "--body", "{}"]).stderr, /--expect is required/);
    const api = run({}, [...base, "--body", "{}", "--expect", "Paris", "--api", "vllm"]);
    assert.equal(api.code, 2);
    assert.match(
      api.stderr,
      /--api must be openai \(leave it out for Triton's generate endpoint\), not 'vllm'/,
    );
  });

  test("the command the deployment component runs parses: an absent profile is its only problem", () => {
    const command = proveEndpointCommand({
      url: URL,
      body: BODY,
      expect: "Paris",
      stream: true,
      region: "us-ashburn-1",
      profile: "TRITON",
    });
    let result: { code: number; stderr: string };
    try {
      execFileSync("bash", ["-c", command], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, OCI_CLI_CONFIG_FILE: absentConfig() },
        stdio: ["ignore", "pipe", "pipe"],
      });
      result = { code: 0, stderr: "" };
    } catch (error) {
      const e = error as { status: number; stderr: string };
      result = { code: e.status, stderr: e.stderr };
    }
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /OCI profile 'TRITON' in .*absent cannot be used/);
  });
});

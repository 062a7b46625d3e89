import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { commandExitCode, parseCommandLine } from "../cli/args";
import { evaluateCommand, evaluateMain, evaluateOptions } from "../cli/evaluate";
import { UserError } from "../operations/errors";
import {
  DEFAULT_PROMPTS,
  evaluate,
  type EvaluateDeps,
  type EvaluateOptions,
  hubCacheDir,
} from "../operations/evaluate/evaluate";
import { type EvaluationReport, parsePrompts, percentile, summarize } from "../operations/evaluate/figures";
import { captureIo } from "./support/capture-io";
import { devEvaluation, FAST_DESTROY_BACKOFF, TEST_TOKENIZER_DIR } from "./support/dev-evaluation";
import {
  type Behaviour,
  chatChunks,
  DEPLOYMENT_ID,
  type FakeDeployment,
  fakeDeploymentPool,
  testCredentials,
  tritonAnswer,
} from "./support/fake-deployment";
import { scratchDir } from "./support/scratch";
import { FakeStacks, type FakeStacksOptions, writeStackProject } from "./support/fake-stacks";
import { EventEmitter } from "node:events";

const ROOT = resolve(__dirname, "..");
const credentials = testCredentials();
const serve = fakeDeploymentPool(credentials.publicKey);

/** Prompts whose answers the stand-in derives from the prompt: "words N" streams N pieces. */
function promptsFile(counts: number[]): string {
  const dir = scratchDir("prompts-");
  const file = join(dir, "prompts.jsonl");
  writeFileSync(
    file,
    counts.map((n, i) => JSON.stringify({ id: `p${i + 1}`, prompt: `words ${n}` })).join("\n") + "\n",
  );
  return file;
}

function piecesFor(body: string): string[] {
  const n = Number(/words (\d+)/.exec(JSON.parse(body).text_input)?.[1] ?? 1);
  return Array.from({ length: n }, (_, i) => ` w${i}`);
}

/** Streams `words N` prompts as N pieces 15 ms apart; the readiness probe gets one piece. */
const streamingTriton: Behaviour = {
  predict: (request) => ({ status: 200, sse: piecesFor(request.body).map(tritonAnswer), gapMs: 15 }),
  lifecycle: (index) => (index === 0 ? "CREATING" : "ACTIVE"),
};

interface Run {
  /** What `evaluate` returned: true when every phase succeeded; undefined when it threw. */
  succeeded?: boolean;
  /** The message of the UserError it threw. */
  error?: string;
  out: string;
  err: string;
  stacks: FakeStacks;
  report?: EvaluationReport;
  markdown?: string;
}

/** The operation as cli/evaluate.ts calls it, with the flags' defaults and the test's OCI profile. */
async function runEvaluation(
  server: FakeDeployment,
  overrides: Partial<EvaluateOptions>,
  options: {
    streaming: boolean;
    stacks?: Partial<FakeStacksOptions>;
    signals?: EventEmitter;
    sigintReachesPulumi?: boolean;
  },
): Promise<Run> {
  const project = writeStackProject("dev", options.streaming);
  const outDir = scratchDir("reports-");
  const stacks = new FakeStacks({
    stacks: {
      dev: {
        predictUrl: server.predictUrl,
        ...(options.streaming ? { predictStreamUrl: server.predictStreamUrl } : {}),
        modelDeploymentId: DEPLOYMENT_ID,
        estimatedUsdPerHour: 2,
        sizing: { deploymentShape: "VM.GPU.A10.1" },
        engine: {
          source: "build",
          phaseMinutes: { provision: 1.6, cloudInit: 7, imagePull: 8.5, build: 18.5 },
        },
      },
    },
    ...options.stacks,
  });
  const io = captureIo(project);
  const deps: EvaluateDeps = {
    output: io,
    backend: stacks,
    signals: options.signals ?? new EventEmitter(),
    sigintReachesPulumi: options.sigintReachesPulumi ?? false,
    destroyBackoff: FAST_DESTROY_BACKOFF,
  };
  const evaluation: EvaluateOptions = {
    ...devEvaluation({
      outDir,
      projectDir: project,
      configFile: credentials.configFile,
      controlPlaneEndpoint: server.controlPlaneEndpoint,
    }),
    ...overrides,
  };
  let succeeded: boolean | undefined;
  let error: string | undefined;
  try {
    succeeded = await evaluate(evaluation, deps);
  } catch (thrown) {
    if (!(thrown instanceof UserError)) throw thrown;
    error = thrown.message;
  }
  const files = readdirSync(outDir);
  const json = files.find((file) => file.endsWith(".json"));
  const md = files.find((file) => file.endsWith(".md"));
  return {
    succeeded,
    error,
    out: io.out(),
    err: io.err(),
    stacks,
    report: json ? JSON.parse(readFileSync(join(outDir, json), "utf8")) : undefined,
    markdown: md ? readFileSync(join(outDir, md), "utf8") : undefined,
  };
}

describe("evaluate", () => {
  it("happy path: up, waits for ACTIVE, runs the prompts, reports figures from the answers, destroys", async () => {
    const server = await serve(streamingTriton);
    const counts = [3, 5, 8, 4];
    const run = await runEvaluation(
      server,
      { promptsFile: promptsFile(counts), concurrency: 2 },
      {
        streaming: true,
      },
    );
    assert.equal(run.err, "");
    assert.equal(run.succeeded, true, run.out);
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
    assert.match(run.out, /\[ +\d+\.\ds\] up \.\.\.\n {2}\| Updating \(dev\):\n/);
    assert.match(run.out, /deployment CREATING\n.*deployment ACTIVE\n.*deployment answers\n/s);

    const report = run.report;
    assert.ok(report);
    assert.equal(report.teardown, "destroyed");
    assert.equal(report.streaming, true);
    assert.equal(report.shape, "VM.GPU.A10.1");
    assert.equal(report.usdPerHour, 2);
    assert.deepEqual(report.buildPhaseMinutes, { provision: 1.6, cloudInit: 7, imagePull: 8.5, build: 18.5 });
    assert.match(
      run.markdown ?? "",
      /## Engine build, by phase \(measured on the build host\)\n\n\| phase \| minutes \|\n\| --- \| ---: \|\n\| provision \| 1\.6 \|\n\| cloudInit \| 7 \|/,
    );
    assert.deepEqual(
      report.phases.map((phase) => [phase.name, phase.ok]),
      [
        ["up", true],
        ["ready", true],
        ["prompts (4, concurrency 2)", true],
        ["destroy", true],
      ],
    );
    // Llama-3.1's tokenizer splits every piece " wK" into " w" and "K": the tokenizer counts two
    // tokens for each of the n events, which counting events would have called one
    assert.deepEqual(
      report.prompts.map((prompt) => [prompt.id, prompt.ok, prompt.outputTokens]),
      counts.map((n, i) => [`p${i + 1}`, true, 2 * n]),
    );
    assert.equal(report.tokenizer, join(TEST_TOKENIZER_DIR, "tokenizer.json"));
    assert.equal(report.api, "triton");
    assert.equal(report.prompts[2].outputPreview, " w0 w1 w2 w3 w4 w5 w6 w7");
    for (const [i, prompt] of report.prompts.entries()) {
      // the stand-in sends n pieces 15 ms apart, so the call lasts at least (n - 1) x 15 ms; when
      // each piece is read depends on the scheduler, so only the first piece's bound is asserted
      assert.ok((prompt.latencyMs ?? 0) >= (counts[i] - 1) * 15 - 5, JSON.stringify(prompt));
      assert.ok((prompt.timeToFirstTokenMs ?? Infinity) <= (prompt.latencyMs ?? 0), JSON.stringify(prompt));
    }
    const latencies = report.prompts.map((prompt) => prompt.latencyMs ?? 0).sort((a, b) => a - b);
    assert.equal(report.summary.latencyMs?.p50, Math.round(latencies[1]));
    assert.equal(report.summary.latencyMs?.p95, Math.round(latencies[3]));
    assert.equal(report.summary.outputTokens, 40);
    assert.equal(report.summary.succeeded, 4);
    const promptSeconds = report.phases[2].seconds;
    assert.ok(
      Math.abs((report.summary.outputTokensPerSecond ?? 0) - 40 / promptSeconds) <
        0.05 * (40 / promptSeconds),
    );
    const elapsedMs = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
    assert.ok(Math.abs(report.cost.usd - (elapsedMs / 3_600_000) * 2) < 0.01);

    const prompts = server.requests.filter((request) => request.method === "POST");
    assert.equal(prompts.length, 5, "one readiness probe and four prompts");
    assert.equal(JSON.parse(prompts[0].body).max_tokens, 1);
    assert.ok(prompts.every((request) => request.signatureProblem === undefined));
    assert.ok(
      prompts.every((request) => JSON.parse(request.body).stream === true && request.path.endsWith("Stream")),
    );
    assert.match(run.markdown ?? "", /\| teardown \| destroyed \|/);
    assert.match(run.markdown ?? "", /\| p3 \| \d+ \| \d+ \| 16 \| 1 \| {2}w0 w1/);
    assert.match(run.markdown ?? "", /\| tokenizer \| .*tokenizer-llama3_1\/models\/tokenizer\.json \|/);
    assert.match(run.out, /teardown {5}destroyed\n/);
  });

  it("without streaming, the tokenizer still counts the tokens of each whole answer", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const run = await runEvaluation(server, { promptsFile: promptsFile([1, 1]) }, { streaming: false });
    assert.equal(run.succeeded, true, run.out);
    // "Paris" and "." are one token each in Llama-3.1's vocabulary
    assert.deepEqual(
      run.report?.prompts.map((prompt) => prompt.outputTokens),
      [2, 2],
    );
    assert.equal(run.report?.summary.outputTokens, 4);
    assert.equal(run.report?.summary.timeToFirstTokenMs, null);
    assert.equal(run.report?.summary.succeeded, 2);
    assert.ok(server.requests.filter((r) => r.method === "POST").every((r) => r.path.endsWith("/predict")));
  });

  it("an OpenAI stack: chat bodies naming openaiModel to the chat route, tokens counted from the joined deltas", async () => {
    const model = "tensorrt_llm_bls";
    const server = await serve({
      predict: (request) => ({
        status: 200,
        sse: chatChunks(
          piecesFor(JSON.stringify({ text_input: JSON.parse(request.body).messages[0].content })),
          model,
        ),
        done: true,
      }),
      lifecycle: () => "ACTIVE",
    });
    const outputs = {
      predictUrl: server.predictUrl,
      predictStreamUrl: server.predictStreamUrl,
      modelDeploymentId: DEPLOYMENT_ID,
      api: "openai",
      openaiModel: model,
    };
    const run = await runEvaluation(
      server,
      { promptsFile: promptsFile([2, 3]) },
      { streaming: true, stacks: { upOutputs: outputs } },
    );
    assert.equal(run.succeeded, true, run.out);
    const posts = server.requests.filter((request) => request.method === "POST");
    assert.ok(
      posts.every(
        (request) =>
          request.path === `/${DEPLOYMENT_ID}/predictWithResponseStream/v1/chat/completions` &&
          request.signatureProblem === undefined,
      ),
    );
    const probe = JSON.parse(posts[0].body);
    assert.deepEqual(probe, {
      model,
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 1,
      stream: true,
    });
    assert.deepEqual(
      run.report?.prompts.map((prompt) => [prompt.outputTokens, prompt.outputPreview]),
      [
        [4, " w0 w1"],
        [6, " w0 w1 w2"],
      ],
    );
    assert.equal(run.report?.api, "openai");
    assert.equal(run.report?.endpoint, `${server.predictStreamUrl}/v1/chat/completions`);
    assert.match(
      run.markdown ?? "",
      /\| calls \| \/predictWithResponseStream\/v1\/chat\/completions, concurrency 2 \|/,
    );
  });

  it("no tokenizer to count with is refused before anything is created, naming where it looked", async () => {
    const server = await serve({});
    const hubCache = scratchDir("hub-cache-");
    const run = await runEvaluation(server, { tokenizer: undefined, hubCache }, { streaming: false });
    assert.deepEqual(run.stacks.calls, []);
    assert.equal(run.report, undefined);
    assert.match(
      run.error ?? "",
      new RegExp(
        `^no tokenizer of tiiuae/falcon-7b-instruct to count output tokens with \\(looked for .*/models/falcon-7b-instruct/tokenizer\\.json, ${hubCache}/models--tiiuae--falcon-7b-instruct/snapshots/main/tokenizer\\.json\\)\\. Fix: huggingface-cli download tiiuae/falcon-7b-instruct tokenizer\\.json tokenizer_config\\.json --revision main, or pass --tokenizer`,
      ),
    );
  });

  it("a failure mid-run still destroys the stack and exits 1 naming the failure", async () => {
    const server = await serve({
      predict: (_, index) =>
        index < 2
          ? { status: 200, json: tritonAnswer("fine") }
          : { status: 401, json: { code: "NotAuthenticated", message: "key revoked" } },
    });
    const run = await runEvaluation(
      server,
      { promptsFile: promptsFile([1, 1, 1, 1]), concurrency: 1 },
      {
        streaming: false,
      },
    );
    assert.equal(run.succeeded, false);
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
    assert.equal(run.report?.teardown, "destroyed");
    assert.match(run.report?.error ?? "", /^prompt p2: 401 NotAuthenticated: key revoked/);
    assert.deepEqual(
      run.report?.prompts.map((prompt) => [prompt.id, prompt.ok]),
      [["p1", true]],
      "what was measured before the failure is reported",
    );
    assert.match(run.out, /failed: prompt p2: 401/);
    assert.equal(
      server.requests.filter((r) => r.method === "POST").length,
      3,
      "no prompt starts after a 401",
    );
  });

  it("a failed up still destroys what it created", async () => {
    const server = await serve({});
    const run = await runEvaluation(
      server,
      {},
      { streaming: false, stacks: { upFails: "error: 409 Conflict" } },
    );
    assert.equal(run.succeeded, false);
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
    assert.equal(run.report?.teardown, "destroyed");
  });

  it("--keep keeps the stack and says what it costs", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const run = await runEvaluation(
      server,
      { keep: true, promptsFile: promptsFile([1]) },
      { streaming: false },
    );
    assert.equal(run.succeeded, true, run.out);
    assert.deepEqual(run.stacks.calls, ["up dev"]);
    assert.equal(run.report?.teardown, "kept");
    assert.match(
      run.out,
      /--keep: stack 'dev' stays up at 2 USD\/h; destroy it with 'pulumi destroy --stack dev'/,
    );
  });

  it("a destroy that fails is retried; if it keeps failing, exit 1 names what is left and its cost", async () => {
    const server = await serve({ predict: () => ({ status: 200, json: tritonAnswer("Paris.") }) });
    const retried = await runEvaluation(
      server,
      { promptsFile: promptsFile([1]) },
      {
        streaming: false,
        stacks: { destroyFailures: 2 },
      },
    );
    assert.equal(retried.succeeded, true, retried.out);
    assert.deepEqual(retried.stacks.calls, ["up dev", "destroy dev", "destroy dev", "destroy dev"]);
    assert.equal(retried.report?.teardown, "destroyed");

    const stuck = await runEvaluation(
      server,
      { promptsFile: promptsFile([1]) },
      {
        streaming: false,
        stacks: { destroyFailures: 99 },
      },
    );
    assert.equal(stuck.succeeded, undefined, "the destroy's failure is thrown, after the report");
    assert.equal(stuck.stacks.calls.filter((call) => call === "destroy dev").length, 3);
    assert.equal(stuck.report?.teardown, "destroy failed");
    assert.match(
      stuck.error ?? "",
      new RegExp(
        `^destroy of stack 'dev' failed 3 times .*model deployment ${DEPLOYMENT_ID} on VM.GPU.A10.1 may still be running at 2 USD/h. Fix: pulumi destroy --stack dev`,
      ),
    );
  });

  it("a deployment that ends FAILED stops the wait and is destroyed", async () => {
    const server = await serve({ lifecycle: () => "FAILED" });
    const run = await runEvaluation(server, {}, { streaming: false });
    assert.equal(run.succeeded, false);
    assert.match(run.report?.error ?? "", new RegExp(`model deployment ${DEPLOYMENT_ID} is FAILED`));
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
  });

  it("Ctrl-C during the prompts aborts the calls in flight and destroys", async () => {
    const server = await serve({
      predict: (_, index) => (index === 0 ? { status: 200, json: tritonAnswer("ok") } : { hang: true }),
    });
    const signals = new EventEmitter();
    const started = Date.now();
    const pending = runEvaluation(
      server,
      { promptsFile: promptsFile([1, 1]) },
      { streaming: false, signals },
    );
    while (server.requests.filter((r) => r.method === "POST").length < 2 && Date.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    signals.emit("SIGINT");
    const run = await pending;
    assert.equal(run.succeeded, false);
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
    assert.match(run.out, /interrupted: stopping, then destroying the stack/);
    assert.equal(run.report?.error, "interrupted by Ctrl-C");
  });

  it("Ctrl-C during up cancels it (the CLI gets the abort) and destroys what it created", async () => {
    const server = await serve({});
    const signals = new EventEmitter();
    const run = await runEvaluation(
      server,
      {},
      {
        streaming: false,
        signals,
        stacks: { upHangs: true, onCall: (call) => call === "up dev" && signals.emit("SIGINT") },
      },
    );
    assert.equal(run.succeeded, false);
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
    assert.equal(run.report?.phases[0].ok, false);
    assert.deepEqual(run.stacks.upSignalled, [true]);
    assert.equal(server.requests.length, 0);
  });

  it("from a terminal, Ctrl-C is not forwarded to the Pulumi CLI (it got its own), and still destroys", async () => {
    const server = await serve({});
    const signals = new EventEmitter();
    const run = await runEvaluation(
      server,
      {},
      {
        streaming: false,
        signals,
        sigintReachesPulumi: true,
        stacks: { onCall: (call) => call === "up dev" && signals.emit("SIGINT") },
      },
    );
    assert.equal(run.succeeded, false);
    assert.deepEqual(run.stacks.upSignalled, [false], "a second SIGINT would make the CLI terminate at once");
    assert.deepEqual(run.stacks.calls, ["up dev", "destroy dev"]);
    assert.equal(server.requests.length, 0, "nothing is called after the interrupt");
  });

  it("SIGINT to the evaluate process destroys the stack before it exits", async () => {
    const server = await serve({ predict: () => ({ hang: true }) });
    const project = writeStackProject("dev", false);
    const outDir = scratchDir("reports-");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/support/evaluate-child.ts",
        server.predictUrl,
        "-",
        project,
        credentials.configFile,
        server.controlPlaneEndpoint,
        outDir,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (chunk) => (err += chunk));
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      // the readiness probe hangs: the process is waiting on the deployment, mid-evaluation
      if (out.includes("deployment ACTIVE") && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) =>
      child.on("exit", (exitCode) => resolve(exitCode)),
    );
    clearTimeout(killer);
    assert.equal(code, 1, `${out}\n${err}`);
    assert.match(out, /\[pulumi\] up dev\n/);
    assert.match(out, /interrupted: stopping, then destroying the stack\n/);
    assert.match(out, /\[pulumi\] destroy dev\n/);
    const report = JSON.parse(
      readFileSync(join(outDir, readdirSync(outDir).find((f) => f.endsWith(".json")) ?? ""), "utf8"),
    );
    assert.equal(report.teardown, "destroyed");
  });

  it("a prompt set that does not parse is refused before anything is created", async () => {
    const server = await serve({});
    const dir = scratchDir("prompts-");
    writeFileSync(join(dir, "bad.jsonl"), '{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n');
    const badPrompts = await runEvaluation(
      server,
      { promptsFile: join(dir, "bad.jsonl") },
      { streaming: false },
    );
    assert.match(badPrompts.error ?? "", /bad.jsonl:2 repeats id 'a'/);
    assert.deepEqual(badPrompts.stacks.calls, []);
    assert.equal(badPrompts.report, undefined);
  });
});

describe("evaluate: the command line (cli/evaluate.ts)", () => {
  const commandLine = async (argv: string[]) => {
    const io = captureIo(ROOT);
    const code = await commandExitCode(evaluateCommand, evaluateMain, argv, io);
    return { code, out: io.out(), err: io.err() };
  };

  it("usage mistakes exit 2 with the message and the options, before anything runs", async () => {
    const noStack = await commandLine(["--stack"]);
    assert.equal(noStack.code, 2);
    assert.match(
      noStack.err,
      /^--stack needs a value: --stack <value>\nusage: npm run -s evaluate -- --stack <name> \[options\]\n/,
    );
    const badConcurrency = await commandLine(["--stack", "dev", "--concurrency", "0"]);
    assert.equal(badConcurrency.code, 2);
    assert.match(
      badConcurrency.err,
      /^--concurrency '0' is not a positive integer: pass e.g. --concurrency 2\n/,
    );
    for (const argv of [
      [],
      ["--stack", "dev", "extra"],
      ["--stack", "$(id)"],
      ["--stack", "dev", "--auth", "password"],
    ]) {
      const run = await commandLine(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.match(run.err, /usage: npm run -s evaluate/);
    }
  });

  it("--help prints the usage and the options, exit 0", async () => {
    const help = await commandLine(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: npm run -s evaluate -- --stack <name> \[options\]\n {2}--stack <name> /);
  });

  it("the flags become the operation's options: minutes and seconds in ms, paths from where npm ran", () => {
    const parsed = parseCommandLine(evaluateCommand, [
      "--stack",
      "dev",
      "--keep",
      "--concurrency",
      "4",
      "--prompts",
      "my-prompts.jsonl",
      "--ready-timeout",
      "1.5",
      "--poll-seconds",
      "0.5",
    ]);
    assert.ok(parsed);
    const options = evaluateOptions(parsed, "/home/me/work");
    assert.equal(options.stack, "dev");
    assert.equal(options.keep, true);
    assert.equal(options.concurrency, 4);
    assert.equal(options.maxTokens, undefined);
    assert.equal(options.readyTimeoutMs, 90_000);
    assert.equal(options.pollMs, 500);
    assert.equal(options.promptsFile, "/home/me/work/my-prompts.jsonl");
    assert.equal(options.outDir, "/home/me/work/reports");
    assert.equal(options.projectDir, "/home/me/work");
    const defaults = parseCommandLine(evaluateCommand, ["--stack", "dev"]);
    assert.ok(defaults);
    assert.equal(evaluateOptions(defaults, "/x").promptsFile, DEFAULT_PROMPTS);
    assert.equal(evaluateOptions(defaults, "/x").concurrency, 2);
    assert.equal(evaluateOptions(defaults, "/x").tokenizer, undefined);
    assert.equal(evaluateOptions(defaults, "/x").hubCache, hubCacheDir(process.env));
    const tokenizer = parseCommandLine(evaluateCommand, [
      "--stack",
      "dev",
      "--tokenizer",
      "snap/tokenizer.json",
    ]);
    assert.ok(tokenizer);
    assert.equal(evaluateOptions(tokenizer, "/home/me/work").tokenizer, "/home/me/work/snap/tokenizer.json");
  });
});

describe("evaluation figures", () => {
  it("percentiles are nearest-rank", () => {
    const sorted = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 10);
    assert.equal(percentile(sorted, 95), 19);
    assert.equal(percentile([7], 95), 7);
  });

  it("summaries count failures apart and tokens only where counted", () => {
    const summary = summarize(
      [
        { id: "a", ok: true, latencyMs: 100, outputTokens: 10, timeToFirstTokenMs: 20 },
        { id: "b", ok: true, latencyMs: 300, outputTokens: 30, timeToFirstTokenMs: 40 },
        { id: "c", ok: false, error: "503" },
      ],
      2000,
    );
    assert.deepEqual(summary, {
      prompts: 3,
      succeeded: 2,
      failed: 1,
      latencyMs: { p50: 100, p95: 300, mean: 200 },
      timeToFirstTokenMs: { p50: 20, p95: 40, mean: 30 },
      outputTokens: 40,
      outputTokensPerSecond: 20,
    });
  });

  it("the shipped prompt set parses", () => {
    const cases = parsePrompts(
      readFileSync(join(ROOT, "operations/evaluate/prompts.jsonl"), "utf8"),
      "prompts.jsonl",
    );
    assert.ok(cases.length >= 5);
    assert.equal(new Set(cases.map((c) => c.id)).size, cases.length);
  });
});

// A stack with `deployment.api: openai`, layer by layer as plain calls: the keys and their rules, the
// repository the image's OpenAI frontend loads whole, the container that runs the frontend through
// the artifact's launcher, the artifact's layout check and cache key, the requests the build host
// and the proof send, the chat templates and the tokenizer_config.json they are written into, and the
// local artifact path. The frontend's side (what it sends the served model, and what it makes of the
// answers) is tested against its stand-in in test/python/test_openai_frontend.py.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { checkArtifactLayout } from "../components/artifact/artifact-layout";
import { artifactKey, engineKey, engineKeyInputs } from "../components/artifact/cache-keys";
import { packCached } from "../components/artifact/pack-cache";
import { CHAT_FORMATS, chatFormat, openaiTokenizerConfig } from "../components/config/chat-templates";
import { containerSpecInput } from "../components/config/rules";
import { chatFormatRule, defaultMaxTokensRule } from "../components/config/rules/openai";
import { streamingEvictionRule } from "../components/config/rules/serving";
import { stageArtifactSources } from "../components/deployment/artifact-sources";
import { containerSpec } from "../components/deployment/container-spec";
import { GREEDY_TOP_P } from "../components/deployment/openai-frontend";
import { signedCallCommand, validationRequestBody } from "../components/deployment/stack-outputs";
import {
  engineFolder,
  modelRepositorySpec,
  pythonSource,
  renderModelRepository,
  repositoryApi,
  repositoryModels,
  tokenizerFolder,
  writtenChatTemplate,
} from "../components/model-repository";
import { configWith, expectError, parse, validConfig, type Overrides } from "./support/stack-fixtures";

const MOUNT = "/opt/ds/model/deployed_model";
const OPENAI: Overrides = { "deployment.api": "openai" };
const LLAMA = "meta-llama/Llama-3.1-8B-Instruct";

describe("the keys", () => {
  test("the API is Triton's generate endpoint unless set; openai and a default answer length parse", () => {
    assert.equal(validConfig().deployment.api, "triton");
    assert.equal(validConfig().deployment.defaultMaxTokens, undefined);
    const config = validConfig({ ...OPENAI, "deployment.defaultMaxTokens": "256" });
    assert.equal(config.deployment.api, "openai");
    assert.equal(config.deployment.defaultMaxTokens, 256);
  });

  test("another API is refused, naming the key", () => {
    const { config, errors } = parse({ "deployment.api": "vllm" });
    assert.equal(config, undefined);
    assert.deepEqual(
      errors.map((error) => error.key),
      ["deployment.api"],
    );
  });

  test("a default answer length past what the engine generates, or on the triton API, is refused", () => {
    expectError(
      defaultMaxTokensRule(configWith({ ...OPENAI, "deployment.defaultMaxTokens": 1025 })),
      "deployment.defaultMaxTokens",
      {
        value: 1025,
        message: [/engine\.maxOutputLen \(1024\)/],
        fix: [/deployment\.defaultMaxTokens 1024/],
      },
    );
    expectError(
      defaultMaxTokensRule(configWith({ "deployment.defaultMaxTokens": 100 })),
      "deployment.defaultMaxTokens",
      {
        value: 100,
        message: [/deployment\.api openai only/, /required input/],
        fix: [/pulumi config rm --path deployment\.defaultMaxTokens/, /deployment\.api openai/],
      },
    );
    assert.deepEqual(
      defaultMaxTokensRule(configWith({ ...OPENAI, "deployment.defaultMaxTokens": 1024 })),
      [],
    );
  });

  test("a base model has no conversation format to serve chat with; its instruct model has one", () => {
    expectError(
      chatFormatRule(configWith({ ...OPENAI, "model.huggingFaceId": "tiiuae/falcon-7b" })),
      "model.huggingFaceId",
      {
        value: "tiiuae/falcon-7b",
        message: [/base model/, /chat template/],
        fix: [/tiiuae\/falcon-7b-instruct/, /deployment\.api triton/],
      },
    );
    assert.deepEqual(chatFormatRule(configWith({ "model.huggingFaceId": "tiiuae/falcon-7b" })), []);
    assert.deepEqual(chatFormatRule(configWith(OPENAI)), []);
    assert.equal(parse({ ...OPENAI, "model.huggingFaceId": "tiiuae/falcon-40b" }).config, undefined);
  });

  test("max_utilization without chunked context is refused on an OpenAI stack too: its model streams from the engine", () => {
    expectError(
      streamingEvictionRule(configWith({ ...OPENAI, "serving.batchSchedulerPolicy": "max_utilization" })),
      "serving.batchSchedulerPolicy",
      { value: "max_utilization", message: [/deployment\.api openai/], fix: [/guaranteed_no_evict/] },
    );
  });
});

describe("the repository the frontend loads", () => {
  const entries = renderModelRepository(modelRepositorySpec(validConfig(OPENAI)));
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const models = repositoryModels(modelRepositorySpec(validConfig(OPENAI)));
  const served = models.find((model) => model.name === "odsc-llm");

  test("models/ holds preprocessing, tensorrt_llm and the served model alone; launcher and chat template beside it", () => {
    assert.deepEqual(
      entries.map((entry) => [entry.kind, entry.path]),
      [
        ["file", "triton/chat_template.jinja"],
        ["file", "triton/models/odsc-llm/1/incremental_text.py"],
        ["file", "triton/models/odsc-llm/1/model.py"],
        ["file", "triton/models/odsc-llm/1/stop_strings.py"],
        ["file", "triton/models/odsc-llm/1/word_lists.py"],
        ["file", "triton/models/odsc-llm/config.pbtxt"],
        ["file", "triton/models/preprocessing/1/model.py"],
        ["file", "triton/models/preprocessing/1/word_lists.py"],
        ["file", "triton/models/preprocessing/config.pbtxt"],
        ["directory", "triton/models/tensorrt_llm/1"],
        ["file", "triton/models/tensorrt_llm/config.pbtxt"],
        ["file", "triton/openai_frontend.py"],
      ],
    );
    assert.equal(byPath.get("triton/models/odsc-llm/1/model.py")?.kind, "file");
    const model = byPath.get("triton/models/odsc-llm/1/model.py");
    assert.equal(model?.kind === "file" ? model.contents : "", pythonSource("tensorrt_llm_bls/model.py"));
    const launcher = byPath.get("triton/openai_frontend.py");
    assert.equal(
      launcher?.kind === "file" ? launcher.contents : "",
      pythonSource("launcher/openai_frontend.py"),
    );
    assert.equal(engineFolder("triton", "openai"), "triton/models/tensorrt_llm/1");
    assert.equal(tokenizerFolder("triton"), "triton/tokenizer");
    assert.equal(repositoryApi(entries, "triton"), "openai");
    assert.equal(
      repositoryApi(renderModelRepository(modelRepositorySpec(validConfig())), "triton"),
      "triton",
    );
  });

  test("the served model declares every input the frontend sends, with the type it sends it in; max_tokens optional", () => {
    assert.ok(served);
    const declared = Object.fromEntries(served.input.map((input) => [input.name, input]));
    // server v2.57.0 python/openai/openai_frontend/engine/utils/triton.py:81-106.
    const sent: [string, string][] = [
      ["text_input", "TYPE_STRING"],
      ["stream", "TYPE_BOOL"],
      ["max_tokens", "TYPE_INT32"],
      ["stop_words", "TYPE_STRING"],
      ["top_p", "TYPE_FP32"],
      ["frequency_penalty", "TYPE_FP32"],
      ["presence_penalty", "TYPE_FP32"],
      ["random_seed", "TYPE_UINT64"],
      ["temperature", "TYPE_FP32"],
    ];
    for (const [name, dataType] of sent) assert.equal(declared[name]?.dataType, dataType, name);
    // Only text_input and stream always come; text_input alone is required.
    assert.deepEqual(
      served.input.filter((input) => input.optional !== true).map((input) => input.name),
      ["text_input"],
    );
    assert.equal(served.decoupled, true);
    assert.equal(served.parameters?.default_max_tokens, "1024", "engine.maxOutputLen unless set");
    const shorter = repositoryModels(
      modelRepositorySpec(validConfig({ ...OPENAI, "deployment.defaultMaxTokens": 200 })),
    );
    assert.equal(shorter.find((model) => model.name === "odsc-llm")?.parameters?.default_max_tokens, "200");
  });

  test("the engine is decoupled and read from models/; the prompt, a chat template's text, gets no second BOS", () => {
    const engine = models.find((model) => model.name === "tensorrt_llm");
    assert.equal(engine?.decoupled, true);
    assert.equal(engine?.parameters?.gpt_model_path, `${MOUNT}/triton/models/tensorrt_llm/1`);
    const preprocessing = models.find((model) => model.name === "preprocessing");
    assert.equal(preprocessing?.parameters?.add_special_tokens, "false");
    assert.equal(preprocessing?.parameters?.tokenizer_dir, `${MOUNT}/triton/tokenizer`);
    assert.equal(preprocessing?.parameters?.streaming_model, "odsc-llm");
    assert.equal(served?.parameters?.tokenizer_dir, `${MOUNT}/triton/tokenizer`);
  });

  test("the chat template is written for Falcon-Instruct only; Llama 3.1 brings its own", () => {
    const falcon = CHAT_FORMATS["tiiuae/falcon-7b-instruct"];
    assert.equal(falcon.kind, "written");
    assert.equal(writtenChatTemplate(entries, "triton"), falcon.kind === "written" ? falcon.template : "");
    const llama = renderModelRepository(
      modelRepositorySpec(
        validConfig({ ...OPENAI, "model.huggingFaceId": LLAMA, "engine.maxInputLen": 1024 }),
      ),
    );
    assert.equal(chatFormat(LLAMA)?.kind, "own");
    assert.equal(writtenChatTemplate(llama, "triton"), undefined);
    assert.equal(repositoryApi(llama, "triton"), "openai");
    assert.equal(chatFormat("someone/uncatalogued"), undefined);
  });

  test("the Triton stack's repository is as before: no launcher, no models/ folder, its BOS added", () => {
    for (const overrides of [{}, { "deployment.streaming": true }]) {
      const paths = renderModelRepository(modelRepositorySpec(validConfig(overrides))).map(
        (entry) => entry.path,
      );
      assert.ok(paths.every((p) => !p.startsWith("triton/models/") && !p.endsWith("openai_frontend.py")));
      assert.ok(paths.includes("triton/ensemble/config.pbtxt"));
      const spec = modelRepositorySpec(validConfig(overrides));
      assert.equal(spec.addSpecialTokens, true);
      assert.equal(spec.defaultMaxTokens, undefined);
    }
  });
});

describe("the container", () => {
  test("runs the frontend through the launcher, on the stack's port, over models/ and the tokenizer", () => {
    const spec = containerSpec(containerSpecInput(validConfig(OPENAI)));
    assert.deepEqual(spec.cmds, [
      "python3",
      `${MOUNT}/triton/openai_frontend.py`,
      "--model-repository",
      `${MOUNT}/triton/models`,
      "--tokenizer",
      `${MOUNT}/triton/tokenizer`,
      "--openai-port",
      "9000",
      "--host",
      "0.0.0.0",
    ]);
    assert.deepEqual(spec.entrypoints, []);
    assert.equal(spec.port, 9000);
    assert.equal(spec.predictApiSpecification, "openai");
    assert.deepEqual(Object.keys(spec.environment).sort(), [
      "DEPLOYMENT_TIMEOUT_IN_MINUTES",
      "MODEL_DEPLOY_ENABLE_STREAMING",
      "MODEL_DEPLOY_HEALTH_ENDPOINT",
      "STORAGE_SIZE_IN_GB",
    ]);
    assert.equal(spec.environment.MODEL_DEPLOY_HEALTH_ENDPOINT, "/health/ready");
    assert.equal(spec.environment.MODEL_DEPLOY_ENABLE_STREAMING, "true");
    assert.equal(containerSpec(containerSpecInput(validConfig())).predictApiSpecification, undefined);
  });

  test("with tensor parallelism, rank 0 is the frontend's process and the workers load tensorrt_llm from models/", () => {
    const spec = containerSpec(
      containerSpecInput(
        validConfig({
          ...OPENAI,
          "model.huggingFaceId": LLAMA,
          "engine.tensorParallel": 2,
          "deployment.shape": "VM.GPU.A10.2",
          "engine.maxInputLen": 1024,
        }),
      ),
    );
    const split = spec.cmds.indexOf(":");
    assert.deepEqual(spec.cmds.slice(0, 5), ["mpirun", "--allow-run-as-root", "-n", "1", "python3"]);
    assert.deepEqual(spec.cmds.slice(split + 1, split + 4), ["-n", "1", "tritonserver"]);
    assert.ok(spec.cmds.includes(`--model-repository=${MOUNT}/triton/models`));
    assert.ok(spec.cmds.includes("--load-model=tensorrt_llm"));
  });
});

describe("the artifact", () => {
  const openaiZip = (
    folder: string,
    models: readonly string[] = ["preprocessing", "tensorrt_llm", "odsc-llm"],
  ) => [
    `${folder}/openai_frontend.py`,
    `${folder}/chat_template.jinja`,
    ...models.map((model) => `${folder}/models/${model}/config.pbtxt`),
    `${folder}/models/preprocessing/1/model.py`,
    `${folder}/models/odsc-llm/1/model.py`,
    `${folder}/models/tensorrt_llm/1/rank0.engine`,
    `${folder}/models/tensorrt_llm/1/config.json`,
    `${folder}/tokenizer/tokenizer.json`,
    `${folder}/tokenizer/tokenizer_config.json`,
  ];

  test("an OpenAI artifact is complete with its three models under models/ and the tokenizer beside them", () => {
    assert.deepEqual(checkArtifactLayout(openaiZip("m"), "m"), []);
  });

  test("anything else under models/ would be loaded and served: refused; so is a tokenizer without its config", () => {
    const extra = [...openaiZip("m"), "m/models/ensemble/config.pbtxt", "m/models/tokenizer/tokenizer.json"];
    assert.deepEqual(checkArtifactLayout(extra, "m"), [
      "unexpected m/models/ensemble: the OpenAI frontend loads every model of m/models/ and serves it; remove it from the packed folder",
      "unexpected m/models/tokenizer: the OpenAI frontend loads every model of m/models/ and serves it; remove it from the packed folder",
    ]);
    const problems = checkArtifactLayout(
      openaiZip("m").filter(
        (p) => !p.endsWith("tokenizer_config.json") && !p.endsWith("odsc-llm/1/model.py"),
      ),
      "m",
    );
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0], /^missing m\/models\/odsc-llm\/1\/model\.py/);
    assert.match(problems[1], /^missing m\/tokenizer\/tokenizer_config\.json: .*chat template/);
  });

  test("the artifact key covers the layout and the written template; the engine is the same for both APIs", () => {
    const triton = validConfig();
    const openai = validConfig(OPENAI);
    const engine = engineKey(engineKeyInputs(triton));
    assert.equal(engineKey(engineKeyInputs(openai)), engine, "the cached engine serves either API");
    const key = (config: typeof triton, chatTemplate?: string) => {
      const spec = modelRepositorySpec(config);
      const repository = renderModelRepository(chatTemplate === undefined ? spec : { ...spec, chatTemplate });
      return artifactKey(engine, repository, config.serving.repositoryFolder);
    };
    assert.notEqual(key(openai), key(triton));
    assert.notEqual(key(openai, "{{ messages[0]['content'] }}"), key(openai));
    assert.notEqual(key(validConfig({ ...OPENAI, "deployment.defaultMaxTokens": 100 })), key(openai));
  });
});

describe("what the build host and the proof ask", () => {
  test("the known-answer question is one chat message to the served model, greedy through top_p", () => {
    assert.deepEqual(validationRequestBody(validConfig(OPENAI)), {
      model: "odsc-llm",
      messages: [{ role: "user", content: "The capital of France is" }],
      max_tokens: 16,
      top_p: GREEDY_TOP_P,
      stream: false,
    });
    // Below the least probability the most likely token can have, 1/vocab, for every catalogued model.
    assert.ok(GREEDY_TOP_P > 0 && GREEDY_TOP_P < 1 / 128256);
  });

  test("the example call is a chat request to the chat route under /predict", () => {
    const command = signedCallCommand("https://md.example/ocid1.md/predict", validConfig(OPENAI));
    assert.match(command, /--target-uri https:\/\/md\.example\/ocid1\.md\/predict\/v1\/chat\/completions /);
    const body = JSON.parse(/--request-body '(.*)'$/.exec(command)?.[1] ?? "{}") as Record<string, unknown>;
    assert.equal(body.model, "odsc-llm");
    assert.deepEqual(body.messages, [{ role: "user", content: "What is the capital of France?" }]);
  });
});

describe("tokenizer_config.json", () => {
  const falcon = CHAT_FORMATS["tiiuae/falcon-7b-instruct"];
  const template = falcon.kind === "written" ? falcon.template : "";

  test("gets the written template where it has none, and keeps the model's own where it has one", () => {
    const original = '{"eos_token": "<|endoftext|>", "model_max_length": 2048}';
    const written = JSON.parse(openaiTokenizerConfig(original, template, "t.json")) as Record<
      string,
      unknown
    >;
    assert.deepEqual(written, {
      eos_token: "<|endoftext|>",
      model_max_length: 2048,
      chat_template: template,
    });
    const own = '{"chat_template": "{{ bos_token }}"}';
    assert.equal(openaiTokenizerConfig(own, template, "t.json"), own);
    const named = '{"chat_template": [{"name": "default", "template": "x"}]}';
    assert.equal(openaiTokenizerConfig(named, undefined, "t.json"), named);
  });

  test("a snapshot without the file, or without a template when none is written, is refused naming the file", () => {
    assert.throws(
      () => openaiTokenizerConfig(undefined, template, "/s/tokenizer_config.json"),
      /\/s\/tokenizer_config\.json does not exist/,
    );
    assert.throws(
      () => openaiTokenizerConfig("{}", undefined, "/s/t.json"),
      /\/s\/t\.json has no chat_template .*deployment\.api triton/,
    );
    assert.throws(() => openaiTokenizerConfig("[1]", template, "/s/t.json"), /not a JSON object/);
    assert.throws(() => openaiTokenizerConfig("{", template, "/s/t.json"), /is not JSON/);
  });
});

describe("an OpenAI stack's artifact packed here (a hand-built engine)", () => {
  function workspace(tokenizerConfig: string | undefined) {
    const root = mkdtempSync(join(tmpdir(), "openai-artifact-"));
    const engineDir = join(root, "engine");
    const modelDir = join(root, "model");
    mkdirSync(engineDir);
    mkdirSync(modelDir);
    writeFileSync(join(engineDir, "rank0.engine"), Buffer.alloc(4096, 3));
    writeFileSync(join(engineDir, "config.json"), "{}");
    writeFileSync(join(modelDir, "tokenizer.json"), "{}");
    if (tokenizerConfig !== undefined)
      writeFileSync(join(modelDir, "tokenizer_config.json"), tokenizerConfig);
    return { root, engineDir, modelDir, cacheDir: join(root, "cache") };
  }

  function stage(ws: ReturnType<typeof workspace>, overrides: Overrides) {
    const config = validConfig({ ...OPENAI, ...overrides });
    return stageArtifactSources({
      repositoryFolder: "triton",
      repository: renderModelRepository(modelRepositorySpec(config)),
      engineDir: ws.engineDir,
      modelDir: ws.modelDir,
      cacheDir: ws.cacheDir,
    });
  }

  test("packs the models under models/, the launcher, and the tokenizer with the written chat template", async () => {
    const ws = workspace('{"eos_token": "<|endoftext|>"}');
    const packed = await packCached(stage(ws, {}), join(ws.cacheDir, "artifacts"), "triton");
    const entries = execFileSync("unzip", ["-Z1", packed.zipPath], { encoding: "utf8" }).trim().split("\n");
    for (const entry of [
      "triton/openai_frontend.py",
      "triton/models/tensorrt_llm/1/rank0.engine",
      "triton/models/odsc-llm/config.pbtxt",
      "triton/tokenizer/tokenizer.json",
      "triton/tokenizer/tokenizer_config.json",
    ]) {
      assert.ok(entries.includes(entry), entry);
    }
    assert.equal(entries.filter((entry) => entry.endsWith("tokenizer_config.json")).length, 1);
    const shipped = JSON.parse(
      execFileSync("unzip", ["-p", packed.zipPath, "triton/tokenizer/tokenizer_config.json"], {
        encoding: "utf8",
      }),
    ) as Record<string, unknown>;
    const falcon = CHAT_FORMATS["tiiuae/falcon-7b-instruct"];
    assert.equal(shipped.chat_template, falcon.kind === "written" ? falcon.template : "");
    assert.equal(shipped.eos_token, "<|endoftext|>");
    // The snapshot's own file is left as it was.
    assert.equal(
      readFileSync(join(ws.modelDir, "tokenizer_config.json"), "utf8"),
      '{"eos_token": "<|endoftext|>"}',
    );
  });

  test("a model whose snapshot has no template and that is given none is refused before anything is packed", () => {
    const ws = workspace("{}");
    assert.throws(
      () => stage(ws, { "model.huggingFaceId": LLAMA, "engine.maxInputLen": 1024 }),
      /tokenizer_config\.json has no chat_template/,
    );
  });
});

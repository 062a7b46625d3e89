// What decides the engine build and its check on the build host: the AWQ block size (or the refusal
// at preview), chunked context in the engine key and the flags, and the known-answer question the
// validation asks (build.validation, per model family by default).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { engineKey, engineKeyInputs } from "../components/artifact/cache-keys";
import { FAMILY_KNOWN_ANSWERS, MODELS } from "../components/config/catalog";
import { awqBlockSize, awqBlockSizeRule } from "../components/config/rules/awq";
import { validationRequestBody } from "../components/deployment/stack-outputs";
import {
  configWith,
  expectError,
  parse,
  standinBuildSettings,
  validConfig,
  type Overrides,
} from "./support/stack-fixtures";

const BUILT = { "engine.prebuiltDir": undefined, "model.localDir": undefined };

function settingsOf(overrides: Overrides) {
  const config = validConfig({ ...BUILT, ...overrides });
  return standinBuildSettings(config);
}

describe("AWQ block size", () => {
  test("Falcon-7B's hidden size 4544 = 64 x 71 takes blocks of 64; the others keep the default 128", () => {
    assert.equal(awqBlockSize(MODELS["tiiuae/falcon-7b-instruct"], 1), 64);
    assert.equal(awqBlockSize(MODELS["tiiuae/falcon-40b-instruct"], 8), 128);
    assert.equal(awqBlockSize(MODELS["meta-llama/Llama-3.1-8B-Instruct"], 2), 128);
    // 4544 / 2 = 2272 = 32 x 71: no block size the kernels take divides it.
    assert.equal(awqBlockSize(MODELS["tiiuae/falcon-7b-instruct"], 2), undefined);
  });

  test("the build host is told the block size, and only for int4_awq", () => {
    assert.equal(
      settingsOf({ "engine.quantization": "int4_awq", "engine.dtype": "float16" }).AWQ_BLOCK_SIZE,
      "64",
    );
    assert.equal("AWQ_BLOCK_SIZE" in settingsOf({}), false);
  });

  test("a model whose hidden size no block size divides is refused at preview, naming engine.quantization", () => {
    const odd = { ...MODELS["tiiuae/falcon-7b-instruct"], hiddenSize: 4560, intermediateSize: 18240 };
    const errors = awqBlockSizeRule(configWith({ "engine.quantization": "int4_awq", "model.resolved": odd }));
    expectError(errors, "engine.quantization", {
      value: "int4_awq",
      message: [/128 or 64/, /hidden size 4560/, /intermediate size 18240/, /engine\.tensorParallel 1/],
      fix: [/int4_weight_only/],
    });
    assert.deepEqual(awqBlockSizeRule(configWith({ "engine.quantization": "int4_awq" })), []);
    assert.deepEqual(awqBlockSizeRule(configWith({ "model.resolved": odd })), []);
  });

  test("the parser runs the rule with the others", () => {
    const odd = { ...MODELS["tiiuae/falcon-7b-instruct"], hiddenSize: 4560, intermediateSize: 18240 };
    const { errors } = parse({
      "model.huggingFaceId": "example/falcon-odd",
      "model.architecture": odd,
      "engine.quantization": "int4_awq",
    });
    expectError(errors, "engine.quantization", { value: "int4_awq", message: [/hidden size 4560/] });
  });
});

describe("chunked context", () => {
  const key = (overrides: Overrides) => engineKey(engineKeyInputs(validConfig({ ...BUILT, ...overrides })));

  test("it is built into the engine, so it changes the engine key; off, the key stays what it was", () => {
    assert.notEqual(key({ "serving.enableChunkedContext": true }), key({}));
    assert.equal("pagedContextFmha" in engineKeyInputs(validConfig(BUILT)), false);
  });

  test("the build host is told", () => {
    assert.equal(settingsOf({ "serving.enableChunkedContext": true }).CHUNKED_CONTEXT, "true");
    assert.equal(settingsOf({}).CHUNKED_CONTEXT, "false");
  });
});

describe("the known-answer validation", () => {
  test("by default the model family's question, asked greedily of the model the stack serves", () => {
    const config = validConfig(BUILT);
    assert.deepEqual(config.build.validation, FAMILY_KNOWN_ANSWERS.falcon);
    assert.deepEqual(validationRequestBody(config), {
      text_input: "The capital of France is",
      max_tokens: 16,
      top_k: 1,
      end_id: 11,
      pad_id: 11,
    });
    const llama = validConfig({
      ...BUILT,
      "model.huggingFaceId": "meta-llama/Llama-3.1-8B-Instruct",
      "deployment.shape": "VM.GPU.A10.2",
      "engine.tensorParallel": 2,
    });
    assert.deepEqual(llama.build.validation, { prompt: "The capital of France is", expect: "Paris" });
    assert.equal(validationRequestBody(llama).end_id, 128009);
    // The host sets stream itself on a streaming stack, once false and once true.
    assert.equal(
      validationRequestBody(validConfig({ ...BUILT, "deployment.streaming": true })).stream,
      false,
    );
  });

  test("build.validation overrides it, and the host gets the expected text and the deployment's container", () => {
    const overrides = { "build.validation.prompt": "2 + 2 =", "build.validation.expect": "4" };
    const config = validConfig({ ...BUILT, ...overrides });
    assert.equal(validationRequestBody(config).text_input, "2 + 2 =");
    const settings = settingsOf({ ...overrides, "deployment.streaming": true });
    assert.equal(settings.VALIDATION_EXPECT, "4");
    assert.deepEqual(JSON.parse(settings.CONTAINER_ENTRYPOINT), []);
    const environment = JSON.parse(settings.CONTAINER_ENV) as Record<string, string>;
    assert.equal(
      environment.MODEL_DEPLOY_PREDICT_ENDPOINT,
      "/v2/models/tensorrt_llm_bls/versions/1/generate_stream",
    );
    assert.equal("PROMPT" in settings || "END_TOKEN" in settings, false);
    // Neither key changes: the check is not part of the engine or the artifact.
    assert.equal(engineKey(engineKeyInputs(config)), engineKey(engineKeyInputs(validConfig(BUILT))));
  });

  test("a prompt of one's own without its expected text is refused, and so is a line break", () => {
    expectError(parse({ "build.validation.prompt": "2 + 2 =" }).errors, "build.validation.expect", {
      message: [/required with build\.validation\.prompt/],
      fix: [/pulumi config set --path build\.validation\.expect <value>/],
    });
    expectError(parse({ "build.validation.expect": "a\nb" }).errors, "build.validation.expect", {
      value: "a\nb",
      message: [/line break/],
    });
    expectError(parse({ "build.validation.prompt": "" }).errors, "build.validation.prompt", {
      value: "",
    });
    assert.ok(validConfig({ "build.validation.expect": "Paris." }));
  });
});

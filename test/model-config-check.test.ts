// The model against what the stack declares (components/build/model-config-check.ts), on the real
// config.json files of test/fixtures/hub-configs, and the build host's jq rule
// (engine-build/steps/model-config.sh `hub_config_problems`) giving the same answers on each.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";

import {
  type ConfigExpectation,
  configExpectations,
  configFields,
  configMismatches,
  describeMismatch,
  hubConfigUrl,
} from "../components/build/model-config-check";
import { MODELS } from "../components/config/catalog";
import { scratchDir } from "./support/scratch";

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "hub-configs");
const hubConfig = (name: string): unknown =>
  JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));

const catalogued = (id: string): ConfigExpectation[] =>
  configExpectations({ huggingFaceId: id, resolved: MODELS[id] });

// Qwen2.5-7B-Instruct declared with its own sizes but as family llama: issue 27's example.
const QWEN_AS_LLAMA = {
  family: "llama" as const,
  layers: 28,
  hiddenSize: 3584,
  queryHeads: 28,
  kvHeads: 4,
  intermediateSize: 18944,
  vocabSize: 152064,
  contextLength: 32768,
  parameterCount: 7_615_616_512,
  eosTokenId: 151645,
  padTokenId: 151643,
};
const qwenDeclared = (): ConfigExpectation[] =>
  configExpectations({
    huggingFaceId: "Qwen/Qwen2.5-7B-Instruct",
    architecture: QWEN_AS_LLAMA,
    resolved: QWEN_AS_LLAMA,
  });

describe("config.json against the stack", () => {
  for (const [id, file] of [
    ["tiiuae/falcon-7b-instruct", "tiiuae--falcon-7b-instruct"],
    ["tiiuae/falcon-7b-instruct", "tiiuae--falcon-7b-instruct-refinedweb"],
    ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama--Llama-3.1-8B-Instruct"],
    ["mistralai/Mistral-7B-Instruct-v0.2", "mistralai--Mistral-7B-Instruct-v0.2"],
  ] as const) {
    test(`${file}.json is the model the catalogue describes for ${id}`, () => {
      assert.deepEqual(configMismatches(catalogued(id), hubConfig(file)), []);
    });
  }

  test("Falcon's original config is read under its older names, n_head and n_layer", () => {
    assert.deepEqual(
      configFields(
        catalogued("tiiuae/falcon-7b-instruct"),
        hubConfig("tiiuae--falcon-7b-instruct-refinedweb"),
      ),
      {
        architectures: "RWForCausalLM",
        model_type: "RefinedWebModel",
        hidden_size: 4544,
        num_attention_heads: 71,
        num_hidden_layers: 32,
      },
    );
  });

  test("Qwen declared as llama: the family is wrong, named by model.architecture.family", () => {
    assert.deepEqual(configMismatches(qwenDeclared(), hubConfig("Qwen--Qwen2.5-7B-Instruct")), [
      {
        field: "architectures",
        found: "Qwen2ForCausalLM",
        allowed: ["LlamaForCausalLM", "MistralForCausalLM"],
        stackKey: "model.architecture.family",
      },
      {
        field: "model_type",
        found: "qwen2",
        allowed: ["llama", "mistral"],
        stackKey: "model.architecture.family",
      },
    ]);
  });

  test("declared sizes that are not the model's name their own keys", () => {
    const wrong = { ...QWEN_AS_LLAMA, hiddenSize: 4096, layers: 32 };
    const mismatches = configMismatches(
      configExpectations({ huggingFaceId: "Qwen/Qwen2.5-7B-Instruct", architecture: wrong, resolved: wrong }),
      hubConfig("Qwen--Qwen2.5-7B-Instruct"),
    );
    assert.deepEqual(
      mismatches.map((mismatch) => `${mismatch.stackKey}: ${describeMismatch(mismatch)}`),
      [
        'model.architecture.family: architectures = "Qwen2ForCausalLM" (the stack says "LlamaForCausalLM" or "MistralForCausalLM")',
        'model.architecture.family: model_type = "qwen2" (the stack says "llama" or "mistral")',
        "model.architecture.hiddenSize: hidden_size = 3584 (the stack says 4096)",
        "model.architecture.layers: num_hidden_layers = 28 (the stack says 32)",
      ],
    );
  });

  test("a catalogued id serving another model names model.huggingFaceId for every field", () => {
    const mismatches = configMismatches(
      catalogued("tiiuae/falcon-40b-instruct"),
      hubConfig("Qwen--Qwen2.5-7B-Instruct"),
    );
    assert.deepEqual(
      mismatches.map((mismatch) => [mismatch.stackKey, mismatch.field, mismatch.found]),
      [
        ["model.huggingFaceId", "architectures", "Qwen2ForCausalLM"],
        ["model.huggingFaceId", "model_type", "qwen2"],
        ["model.huggingFaceId", "hidden_size", 3584],
        ["model.huggingFaceId", "num_attention_heads", 28],
        ["model.huggingFaceId", "num_hidden_layers", 28],
      ],
    );
  });

  test("a field that is absent, null, of another type or an empty list reads as absent", () => {
    const expectations = catalogued("tiiuae/falcon-7b-instruct");
    const odd = {
      architectures: [],
      hidden_size: "4544",
      num_attention_heads: null,
      n_head: 71,
      n_layer: true,
    };
    assert.deepEqual(configFields(expectations, odd), {
      architectures: null,
      model_type: null,
      hidden_size: "4544",
      num_attention_heads: 71,
      num_hidden_layers: null,
    });
    assert.deepEqual(configMismatches(expectations, odd).map(describeMismatch), [
      'architectures = absent (the stack says "FalconForCausalLM" or "RWForCausalLM")',
      'model_type = absent (the stack says "falcon" or "RefinedWeb" or "RefinedWebModel")',
      'hidden_size = "4544" (the stack says 4544)',
      "num_hidden_layers = absent (the stack says 32)",
    ]);
    assert.equal(configMismatches(expectations, ["not", "an", "object"]).length, expectations.length);
  });

  test("the URL of config.json, the revision quoted as huggingface_hub quotes it", () => {
    assert.equal(
      hubConfigUrl("tiiuae/falcon-7b-instruct", "main"),
      "https://huggingface.co/tiiuae/falcon-7b-instruct/resolve/main/config.json",
    );
    assert.equal(
      hubConfigUrl("tiiuae/falcon-7b-instruct", "refs/pr/12", "http://127.0.0.1:8080/"),
      "http://127.0.0.1:8080/tiiuae/falcon-7b-instruct/resolve/refs%2Fpr%2F12/config.json",
    );
  });
});

describe("the build host's rule is the same rule", () => {
  const dir = scratchDir("hub-config-");
  // Every config.json against every expectation set, odd values and a non-object included.
  const configs: Record<string, unknown> = {
    falcon: hubConfig("tiiuae--falcon-7b-instruct"),
    refinedweb: hubConfig("tiiuae--falcon-7b-instruct-refinedweb"),
    llama: hubConfig("meta-llama--Llama-3.1-8B-Instruct"),
    mistral: hubConfig("mistralai--Mistral-7B-Instruct-v0.2"),
    qwen: hubConfig("Qwen--Qwen2.5-7B-Instruct"),
    odd: {
      architectures: [],
      hidden_size: "4544",
      num_attention_heads: null,
      n_head: 71,
      n_layer: true,
      model_type: 3,
    },
    list: ["falcon"],
  };
  const expectationSets: Record<string, ConfigExpectation[]> = {
    falcon7b: catalogued("tiiuae/falcon-7b-instruct"),
    falcon40b: catalogued("tiiuae/falcon-40b-instruct"),
    llama: catalogued("meta-llama/Llama-3.1-8B-Instruct"),
    qwenDeclared: qwenDeclared(),
  };
  const script = path.join(ROOT, "engine-build", "steps", "model-config.sh");
  const host = (expectations: ConfigExpectation[], file: string): string[] =>
    execFileSync(
      "bash",
      [
        "-c",
        `set -euo pipefail; source "$1"; hub_config_problems "$2" "$3"`,
        "bash",
        script,
        JSON.stringify(expectations),
        file,
      ],
      { encoding: "utf8" },
    )
      .split("\n")
      .filter((line) => line !== "");

  for (const [configName, config] of Object.entries(configs)) {
    const file = path.join(dir, `${configName}.json`);
    writeFileSync(file, JSON.stringify(config));
    for (const [setName, expectations] of Object.entries(expectationSets)) {
      test(`${configName} against ${setName}`, () => {
        const expected = configMismatches(expectations, config).map(
          (mismatch) => `${mismatch.stackKey}: ${describeMismatch(mismatch)}`,
        );
        assert.deepEqual(host(expectations, file), expected);
      });
    }
  }

  test("the rule is not vacuous: Qwen against Falcon-7B is five problems on both sides", () => {
    assert.equal(host(expectationSets.falcon7b, path.join(dir, "qwen.json")).length, 5);
  });
});

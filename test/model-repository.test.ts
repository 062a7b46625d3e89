// The rendered Triton model repository: layout, the values each config.pbtxt carries for a stack,
// the text-format bytes (read back by an independent parser), the ensemble wiring rules, and the
// field and enum names checked against Triton's own schema when its proto is available.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";

import type { StackConfig } from "../components/config/config";
import {
  checkEnsembleWiring,
  engineFolder,
  modelRepositorySpec,
  pythonModelSource,
  renderModelRepository,
  repositoryModels,
  requestInputs,
  tokenizerFolder,
  toTextFormat,
  type ModelConfig,
  type ModelRepositorySpec,
} from "../components/model-repository";
import { containerSpec } from "../components/deployment/container-spec";
import { quote } from "../components/model-repository/model-config";
import { containerSpecInput } from "../components/config/rules";
import { validConfig, type Overrides } from "./support/stack-fixtures";

const REPO_ROOT = path.resolve(__dirname, "..");
// Vendored with its licence header: test/fixtures/triton/README.md says where it comes from.
const PROTO_PATH = path.resolve(REPO_ROOT, "test/fixtures/triton/model_config.proto");
const MOUNT = "/opt/ds/model/deployed_model";

// ---------------------------------------------------------------------------------------------
// A protobuf text-format reader written for these tests, so the serializer is checked against an
// independent reading of its output rather than against itself.

type Scalar =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "ident"; readonly value: string }
  | { readonly kind: "number"; readonly value: number };

interface Field {
  readonly name: string;
  readonly value: Scalar | Field[] | Scalar[];
}

type Token = { readonly type: "punct" | "ident" | "number" | "string"; readonly text: string };

function unescapeBytes(body: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      bytes.push(...Buffer.from(c, "utf8"));
      continue;
    }
    const next = body[++i];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, "\\": 92 };
    if (next in simple) bytes.push(simple[next]);
    else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(body.slice(i))?.[0] ?? next;
      bytes.push(parseInt(octal, 8));
      i += octal.length - 1;
    } else throw new Error(`unknown escape \\${next}`);
  }
  return Buffer.from(bytes).toString("utf8");
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s+|#[^\n]*|(?<punct>[{}[\]:,])|(?<string>"(?:[^"\\\n]|\\.)*")|(?<number>-?\d+(?:\.\d+)?)|(?<ident>[A-Za-z_]\w*)|(?<bad>.)/gy;
  for (const match of text.matchAll(pattern)) {
    const groups = match.groups ?? {};
    if (groups.bad !== undefined) throw new Error(`unexpected '${groups.bad}' at ${match.index}`);
    for (const type of ["punct", "string", "number", "ident"] as const) {
      if (groups[type] !== undefined) tokens.push({ type, text: groups[type] });
    }
  }
  return tokens;
}

function scalarOf(token: Token): Scalar {
  if (token.type === "string") return { kind: "string", value: unescapeBytes(token.text.slice(1, -1)) };
  if (token.type === "number") return { kind: "number", value: Number(token.text) };
  if (token.type === "ident") return { kind: "ident", value: token.text };
  throw new Error(`expected a value, got '${token.text}'`);
}

function parseTextFormat(text: string): Field[] {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string): Token => {
    const token = tokens[at++];
    if (token === undefined) throw new Error("unexpected end of input");
    if (expected !== undefined && token.text !== expected) {
      throw new Error(`expected '${expected}', got '${token.text}'`);
    }
    return token;
  };
  const message = (end: string | undefined): Field[] => {
    const fields: Field[] = [];
    while (peek() !== undefined && peek().text !== end) {
      const name = take();
      if (name.type !== "ident") throw new Error(`expected a field name, got '${name.text}'`);
      if (peek()?.text === ":") take(":");
      if (peek()?.text === "{") {
        take("{");
        fields.push({ name: name.text, value: message("}") });
        take("}");
      } else if (peek()?.text === "[") {
        take("[");
        const items: Scalar[] = [];
        while (peek()?.text !== "]") {
          items.push(scalarOf(take()));
          if (peek()?.text === ",") take(",");
        }
        take("]");
        fields.push({ name: name.text, value: items });
      } else {
        fields.push({ name: name.text, value: scalarOf(take()) });
      }
    }
    return fields;
  };
  const fields = message(undefined);
  assert.equal(at, tokens.length, "trailing tokens");
  return fields;
}

function all(fields: Field[], name: string): Field[] {
  return fields.filter((field) => field.name === name);
}

function one(fields: Field[], name: string): Field {
  const found = all(fields, name);
  assert.equal(found.length, 1, `expected exactly one '${name}', found ${found.length}`);
  return found[0];
}

function nested(fields: Field[], name: string): Field[] {
  const value = one(fields, name).value;
  assert.ok(Array.isArray(value) && (value.length === 0 || "name" in value[0]), `'${name}' is not a message`);
  return value as Field[];
}

function scalar(fields: Field[], name: string): string | number {
  const value = one(fields, name).value;
  assert.ok(!Array.isArray(value), `'${name}' is not a scalar`);
  return value.value;
}

function list(fields: Field[], name: string): (string | number)[] {
  const found = all(fields, name);
  if (found.length === 0) return [];
  const value = one(fields, name).value;
  assert.ok(Array.isArray(value), `'${name}' is not a list`);
  return (value as Scalar[]).map((item) => item.value);
}

function parameters(fields: Field[]): Record<string, string> {
  return Object.fromEntries(
    all(fields, "parameters").map((entry) => {
      const body = entry.value as Field[];
      return [String(scalar(body, "key")), String(scalar(nested(body, "value"), "string_value"))];
    }),
  );
}

function tensors(fields: Field[], kind: "input" | "output") {
  return all(fields, kind).map((entry) => {
    const body = entry.value as Field[];
    return {
      name: String(scalar(body, "name")),
      dataType: String(scalar(body, "data_type")),
      dims: list(body, "dims"),
      optional: all(body, "optional").length > 0 && scalar(body, "optional") === "true",
    };
  });
}

// ---------------------------------------------------------------------------------------------

function render(overrides: Overrides = {}): { spec: ModelRepositorySpec; files: Map<string, string> } {
  const spec = modelRepositorySpec(validConfig(overrides));
  const files = new Map<string, string>();
  for (const entry of renderModelRepository(spec)) {
    files.set(entry.path, entry.kind === "file" ? entry.contents : "<dir>");
  }
  return { spec, files };
}

function parsedConfigs(files: Map<string, string>, folder = "triton"): Record<string, Field[]> {
  const models = [...files.keys()]
    .filter((file) => file.startsWith(`${folder}/`) && file.endsWith("/config.pbtxt"))
    .map((file) => file.slice(folder.length + 1, -"/config.pbtxt".length));
  assert.ok(models.length >= 4, `no configs under ${folder}/`);
  return Object.fromEntries(
    models.map((model) => {
      const text = files.get(`${folder}/${model}/config.pbtxt`);
      assert.ok(text !== undefined, `${model}/config.pbtxt was not rendered`);
      return [model, parseTextFormat(text)];
    }),
  );
}

const STREAMING_AND_KNOBS: Overrides = {
  "serving.repositoryFolder": "models",
  "deployment.streaming": true,
  "engine.maxBatchSize": 8,
  "serving.kvCacheFreeGpuMemFraction": 0.75,
  "serving.batchSchedulerPolicy": "max_utilization",
  "serving.enableChunkedContext": true,
  "serving.maxQueueDelayMicroseconds": 500,
  "serving.maxQueueSize": 64,
  "serving.preprocessingInstances": 3,
  "serving.postprocessingInstances": 2,
};

const LLAMA: Overrides = {
  "model.huggingFaceId": "meta-llama/Llama-3.1-8B-Instruct",
  "model.localDir": "./models/llama-3.1-8b-instruct",
  "deployment.shape": "VM.GPU.A10.2",
  "engine.tensorParallel": 2,
};

describe("layout", () => {
  test("the dev stack renders four configs, two Python models with their modules and the two empty version folders", () => {
    const entries = renderModelRepository(modelRepositorySpec(validConfig()));
    assert.deepEqual(
      entries.map((entry) => [entry.kind, entry.path, entry.mode]),
      [
        ["directory", "triton/ensemble/1", 0o755],
        ["file", "triton/ensemble/config.pbtxt", 0o644],
        ["file", "triton/postprocessing/1/incremental_text.py", 0o644],
        ["file", "triton/postprocessing/1/model.py", 0o644],
        ["file", "triton/postprocessing/1/stop_strings.py", 0o644],
        ["file", "triton/postprocessing/config.pbtxt", 0o644],
        ["file", "triton/preprocessing/1/model.py", 0o644],
        ["file", "triton/preprocessing/1/word_lists.py", 0o644],
        ["file", "triton/preprocessing/config.pbtxt", 0o644],
        ["directory", "triton/tensorrt_llm/1", 0o755],
        ["file", "triton/tensorrt_llm/config.pbtxt", 0o644],
      ],
    );
    assert.equal(engineFolder("triton"), "triton/tensorrt_llm/1");
    assert.equal(tokenizerFolder("triton"), "triton/tokenizer");
  });

  test("the repository folder from the config prefixes every path and the in-container paths", () => {
    const { files } = render({ "serving.repositoryFolder": "models" });
    assert.ok(
      [...files.keys()].every((p) => p.startsWith("models/")),
      [...files.keys()].join(", "),
    );
    const configs = parsedConfigs(files, "models");
    assert.equal(parameters(configs.preprocessing).tokenizer_dir, `${MOUNT}/models/tokenizer`);
    assert.equal(parameters(configs.postprocessing).tokenizer_dir, `${MOUNT}/models/tokenizer`);
    assert.equal(parameters(configs.tensorrt_llm).gpt_model_path, `${MOUNT}/models/tensorrt_llm/1`);
  });

  test("a streaming stack adds the decoupled tensorrt_llm_bls model with its decoding, stop and word-list modules", () => {
    const paths = renderModelRepository(
      modelRepositorySpec(validConfig({ "deployment.streaming": true })),
    ).map((entry) => entry.path);
    for (const file of [
      "config.pbtxt",
      "1/model.py",
      "1/incremental_text.py",
      "1/stop_strings.py",
      "1/word_lists.py",
    ]) {
      assert.ok(paths.includes(`triton/tensorrt_llm_bls/${file}`), file);
    }
    assert.equal(paths.length, 16);
  });

  test("the container loads every rendered model and a streaming stack predicts through tensorrt_llm_bls", () => {
    for (const streaming of [false, true]) {
      const config = validConfig({ "deployment.streaming": streaming });
      const spec = containerSpec(containerSpecInput(config));
      const loaded = spec.cmds.filter((arg) => arg.startsWith("--load-model=")).map((arg) => arg.slice(13));
      assert.deepEqual(
        loaded.sort(),
        repositoryModels(modelRepositorySpec(config))
          .map((model) => model.name)
          .sort(),
      );
      assert.equal(
        spec.environment.MODEL_DEPLOY_PREDICT_ENDPOINT,
        streaming
          ? "/v2/models/tensorrt_llm_bls/versions/1/generate_stream"
          : "/v2/models/ensemble/versions/1/generate",
      );
    }
  });

  test("the Python files are shipped byte for byte, each shared module to every model that imports it", () => {
    const { files } = render({ "deployment.streaming": true });
    const source = (file: string) =>
      readFileSync(path.join(REPO_ROOT, "components/model-repository/python", file), "utf8");
    const shipped: [string, string][] = [
      ["preprocessing/1/model.py", "preprocessing/model.py"],
      ["preprocessing/1/word_lists.py", "shared/word_lists.py"],
      ["postprocessing/1/model.py", "postprocessing/model.py"],
      ["postprocessing/1/incremental_text.py", "shared/incremental_text.py"],
      ["postprocessing/1/stop_strings.py", "shared/stop_strings.py"],
      ["tensorrt_llm_bls/1/model.py", "tensorrt_llm_bls/model.py"],
      ["tensorrt_llm_bls/1/incremental_text.py", "shared/incremental_text.py"],
      ["tensorrt_llm_bls/1/stop_strings.py", "shared/stop_strings.py"],
      ["tensorrt_llm_bls/1/word_lists.py", "shared/word_lists.py"],
    ];
    for (const [target, from] of shipped) assert.equal(files.get(`triton/${target}`), source(from), target);
    assert.equal(pythonModelSource("tensorrt_llm_bls"), source("tensorrt_llm_bls/model.py"));
    assert.throws(() => pythonModelSource("ensemble"), /'ensemble' is not a Python model/);
  });

  test("no template placeholder survives in any rendered file", () => {
    for (const overrides of [{}, STREAMING_AND_KNOBS, LLAMA]) {
      for (const [file, contents] of render(overrides).files) {
        assert.ok(!contents.includes("${"), `${file} contains a placeholder`);
      }
    }
  });
});

describe("values from the stack", () => {
  test("the tensorrt_llm model is the C++ in-flight batching backend reading the engine folder", () => {
    const model = parsedConfigs(render().files).tensorrt_llm;
    assert.equal(scalar(model, "backend"), "tensorrtllm");
    assert.deepEqual(parameters(model), {
      gpt_model_type: "inflight_fused_batching",
      gpt_model_path: `${MOUNT}/triton/tensorrt_llm/1`,
      max_beam_width: "1",
      kv_cache_free_gpu_mem_fraction: "0.9",
      batch_scheduler_policy: "guaranteed_no_evict",
      enable_chunked_context: "false",
      exclude_input_in_output: "true",
      cancellation_check_period_ms: "10",
    });
    const group = nested(model, "instance_group");
    assert.equal(scalar(group, "kind"), "KIND_CPU");
    assert.equal(scalar(group, "count"), 1);
  });

  test("defaults: one pre/postprocessing instance each, no queue delay, unbounded queue", () => {
    const configs = parsedConfigs(render().files);
    for (const model of ["preprocessing", "postprocessing"]) {
      const group = nested(configs[model], "instance_group");
      assert.equal(scalar(group, "count"), 1);
      assert.equal(scalar(group, "kind"), "KIND_CPU");
      assert.equal(scalar(configs[model], "backend"), "python");
    }
    const batching = nested(configs.tensorrt_llm, "dynamic_batching");
    assert.equal(scalar(batching, "max_queue_delay_microseconds"), 0);
    assert.equal(scalar(nested(batching, "default_queue_policy"), "max_queue_size"), 0);
  });

  test("serving knobs reach the models that read them", () => {
    const configs = parsedConfigs(render(STREAMING_AND_KNOBS).files, "models");
    const engine = parameters(configs.tensorrt_llm);
    assert.equal(engine.kv_cache_free_gpu_mem_fraction, "0.75");
    assert.equal(engine.batch_scheduler_policy, "max_utilization");
    assert.equal(engine.enable_chunked_context, "true");
    for (const model of ["tensorrt_llm", "preprocessing"]) {
      const batching = nested(configs[model], "dynamic_batching");
      assert.equal(scalar(batching, "max_queue_delay_microseconds"), 500);
      assert.equal(scalar(nested(batching, "default_queue_policy"), "max_queue_size"), 64);
    }
    assert.equal(scalar(nested(configs.preprocessing, "instance_group"), "count"), 3);
    assert.equal(scalar(nested(configs.postprocessing, "instance_group"), "count"), 2);
    assert.equal(parameters(configs.preprocessing).max_input_len, "1024");
    assert.equal(parameters(configs.preprocessing).add_special_tokens, "true");
    assert.equal(parameters(configs.postprocessing).skip_special_tokens, "true");
  });

  test("every model's max_batch_size is the engine's", () => {
    for (const size of [1, 8, 32]) {
      const configs = parsedConfigs(render({ "engine.maxBatchSize": size }).files);
      for (const [model, fields] of Object.entries(configs)) {
        assert.equal(scalar(fields, "max_batch_size"), size, model);
      }
    }
  });

  test("decoupled exactly when the deployment streams, on the engine, the ensemble and the streaming model", () => {
    for (const streaming of [false, true]) {
      const configs = parsedConfigs(render({ "deployment.streaming": streaming }).files);
      assert.equal("tensorrt_llm_bls" in configs, streaming);
      for (const model of ["tensorrt_llm", "ensemble", ...(streaming ? ["tensorrt_llm_bls"] : [])]) {
        assert.equal(
          scalar(nested(configs[model], "model_transaction_policy"), "decoupled"),
          String(streaming),
        );
      }
      for (const model of ["preprocessing", "postprocessing"]) {
        assert.equal(all(configs[model], "model_transaction_policy").length, 0, model);
      }
    }
  });

  test("end and pad defaults are the model's own ids: 11 for Falcon, 128009 for Llama 3.1 Instruct", () => {
    const falcon = parameters(parsedConfigs(render().files).preprocessing);
    assert.equal(falcon.default_end_id, "11");
    assert.equal(falcon.default_pad_id, "11");
    const llama = parameters(parsedConfigs(render(LLAMA).files).preprocessing);
    assert.equal(llama.default_end_id, "128009");
    assert.equal(llama.default_pad_id, "128009");
  });

  test("a model described by hand brings its own ids", () => {
    const config: StackConfig = validConfig();
    const spec = modelRepositorySpec({
      ...config,
      model: { ...config.model, resolved: { ...config.model.resolved, eosTokenId: 2, padTokenId: 0 } },
    });
    assert.equal(spec.endId, 2);
    assert.equal(spec.padId, 0);
  });
});

describe("the ensemble's interface and wiring", () => {
  test("/generate inputs and output", () => {
    const ensemble = parsedConfigs(render().files).ensemble;
    assert.equal(scalar(ensemble, "platform"), "ensemble");
    const inputs = Object.fromEntries(tensors(ensemble, "input").map((t) => [t.name, t]));
    const expected: Record<string, [string, (string | number)[], boolean]> = {
      text_input: ["TYPE_STRING", [1], false],
      max_tokens: ["TYPE_INT32", [1], false],
      bad_words: ["TYPE_STRING", [-1], true],
      stop_words: ["TYPE_STRING", [-1], true],
      end_id: ["TYPE_INT32", [1], true],
      pad_id: ["TYPE_INT32", [1], true],
      top_k: ["TYPE_INT32", [1], true],
      top_p: ["TYPE_FP32", [1], true],
      temperature: ["TYPE_FP32", [1], true],
      repetition_penalty: ["TYPE_FP32", [1], true],
      presence_penalty: ["TYPE_FP32", [1], true],
      frequency_penalty: ["TYPE_FP32", [1], true],
      min_length: ["TYPE_INT32", [1], true],
      random_seed: ["TYPE_UINT64", [1], true],
      stream: ["TYPE_BOOL", [1], true],
      include_stop_str_in_output: ["TYPE_BOOL", [1], true],
    };
    assert.deepEqual(Object.keys(inputs).sort(), Object.keys(expected).sort());
    for (const [name, [dataType, dims, optional]] of Object.entries(expected)) {
      assert.deepEqual(
        [inputs[name].dataType, inputs[name].dims, inputs[name].optional],
        [dataType, dims, optional],
        name,
      );
    }
    assert.deepEqual(tensors(ensemble, "output"), [
      { name: "text_output", dataType: "TYPE_STRING", dims: [-1], optional: false },
      { name: "batch_index", dataType: "TYPE_INT32", dims: [1], optional: false },
    ]);
  });

  test("the streaming model takes the request the ensemble of a stack that does not stream takes, and answers the same outputs", () => {
    const configs = parsedConfigs(render({ "deployment.streaming": true }).files);
    const bls = configs.tensorrt_llm_bls;
    assert.equal(scalar(bls, "backend"), "python");
    assert.equal(scalar(nested(bls, "model_transaction_policy"), "decoupled"), "true");
    assert.deepEqual(tensors(bls, "input"), tensors(parsedConfigs(render().files).ensemble, "input"));
    assert.deepEqual(tensors(bls, "output"), tensors(configs.ensemble, "output"));
    // The streaming stack's own ensemble has nothing to hand include_stop_str_in_output to.
    assert.deepEqual(
      tensors(configs.ensemble, "input").map((t) => t.name),
      tensors(bls, "input")
        .map((t) => t.name)
        .filter((name) => name !== "include_stop_str_in_output"),
    );
    const params = parameters(bls);
    assert.equal(params.tokenizer_dir, `${MOUNT}/triton/tokenizer`);
    assert.equal(params.skip_special_tokens, "true");
    const engineInputs = JSON.parse(params.engine_inputs) as Record<string, string>;
    const engineNames = new Set(tensors(configs.tensorrt_llm, "input").map((t) => t.name));
    assert.deepEqual(engineInputs, {
      top_k: "runtime_top_k",
      top_p: "runtime_top_p",
      temperature: "temperature",
      repetition_penalty: "repetition_penalty",
      presence_penalty: "presence_penalty",
      frequency_penalty: "frequency_penalty",
      min_length: "min_length",
      random_seed: "random_seed",
    });
    for (const name of Object.values(engineInputs)) assert.ok(engineNames.has(name), name);
    assert.equal(parameters(configs.preprocessing).streaming_model, "tensorrt_llm_bls");
    assert.equal(parameters(parsedConfigs(render().files).preprocessing).streaming_model, "");
  });

  test("bad and stop words reach the engine as [2, -1] INT32 word lists through preprocessing", () => {
    const configs = parsedConfigs(render().files);
    const steps = all(nested(configs.ensemble, "ensemble_scheduling"), "step").map((s) => s.value as Field[]);
    const maps = (step: Field[], field: string) =>
      Object.fromEntries(
        all(step, field).map((entry) => [
          String(scalar(entry.value as Field[], "key")),
          String(scalar(entry.value as Field[], "value")),
        ]),
      );
    assert.deepEqual(
      steps.map((step) => scalar(step, "model_name")),
      ["preprocessing", "tensorrt_llm", "postprocessing"],
    );
    const [pre, engine] = steps;
    assert.equal(maps(pre, "input_map").bad_words, "bad_words");
    assert.equal(maps(pre, "input_map").stop_words, "stop_words");
    const preOut = maps(pre, "output_map");
    const engineIn = maps(engine, "input_map");
    assert.equal(engineIn.bad_words_list, preOut.bad_words_list);
    assert.equal(engineIn.stop_words_list, preOut.stop_words_list);
    assert.equal(engineIn.end_id, preOut.resolved_end_id);
    assert.equal(engineIn.pad_id, preOut.resolved_pad_id);
    for (const name of ["bad_words_list", "stop_words_list"]) {
      const tensor = tensors(configs.tensorrt_llm, "input").find((t) => t.name === name);
      assert.deepEqual(tensor && [tensor.dataType, tensor.dims], ["TYPE_INT32", [2, -1]]);
    }
  });

  test("postprocessing gets the prompt and the stop strings where Triton allows it: on a stack that does not stream", () => {
    const postprocessingInputs = (overrides: Overrides) => {
      const steps = all(
        nested(parsedConfigs(render(overrides).files).ensemble, "ensemble_scheduling"),
        "step",
      );
      const step = steps
        .map((entry) => entry.value as Field[])
        .find((fields) => scalar(fields, "model_name") === "postprocessing");
      assert.ok(step);
      return Object.fromEntries(
        all(step, "input_map").map((entry) => [
          String(scalar(entry.value as Field[], "key")),
          String(scalar(entry.value as Field[], "value")),
        ]),
      );
    };
    assert.deepEqual(postprocessingInputs({}), {
      output_ids: "_output_ids",
      sequence_length: "_sequence_length",
      input_ids: "_input_ids",
      input_lengths: "_input_lengths",
      stop_words: "stop_words",
      include_stop_str_in_output: "include_stop_str_in_output",
    });
    // A decoupled engine's responses may not meet other tensors in one step (wiring.ts).
    assert.deepEqual(postprocessingInputs({ "deployment.streaming": true }), {
      output_ids: "_output_ids",
      sequence_length: "_sequence_length",
    });
  });

  test("the rendered repository passes the wiring check for every variant", () => {
    for (const overrides of [{}, STREAMING_AND_KNOBS, LLAMA, { "deployment.streaming": true }]) {
      assert.deepEqual(checkEnsembleWiring(repositoryModels(render(overrides).spec)), []);
    }
  });
});

describe("checkEnsembleWiring finds what Triton would reject", () => {
  const base = () => repositoryModels(render({ "deployment.streaming": true }).spec);

  function edit(
    models: ModelConfig[],
    name: string,
    change: (model: ModelConfig) => ModelConfig,
  ): ModelConfig[] {
    return models.map((model) => (model.name === name ? change(model) : model));
  }

  function editStep(
    models: ModelConfig[],
    index: number,
    change: (
      step: NonNullable<ModelConfig["ensembleSteps"]>[number],
    ) => NonNullable<ModelConfig["ensembleSteps"]>[number],
  ): ModelConfig[] {
    return edit(models, "ensemble", (ensemble) => ({
      ...ensemble,
      ensembleSteps: (ensemble.ensembleSteps ?? []).map((step, i) => (i === index ? change(step) : step)),
    }));
  }

  const cases: [string, () => ModelConfig[], RegExp][] = [
    [
      "an input_map key that is not an input of the step's model",
      () => editStep(base(), 1, (step) => ({ ...step, inputMap: { ...step.inputMap, beam_width: "top_k" } })),
      /input_map key 'beam_width' is not an input of tensorrt_llm/,
    ],
    [
      "a tensor read before any step wrote it",
      () =>
        editStep(base(), 0, (step) => ({
          ...step,
          inputMap: { ...step.inputMap, max_tokens: "_output_ids" },
        })),
      /'max_tokens' reads '_output_ids', which is neither an ensemble input nor an output of an earlier step/,
    ],
    [
      "a data type that changes along a wire",
      () =>
        edit(base(), "tensorrt_llm", (model) => ({
          ...model,
          input: model.input.map((i) =>
            i.name === "end_id" ? { ...i, dataType: "TYPE_UINT32" as const } : i,
          ),
        })),
      /'_end_id' is TYPE_INT32 from preprocessing.resolved_end_id but tensorrt_llm.end_id is TYPE_UINT32/,
    ],
    [
      "dims that disagree along a wire",
      () =>
        edit(base(), "postprocessing", (model) => ({
          ...model,
          input: model.input.map((i) => (i.name === "output_ids" ? { ...i, dims: [-1] } : i)),
        })),
      /'_output_ids' has dims \[-1, -1\] from tensorrt_llm.output_ids but postprocessing.output_ids has \[-1\]/,
    ],
    [
      "an output_map key the model does not produce",
      () => editStep(base(), 2, (step) => ({ ...step, outputMap: { ...step.outputMap, OUTPUT: "extra" } })),
      /output_map key 'OUTPUT' is not an output of postprocessing/,
    ],
    [
      "an ensemble output nobody writes",
      () => editStep(base(), 2, (step) => ({ ...step, outputMap: { text_output: "_text" } })),
      /output 'text_output' is never written/,
    ],
    [
      "an ensemble input no step reads",
      () =>
        edit(base(), "ensemble", (model) => ({
          ...model,
          input: [...model.input, { name: "beam_width", dataType: "TYPE_INT32" as const, dims: [1] }],
        })),
      /input 'beam_width' is not used by any step/,
    ],
    [
      "an intermediate tensor nobody reads",
      () =>
        editStep(base(), 2, (step) => ({
          ...step,
          inputMap: { output_ids: "_output_ids", sequence_length: "_output_ids" },
        })),
      /'_sequence_length' from tensorrt_llm.sequence_length is not used by any step/,
    ],
    [
      "a required input left unmapped",
      () =>
        editStep(base(), 1, (step) => {
          const inputMap = { ...step.inputMap };
          delete inputMap.input_lengths;
          return { ...step, inputMap };
        }),
      /required input 'input_lengths' of tensorrt_llm is not mapped/,
    ],
    [
      "a step mixing a decoupled model's tensors with the request's",
      () =>
        edit(
          editStep(base(), 2, (step) => ({ ...step, inputMap: { ...step.inputMap, beam: "stream" } })),
          "postprocessing",
          (model) => ({
            ...model,
            input: [...model.input, { name: "beam", dataType: "TYPE_BOOL" as const, dims: [1] }],
          }),
        ),
      /step 2 \(postprocessing\): receives inputs that originate from different decoupled models/,
    ],
    [
      "a step model with a smaller max_batch_size than the ensemble",
      () => edit(base(), "tensorrt_llm", (model) => ({ ...model, maxBatchSize: 4 })),
      /max_batch_size 4 is below the ensemble's 32/,
    ],
    [
      "a step naming a model the repository lacks",
      () => editStep(base(), 2, (step) => ({ ...step, modelName: "detokenizer" })),
      /no model named 'detokenizer'/,
    ],
    [
      "an empty reshape whose dims hold more than one element",
      () =>
        edit(base(), "tensorrt_llm", (model) => ({
          ...model,
          input: model.input.map((i) => (i.name === "input_lengths" ? { ...i, dims: [2] } : i)),
        })),
      /input 'input_lengths' reshapes \[2\] to \[\]: element counts differ/,
    ],
  ];

  for (const [name, build, expected] of cases) {
    test(name, () => {
      const problems = checkEnsembleWiring(build());
      assert.ok(
        problems.some((problem) => expected.test(problem)),
        `expected ${expected}, got:\n${problems.join("\n") || "(none)"}`,
      );
    });
  }

  test("the renderer refuses to emit a miswired repository", () => {
    const spec = render().spec;
    assert.throws(
      () => renderModelRepository({ ...spec, maxBatchSize: 0 }),
      /empty reshape in a model without batching/,
    );
  });
});

// Inputs and outputs of tensorrt_llm in NVIDIA's tensorrtllm_backend v0.18.2, the release inside
// tritonserver:25.04-trtllm-python-py3: all_models/inflight_batcher_llm/tensorrt_llm/config.pbtxt
// (input [ at line 41, output [ at line 435; min_length :223, random_seed :251, streaming :300,
// batch_index :467), with the data types of the ones this stack uses. The backend reads them by
// these names (inflight_batcher_llm/src/utils.h:48-124) and ignores any other name without an error.
const V0_18_2_INPUTS: Record<string, string> = {
  input_ids: "TYPE_INT32",
  input_lengths: "TYPE_INT32",
  request_output_len: "TYPE_INT32",
  end_id: "TYPE_INT32",
  pad_id: "TYPE_INT32",
  stop_words_list: "TYPE_INT32",
  bad_words_list: "TYPE_INT32",
  temperature: "TYPE_FP32",
  runtime_top_k: "TYPE_INT32",
  runtime_top_p: "TYPE_FP32",
  repetition_penalty: "TYPE_FP32",
  min_length: "TYPE_INT32",
  presence_penalty: "TYPE_FP32",
  frequency_penalty: "TYPE_FP32",
  random_seed: "TYPE_UINT64",
  streaming: "TYPE_BOOL",
};
const V0_18_2_OUTPUTS: Record<string, string> = {
  output_ids: "TYPE_INT32",
  sequence_length: "TYPE_INT32",
  batch_index: "TYPE_INT32",
};

describe("request names follow the serving image's TensorRT-LLM release", () => {
  test("for 25.04 (TensorRT-LLM 0.18.2) every engine tensor has NVIDIA's v0.18.2 name and type", () => {
    for (const overrides of [{}, { "deployment.streaming": true }, LLAMA]) {
      const engine = parsedConfigs(render(overrides).files).tensorrt_llm;
      for (const tensor of tensors(engine, "input")) {
        assert.equal(V0_18_2_INPUTS[tensor.name], tensor.dataType, `input ${tensor.name}`);
      }
      for (const tensor of tensors(engine, "output")) {
        assert.equal(V0_18_2_OUTPUTS[tensor.name], tensor.dataType, `output ${tensor.name}`);
      }
    }
  });

  test("the minimum length and the seed travel as min_length and random_seed from request to engine", () => {
    const { files } = render();
    const configs = parsedConfigs(files);
    const engineStep = all(nested(configs.ensemble, "ensemble_scheduling"), "step")
      .map((step) => step.value as Field[])
      .find((step) => scalar(step, "model_name") === "tensorrt_llm");
    assert.ok(engineStep);
    const inputMap = Object.fromEntries(
      all(engineStep, "input_map").map((entry) => [
        String(scalar(entry.value as Field[], "key")),
        String(scalar(entry.value as Field[], "value")),
      ]),
    );
    assert.equal(inputMap.min_length, "min_length");
    assert.equal(inputMap.random_seed, "random_seed");
    for (const [file, contents] of render({ "deployment.streaming": true }).files) {
      assert.doesNotMatch(contents, /"min_tokens"|"seed"/, file);
    }
  });

  test("the image is found by its tag whatever the registry or digest", () => {
    for (const source of [
      "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3",
      `nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@sha256:${"ab".repeat(32)}`,
      "iad.ocir.io/ns/mirror/tritonserver:25.04-trtllm-python-py3",
    ]) {
      assert.deepEqual(render({ "image.source": source }).spec.requestNames, {
        minTokens: "min_length",
        seed: "random_seed",
      });
    }
  });

  test("an image outside the catalogue is refused, naming the key, the value and the fix", () => {
    // Pinned by digest alone, a reference has no tag to look up.
    const digestOnly = `localhost:5000/triton@sha256:${"0".repeat(64)}`;
    for (const source of ["nvcr.io/nvidia/tritonserver:24.04-trtllm-python-py3", digestOnly]) {
      assert.throws(
        () => modelRepositorySpec(validConfig({ "image.source": source })),
        (error: Error) =>
          error.message.includes("image.source") &&
          error.message.includes(source) &&
          error.message.includes("25.04-trtllm-python-py3") &&
          error.message.includes("components/config/image-catalog.ts"),
      );
    }
  });

  test("docs/serving.md lists every input and output with its type and dims", () => {
    const doc = readFileSync(path.join(REPO_ROOT, "docs/serving.md"), "utf8");
    const rows = new Map(
      [...doc.matchAll(/^\| `(\w+)` \| (TYPE_\w+) \| (\[[-\d, ]+\]) \|/gm)].map((m) => [
        m[1],
        `${m[2]} ${m[3]}`,
      ]),
    );
    const served = parsedConfigs(render({ "deployment.streaming": true }).files).tensorrt_llm_bls;
    for (const kind of ["input", "output"] as const) {
      for (const tensor of tensors(served, kind)) {
        assert.equal(rows.get(tensor.name), `${tensor.dataType} [${tensor.dims.join(", ")}]`, tensor.name);
      }
    }
    assert.equal(rows.size, tensors(served, "input").length + tensors(served, "output").length);
  });

  test("the request every served model accepts", () => {
    const spec = render({ "deployment.streaming": true }).spec;
    assert.deepEqual(
      requestInputs(spec.requestNames).map((input) => input.name),
      [
        "text_input",
        "max_tokens",
        "bad_words",
        "stop_words",
        "end_id",
        "pad_id",
        "stream",
        "include_stop_str_in_output",
        "top_k",
        "top_p",
        "temperature",
        "repetition_penalty",
        "presence_penalty",
        "frequency_penalty",
        "min_length",
        "random_seed",
      ],
    );
  });
});

describe("text format", () => {
  test("strings are quoted and escaped; commas, quotes, backslashes and UTF-8 survive a round trip", () => {
    const values = ["0,1", 'say "hi"', "C:\\models\\x", "line\nbreak\ttab", "naïve — ✓", "{0, 0, 0}, {0, 1}"];
    const text = toTextFormat({
      name: "probe",
      backend: "python",
      maxBatchSize: 0,
      input: [],
      output: [],
      parameters: Object.fromEntries(values.map((value, i) => [`p${i}`, value])),
    });
    assert.deepEqual(Object.values(parameters(parseTextFormat(text))), values);
    assert.ok(text.includes('string_value: "0,1"'), "a comma needs no escaping inside a quoted string");
    assert.ok(text.includes('string_value: "say \\"hi\\""'));
    assert.ok(text.includes('string_value: "na\\303\\257ve \\342\\200\\224 \\342\\234\\223"'));
    assert.ok(/^[\x20-\x7e\n]*$/.test(text), "the file is plain ASCII");
    assert.equal(quote("a\rb"), '"a\\rb"');
  });

  test("enums are bare words and repeated scalars are lists", () => {
    const text = toTextFormat({
      name: "probe",
      backend: "python",
      maxBatchSize: 4,
      input: [{ name: "x", dataType: "TYPE_FP32", dims: [2, -1], reshape: [] }],
      output: [{ name: "y", dataType: "TYPE_STRING", dims: [-1] }],
      instanceGroup: [{ count: 2, kind: "KIND_GPU" }],
    });
    assert.match(text, /^ {2}data_type: TYPE_FP32$/m);
    assert.match(text, /^ {2}dims: \[ 2, -1 \]$/m);
    assert.match(text, /^ {2}kind: KIND_GPU$/m);
    assert.match(text, /^ {2}reshape \{\n {2}\}$/m);
    const input = nested(parseTextFormat(text), "input");
    assert.deepEqual(list(input, "dims"), [2, -1]);
    assert.deepEqual(nested(input, "reshape"), []);
  });

  test("malformed configs are refused instead of written", () => {
    const minimal: ModelConfig = { name: "m", backend: "python", maxBatchSize: 1, input: [], output: [] };
    assert.throws(
      () => toTextFormat({ ...minimal, platform: "ensemble" }),
      /exactly one of backend and platform/,
    );
    assert.throws(() => toTextFormat({ ...minimal, maxBatchSize: 1.5 }), /max_batch_size: 1.5/);
    assert.throws(
      () => toTextFormat({ ...minimal, input: [{ name: "x", dataType: "TYPE_INT32", dims: [] }] }),
      /tensor 'x' must have dims/,
    );
    assert.throws(
      () => toTextFormat({ ...minimal, instanceGroup: [{ count: 0, kind: "KIND_CPU" }] }),
      /count: 0 is not a whole number >= 1/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Triton's schema, read from model_config.proto: every field and enum value of the rendered files
// must exist there with a matching kind.

interface ProtoField {
  readonly type: string;
  readonly map?: { readonly key: string; readonly value: string };
}

interface ProtoSchema {
  readonly messages: Map<string, Map<string, ProtoField>>;
  readonly enums: Map<string, Set<string>>;
}

function parseProto(source: string): ProtoSchema {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const tokens = text.match(/[A-Za-z_][\w.]*|-?\d+|"[^"]*"|[{}<>;=,()[\]]/g) ?? [];
  const schema: ProtoSchema = { messages: new Map(), enums: new Map() };
  let at = 0;
  const skipStatement = () => {
    while (tokens[at] !== ";") at++;
    at++;
  };
  const body = (scope: string, fields: Map<string, ProtoField> | undefined) => {
    while (at < tokens.length && tokens[at] !== "}") {
      const word = tokens[at];
      if (word === "message" || word === "enum") {
        const name = `${scope}${scope ? "." : ""}${tokens[at + 1]}`;
        at += 3;
        if (word === "message") {
          const inner = new Map<string, ProtoField>();
          schema.messages.set(name, inner);
          body(name, inner);
        } else {
          const values = new Set<string>();
          while (tokens[at] !== "}") {
            if (tokens[at] === "option") skipStatement();
            else {
              values.add(tokens[at]);
              skipStatement();
            }
          }
          schema.enums.set(name, values);
        }
        at++;
      } else if (word === "oneof") {
        at += 3;
        body(scope, fields);
        at++;
      } else if (
        word === "syntax" ||
        word === "package" ||
        word === "option" ||
        word === "reserved" ||
        word === "import"
      ) {
        skipStatement();
      } else if (word === "map") {
        const [key, value, name] = [tokens[at + 2], tokens[at + 4], tokens[at + 6]];
        fields?.set(name, { type: "map", map: { key, value } });
        skipStatement();
      } else {
        const offset = word === "repeated" || word === "optional" ? 1 : 0;
        fields?.set(tokens[at + offset + 1], { type: tokens[at + offset] });
        skipStatement();
      }
    }
  };
  body("", undefined);
  return schema;
}

function resolve(schema: ProtoSchema, scope: string, type: string): string {
  const parts = scope.split(".");
  for (let i = parts.length; i >= 0; i--) {
    const candidate = [...parts.slice(0, i), type].join(".");
    if (schema.messages.has(candidate) || schema.enums.has(candidate)) return candidate;
  }
  return type;
}

const PROTO_SCALARS: Record<string, Scalar["kind"]> = {
  string: "string",
  bool: "ident",
  int32: "number",
  int64: "number",
  uint32: "number",
  uint64: "number",
  float: "number",
  double: "number",
};

function schemaProblems(schema: ProtoSchema, message: string, fields: Field[], where: string): string[] {
  const problems: string[] = [];
  const known = schema.messages.get(message);
  assert.ok(known, `the proto has no message ${message}`);
  const checkValue = (type: string, value: Field["value"], at: string) => {
    const resolved = resolve(schema, message, type);
    const enumValues = schema.enums.get(resolved);
    const items =
      Array.isArray(value) && (value.length === 0 || !("name" in value[0])) ? (value as Scalar[]) : null;
    if (schema.messages.has(resolved)) {
      if (!Array.isArray(value) || (items !== null && value.length > 0))
        problems.push(`${at}: expected a ${resolved} message`);
      else problems.push(...schemaProblems(schema, resolved, value as Field[], at));
      return;
    }
    for (const item of items ?? [value as Scalar]) {
      if (enumValues !== undefined) {
        if (item.kind !== "ident" || !enumValues.has(item.value)) {
          problems.push(`${at}: '${item.value}' is not a value of ${resolved}`);
        }
      } else if (PROTO_SCALARS[type] === undefined) {
        problems.push(`${at}: unknown type ${type}`);
      } else if (
        PROTO_SCALARS[type] !== item.kind ||
        (type === "bool" && !["true", "false"].includes(String(item.value)))
      ) {
        problems.push(`${at}: '${item.value}' does not fit a ${type}`);
      }
    }
  };
  for (const field of fields) {
    const at = `${where}.${field.name}`;
    const declared = known.get(field.name);
    if (declared === undefined) {
      problems.push(`${at}: ${message} has no field '${field.name}'`);
    } else if (declared.map !== undefined) {
      const entry = field.value as Field[];
      for (const part of entry) {
        if (part.name === "key") checkValue(declared.map.key, part.value, `${at}.key`);
        else if (part.name === "value") checkValue(declared.map.value, part.value, `${at}.value`);
        else problems.push(`${at}: a map entry has no field '${part.name}'`);
      }
    } else {
      checkValue(declared.type, field.value, at);
    }
  }
  return problems;
}

describe("Triton schema", () => {
  test("every field and enum value in the rendered configs exists in model_config.proto", () => {
    const schema = parseProto(readFileSync(PROTO_PATH, "utf8"));
    assert.ok(
      schema.messages.get("ModelConfig")?.has("max_batch_size"),
      "the proto reader found ModelConfig",
    );
    assert.ok(schema.enums.get("DataType")?.has("TYPE_STRING"), "the proto reader found DataType");
    // The reader must be able to fail: a misspelt field and a bogus enum are caught.
    assert.equal(
      schemaProblems(
        schema,
        "ModelConfig",
        parseTextFormat("max_batch: 1\ninput { data_type: TYPE_TEXT }\n"),
        "probe",
      ).length,
      2,
    );
    for (const overrides of [{}, STREAMING_AND_KNOBS, LLAMA]) {
      for (const [file, contents] of render(overrides).files) {
        if (!file.endsWith(".pbtxt")) continue;
        assert.deepEqual(schemaProblems(schema, "ModelConfig", parseTextFormat(contents), file), []);
      }
    }
  });
});

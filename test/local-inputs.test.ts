// The engine and model folders a stack points at, checked against the stack: by checkLocalInputs
// directly, and through the program, which must stop before it registers any resource.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

import { checkLocalInputs } from "../components/config/local-inputs";
import { devStackLaunchOptions, devStackWorkspace, PROJECT, STACK_TYPE } from "./support/dev-stack";
import { launchProgram } from "./support/pulumi-host";
import { configWith, expectError, keys, validConfig, type Overrides } from "./support/stack-fixtures";

const scratch = mkdtempSync(path.join(tmpdir(), "local-inputs-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;

/** What trtllm-build of TensorRT-LLM 0.18 writes for Falcon-7B bf16, TP 1, batch 32, 1024 + 1024 tokens. */
function falconEngineConfig(): Record<string, Record<string, unknown>> {
  return {
    pretrained_config: {
      architecture: "FalconForCausalLM",
      dtype: "bfloat16",
      vocab_size: 65024,
      mapping: { world_size: 1, tp_size: 1, pp_size: 1 },
      quantization: { quant_algo: null, kv_cache_quant_algo: null, group_size: 128 },
    },
    build_config: { max_batch_size: 32, max_input_len: 1024, max_seq_len: 2048, max_beam_width: 1 },
  };
}

interface EngineLayout {
  readonly config?: unknown;
  /** Rank file name -> size in bytes. */
  readonly ranks?: Readonly<Record<string, number>>;
}

function engineFolder(layout: EngineLayout = {}): string {
  const dir = path.join(scratch, `engine-${counter++}`);
  mkdirSync(dir);
  for (const [name, size] of Object.entries(layout.ranks ?? { "rank0.engine": 1024 })) {
    writeFileSync(path.join(dir, name), Buffer.alloc(size, 1));
  }
  if (layout.config !== null) {
    writeFileSync(path.join(dir, "config.json"), JSON.stringify(layout.config ?? falconEngineConfig()));
  }
  return dir;
}

function snapshotFolder(files: readonly string[] = ["tokenizer.json", "tokenizer_config.json"]): string {
  const dir = path.join(scratch, `snapshot-${counter++}`);
  mkdirSync(dir);
  for (const name of files) writeFileSync(path.join(dir, name), "{}");
  return dir;
}

function check(overrides: Overrides, engineDir = engineFolder(), modelDir = snapshotFolder()) {
  return checkLocalInputs(
    validConfig({ "engine.prebuiltDir": engineDir, "model.localDir": modelDir, ...overrides }),
    scratch,
  );
}

describe("folders", () => {
  test("a Falcon engine built as the stack says, and a snapshot with its tokenizer: no errors", () => {
    assert.deepEqual(check({}), { errors: [], absent: [] });
  });

  test("folders that are not on this machine are reported apart, one per key", () => {
    const report = check({}, path.join(scratch, "no-engine"), "./no-model");
    assert.deepEqual(report.errors, []);
    expectError(report.absent, "engine.prebuiltDir", { message: [/not on this machine/, /no-engine/] });
    expectError(report.absent, "model.localDir", {
      value: "./no-model",
      message: [new RegExp(`${scratch}/no-model`)],
    });
  });

  test("a file given as a folder is an error naming it", () => {
    const file = path.join(scratch, "engine.tar");
    writeFileSync(file, "x");
    expectError(check({}, file).errors, "engine.prebuiltDir", {
      value: file,
      message: [/is a file/],
      fix: [/pulumi config set --path engine\.prebuiltDir/],
    });
  });

  test("unset keys are not checked", () => {
    const config = configWith({ "engine.prebuiltDir": undefined, "model.localDir": undefined });
    assert.deepEqual(checkLocalInputs(config, scratch), { errors: [], absent: [] });
  });
});

describe("engine folder", () => {
  test("a Llama float16 TP 2 batch-4 engine for a Falcon bf16 TP 1 batch-32 stack: one error per setting", () => {
    const config = falconEngineConfig();
    config.pretrained_config.architecture = "LlamaForCausalLM";
    config.pretrained_config.dtype = "float16";
    config.pretrained_config.mapping = { world_size: 2, tp_size: 2, pp_size: 1 };
    config.build_config.max_batch_size = 4;
    const { errors } = check({}, engineFolder({ config, ranks: { "rank0.engine": 8, "rank1.engine": 8 } }));
    assert.deepEqual(keys(errors), [
      "engine.dtype",
      "engine.maxBatchSize",
      "engine.tensorParallel",
      "model.huggingFaceId",
    ]);
    expectError(errors, "model.huggingFaceId", {
      value: "tiiuae/falcon-7b-instruct",
      message: [/falcon model/, /"LlamaForCausalLM"/, /pretrained_config\.architecture/],
    });
    expectError(errors, "engine.dtype", {
      value: "bfloat16",
      message: [/pretrained_config\.dtype "float16"/],
      fix: [/engine-by-hand/, /pulumi config set --path engine\.dtype/],
    });
    expectError(errors, "engine.tensorParallel", { value: 1, message: [/tp_size 2/] });
    expectError(errors, "engine.maxBatchSize", { value: 32, message: [/max_batch_size 4/] });
  });

  test("quantization, input length and sequence length are compared too", () => {
    const config = falconEngineConfig();
    config.pretrained_config.quantization = { quant_algo: "W8A16" };
    config.build_config.max_input_len = 512;
    config.build_config.max_seq_len = 1024;
    const { errors } = check({}, engineFolder({ config }));
    assert.deepEqual(keys(errors), ["engine.maxInputLen", "engine.maxOutputLen", "engine.quantization"]);
    expectError(errors, "engine.quantization", {
      value: "none",
      message: [/"W8A16" \(int8_weight_only\)/],
      fix: [/engine\.quantization int8_weight_only/],
    });
    expectError(errors, "engine.maxOutputLen", { message: [/= 2048/, /max_seq_len 1024/] });
  });

  test("an engine split into pipeline stages is refused: the deployment runs tensor parallelism only", () => {
    const config = falconEngineConfig();
    config.pretrained_config.mapping = { world_size: 2, tp_size: 1, pp_size: 2 };
    expectError(check({}, engineFolder({ config })).errors, "engine.prebuiltDir", {
      message: [/2 pipeline stages/, /pp_size/],
    });
  });

  test("each stack quantization matches the QuantAlgo TensorRT-LLM writes for it", () => {
    const cases: [string, string | null][] = [
      ["none", null],
      ["int4_awq", "W4A16_AWQ"],
      ["int8_weight_only", "W8A16"],
      ["int4_weight_only", "W4A16"],
    ];
    for (const [quantization, quantAlgo] of cases) {
      const config = falconEngineConfig();
      config.pretrained_config.quantization = { quant_algo: quantAlgo };
      assert.deepEqual(check({ "engine.quantization": quantization }, engineFolder({ config })).errors, []);
    }
  });

  test("a TP 8 stack with only rank0.engine names the missing ranks", () => {
    const overrides = {
      "model.huggingFaceId": "tiiuae/falcon-40b-instruct",
      "deployment.shape": "BM.GPU4.8",
      "engine.tensorParallel": 8,
    };
    const config = falconEngineConfig();
    config.pretrained_config.mapping = { world_size: 8, tp_size: 8, pp_size: 1 };
    const error = expectError(check(overrides, engineFolder({ config })).errors, "engine.prebuiltDir", {
      message: [/has no rank1\.engine, .*rank7\.engine/, /engine\.tensorParallel 8/],
    });
    assert.doesNotMatch(error.message, /has no rank0/);
  });

  test("a 0-byte engine is refused", () => {
    expectError(check({}, engineFolder({ ranks: { "rank0.engine": 0 } })).errors, "engine.prebuiltDir", {
      message: [/empty rank0\.engine/],
    });
  });

  test("no config.json, a broken one, or one trtllm-build did not write", () => {
    expectError(check({}, engineFolder({ config: null })).errors, "engine.prebuiltDir", {
      message: [/has no config\.json/],
    });
    const dir = engineFolder();
    writeFileSync(path.join(dir, "config.json"), "{ not json");
    expectError(check({}, dir).errors, "engine.prebuiltDir", { message: [/not valid JSON/] });
    expectError(
      check({}, engineFolder({ config: { build_config: { max_batch_size: 32 } } })).errors,
      "engine.prebuiltDir",
      { message: [/without pretrained_config\.architecture, pretrained_config\.dtype/, /trtllm-build/] },
    );
  });
});

describe("model snapshot", () => {
  test("a snapshot without tokenizer files names what AutoTokenizer needs and how to download it", () => {
    expectError(check({}, undefined, snapshotFolder(["model.safetensors"])).errors, "model.localDir", {
      message: [/tokenizer\.json \(or tokenizer\.model\)/, /tokenizer_config\.json \(or config\.json\)/],
      fix: [/huggingface-cli download tiiuae\/falcon-7b-instruct --revision main/],
    });
  });

  test("a SentencePiece snapshot (tokenizer.model + config.json) is enough", () => {
    assert.deepEqual(check({}, undefined, snapshotFolder(["tokenizer.model", "config.json"])).errors, []);
  });

  test("a Hugging Face cache snapshot (links into blobs/) is accepted; a link to a missing blob is not", () => {
    const cache = path.join(scratch, `models--tiiuae--falcon-7b-instruct-${counter++}`);
    const snapshot = path.join(cache, "snapshots", "rev1");
    mkdirSync(snapshot, { recursive: true });
    mkdirSync(path.join(cache, "blobs"));
    writeFileSync(path.join(cache, "blobs", "aaa"), "{}");
    symlinkSync("../../blobs/aaa", path.join(snapshot, "tokenizer.json"));
    symlinkSync("../../blobs/bbb", path.join(snapshot, "tokenizer_config.json"));
    expectError(check({}, undefined, snapshot).errors, "model.localDir", {
      message: [/tokenizer_config\.json/],
    });
    writeFileSync(path.join(cache, "blobs", "bbb"), "{}");
    assert.deepEqual(check({}, undefined, snapshot).errors, []);
  });
});

describe("the program", { timeout: 240_000 }, () => {
  test("a mismatched engine stops preview before any resource is registered, naming every key", async () => {
    const workspace = devStackWorkspace();
    writeFileSync(
      path.join(workspace.engineDir, "config.json"),
      JSON.stringify({
        ...falconEngineConfig(),
        build_config: { max_batch_size: 4, max_input_len: 1024, max_seq_len: 2048 },
      }),
    );
    rmSync(path.join(workspace.modelDir, "tokenizer.json"));
    // The folders are named here rather than taken from the dev stack's launch options.
    const folders = {
      [`${PROJECT}:engine`]: JSON.stringify({ maxBatchSize: 32, prebuiltDir: workspace.engineDir }),
      [`${PROJECT}:model`]: JSON.stringify({
        huggingFaceId: "tiiuae/falcon-7b-instruct",
        localDir: workspace.modelDir,
      }),
    };
    const result = await launchProgram({
      ...(await devStackLaunchOptions(folders, workspace)),
      timeoutMs: 120_000,
    });
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual(
      result.resources.filter((r) => r.type !== STACK_TYPE).map((r) => r.type),
      [],
    );
    const output = result.stderr + result.logs.map((log) => log.message).join("\n");
    assert.match(output, /engine\.maxBatchSize = 32: does not match the engine/);
    assert.match(output, /model\.localDir = .*has no tokenizer\.json/);
    assert.doesNotMatch(output, / {4}at /, "a user error is reported without a stack trace");
  });

  test("pulumi up refuses the committed placeholder OCIDs and folders that are not on this machine", async () => {
    const options = await devStackLaunchOptions({
      [`${PROJECT}:model`]: JSON.stringify({
        huggingFaceId: "tiiuae/falcon-7b-instruct",
        localDir: "/nowhere",
      }),
    });
    const result = await launchProgram({ ...options, dryRun: false, timeoutMs: 120_000 });
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual(
      result.resources.filter((r) => r.type !== STACK_TYPE).map((r) => r.type),
      [],
    );
    const output = result.stderr + result.logs.map((log) => log.message).join("\n");
    assert.match(output, /compartmentId = "ocid1\.compartment\.oc1\.\.aaaaaaaaexample.*placeholder/);
    assert.match(output, /tenancyId = .*placeholder/);
    assert.match(output, /model\.localDir = "\/nowhere": is not on this machine/);
  });
});

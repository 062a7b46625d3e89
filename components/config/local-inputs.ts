/**
 * The folders a stack points at on this machine, checked against the stack before anything is
 * created: `engine.prebuiltDir` (an engine built by hand) and `model.localDir` (the model snapshot
 * the tokenizer files come from). Each is checked only when it is set. A folder that is not on this
 * machine (a pull-request pipeline checks the committed stack file) is reported apart: a note for
 * `check`, an error for the program, which packs from it.
 *
 * The engine's `config.json` is read in the layout TensorRT-LLM 0.18 writes (`trtllm-build`, then
 * `Engine.save` in tensorrt_llm/builder.py): `{version, pretrained_config, build_config}`, with
 * `pretrained_config.{architecture, dtype, mapping.tp_size, quantization.quant_algo}` and
 * `build_config.{max_batch_size, max_input_len, max_seq_len}`, and one `rank<N>.engine` per rank.
 */
import { quoted } from "./quoting";
import { existsSync, readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import path from "node:path";
import type { ModelFamily, Quantization } from "./catalog";
import type { ParseResult } from "./config";
import { withGoodSettings } from "./draft";
import type { ConfigError, StackConfig } from "./schema";

export interface LocalInputsReport {
  /** What is wrong with folders that are here. */
  readonly errors: ConfigError[];
  /** Folders that are set but not on this machine: notes for `check`, errors for `pulumi up`. */
  readonly absent: ConfigError[];
}

// tensorrt_llm/models/__init__.py MODEL_MAP (v0.18): the architecture names each of our families'
// converters write. Falcon's converter keeps the Hugging Face name, which older snapshots spell
// RWForCausalLM; Mistral goes through the llama converter under its own name.
const ARCHITECTURE_FAMILIES: Readonly<Record<string, ModelFamily>> = {
  FalconForCausalLM: "falcon",
  RWForCausalLM: "falcon",
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "llama",
};

// tensorrt_llm/quantization/mode.py QuantAlgo (v0.18) for each of our schemes; `none` is written as
// null (or NO_QUANT). SmoothQuant has one name per scaling variant.
function quantizationOf(quantAlgo: unknown): Quantization | undefined {
  if (quantAlgo === null || quantAlgo === undefined || quantAlgo === "NO_QUANT") return "none";
  if (quantAlgo === "FP8") return "fp8";
  if (quantAlgo === "W4A16_AWQ") return "int4_awq";
  if (quantAlgo === "W8A16") return "int8_weight_only";
  if (quantAlgo === "W4A16") return "int4_weight_only";
  if (typeof quantAlgo === "string" && quantAlgo.startsWith("W8A8_SQ_")) return "int8_sq";
  return undefined;
}

const BY_HAND = "docs/engine-by-hand.md";

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The folder a key names, or the reason it cannot be checked. */
function folderOf(
  key: string,
  given: string,
  baseDir: string,
  report: { errors: ConfigError[]; absent: ConfigError[] },
): string | undefined {
  const folder = path.resolve(baseDir, given);
  const stats = statOrUndefined(folder);
  if (stats === undefined) {
    report.absent.push({
      key,
      value: given,
      message: `is not on this machine (${quoted(folder)}), so it was not checked`,
      fix: `run where the folder is, or copy it here; pulumi up packs from it and fails without it`,
    });
    return undefined;
  }
  if (!stats.isDirectory()) {
    report.errors.push({
      key,
      value: given,
      message: `is a file (${quoted(folder)}), not a folder`,
      fix: `point it at the folder: pulumi config set --path ${key} <folder>`,
    });
    return undefined;
  }
  return folder;
}

function readEngineConfig(file: string): { config?: Record<string, unknown>; problem?: string } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return {
      problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      return { config: parsed as Record<string, unknown> };
    }
    return { problem: "is not a JSON object" };
  } catch (error) {
    return { problem: `is not valid JSON (${(error as Error).message})` };
  }
}

function field(root: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = root;
  for (const part of dotted.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The engine folder's rank files and config.json against the stack's engine.* settings. */
function checkEngineFolder(config: StackConfig, folder: string): ConfigError[] {
  const errors: ConfigError[] = [];
  const given = config.engine.prebuiltDir;
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    return [
      {
        key: "engine.prebuiltDir",
        value: given,
        message: `cannot be listed (${quoted(folder)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        fix: "make the folder readable by this user",
      },
    ];
  }
  const tp = config.engine.tensorParallel;
  const expectedRanks = Array.from({ length: tp }, (_, rank) => `rank${rank}.engine`);
  const missing = expectedRanks.filter((name) => !names.includes(name));
  if (missing.length > 0) {
    errors.push({
      key: "engine.prebuiltDir",
      value: given,
      message: `has no ${missing.join(", ")}: engine.tensorParallel ${tp} needs one rank<N>.engine per GPU (${expectedRanks.join(", ")}) in ${quoted(folder)}`,
      fix: `copy the whole trtllm-build output folder here, or build with TP=${tp} (${BY_HAND})`,
    });
  }
  const empty = expectedRanks.filter(
    (name) => names.includes(name) && statOrUndefined(path.join(folder, name))?.size === 0,
  );
  if (empty.length > 0) {
    errors.push({
      key: "engine.prebuiltDir",
      value: given,
      message: `holds empty ${empty.join(", ")} in ${quoted(folder)}: a build or copy did not finish`,
      fix: `copy the engine again, or rebuild it (${BY_HAND})`,
    });
  }
  const configFile = path.join(folder, "config.json");
  if (!names.includes("config.json")) {
    errors.push({
      key: "engine.prebuiltDir",
      value: given,
      message: `has no config.json in ${quoted(folder)}: the TensorRT-LLM backend reads the engine's build settings from it`,
      fix: "copy config.json from the trtllm-build output folder beside the rank<N>.engine files",
    });
    return errors;
  }
  const read = readEngineConfig(configFile);
  if (read.config === undefined) {
    errors.push({
      key: "engine.prebuiltDir",
      value: given,
      message: `has a config.json that ${read.problem ?? "cannot be used"} (${quoted(configFile)})`,
      fix: "copy config.json again from the trtllm-build output folder",
    });
    return errors;
  }
  return [...errors, ...engineConfigMismatches(config, read.config, configFile)];
}

/**
 * Where the engine's config.json disagrees with the stack: one error per setting, naming the stack's
 * key, both values and the two ways to make them agree.
 */
function engineConfigMismatches(
  config: StackConfig,
  engineConfig: Record<string, unknown>,
  configFile: string,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const rebuild = `rebuild the engine with the stack's settings (${BY_HAND})`;
  const absent: string[] = [];
  const compare = (
    key: string,
    stackValue: unknown,
    jsonPath: string,
    engineValue: unknown,
    setHint: string,
  ): void => {
    if (engineValue === undefined) {
      absent.push(jsonPath);
      return;
    }
    if (engineValue === stackValue) return;
    errors.push({
      key,
      value: stackValue,
      message: `does not match the engine: ${quoted(configFile)} has ${jsonPath} ${JSON.stringify(engineValue)}`,
      fix: `${rebuild}, or, if the engine is the one you want, ${setHint}`,
    });
  };

  const architecture = field(engineConfig, "pretrained_config.architecture");
  const family = config.model.resolved.family;
  if (architecture === undefined) {
    absent.push("pretrained_config.architecture");
  } else if (ARCHITECTURE_FAMILIES[String(architecture)] !== family) {
    errors.push({
      key: "model.huggingFaceId",
      value: config.model.huggingFaceId,
      message: `is a ${family} model, but the engine was built from ${JSON.stringify(architecture)} (pretrained_config.architecture in ${quoted(configFile)})`,
      fix: `point engine.prebuiltDir at an engine built from ${config.model.huggingFaceId}, or set model.huggingFaceId to the model the engine was built from`,
    });
  }
  compare(
    "engine.dtype",
    config.engine.dtype,
    "pretrained_config.dtype",
    field(engineConfig, "pretrained_config.dtype"),
    "pulumi config set --path engine.dtype <its dtype>",
  );
  const quantization = field(engineConfig, "pretrained_config.quantization");
  if (quantization === undefined) {
    absent.push("pretrained_config.quantization");
  } else {
    const quantAlgo = field(engineConfig, "pretrained_config.quantization.quant_algo");
    const engineScheme = quantizationOf(quantAlgo);
    if (engineScheme !== config.engine.quantization) {
      errors.push({
        key: "engine.quantization",
        value: config.engine.quantization,
        message: `does not match the engine: ${quoted(configFile)} has pretrained_config.quantization.quant_algo ${JSON.stringify(quantAlgo ?? null)}${engineScheme ? ` (${engineScheme})` : ""}`,
        fix: `${rebuild}, or, if the engine is the one you want, ${
          engineScheme
            ? `pulumi config set --path engine.quantization ${engineScheme}`
            : "build one with a scheme this stack supports"
        }`,
      });
    }
  }
  compare(
    "engine.tensorParallel",
    config.engine.tensorParallel,
    "pretrained_config.mapping.tp_size",
    field(engineConfig, "pretrained_config.mapping.tp_size"),
    "pulumi config set --path engine.tensorParallel <its tp_size>",
  );
  const pipelineStages = field(engineConfig, "pretrained_config.mapping.pp_size");
  if (pipelineStages !== undefined && pipelineStages !== 1) {
    errors.push({
      key: "engine.prebuiltDir",
      value: config.engine.prebuiltDir,
      message: `holds an engine split into ${JSON.stringify(pipelineStages)} pipeline stages (pretrained_config.mapping.pp_size in ${quoted(configFile)}); the deployment runs one MPI rank per tensor-parallel GPU only`,
      fix: `${rebuild} without --pp_size`,
    });
  }
  compare(
    "engine.maxBatchSize",
    config.engine.maxBatchSize,
    "build_config.max_batch_size",
    field(engineConfig, "build_config.max_batch_size"),
    "pulumi config set --path engine.maxBatchSize <its max_batch_size> (the engine's value wins at run time)",
  );
  compare(
    "engine.maxInputLen",
    config.engine.maxInputLen,
    "build_config.max_input_len",
    field(engineConfig, "build_config.max_input_len"),
    "pulumi config set --path engine.maxInputLen <its max_input_len>",
  );
  const seqLen = config.engine.maxInputLen + config.engine.maxOutputLen;
  const engineSeqLen = field(engineConfig, "build_config.max_seq_len");
  if (engineSeqLen === undefined) {
    absent.push("build_config.max_seq_len");
  } else if (engineSeqLen !== seqLen) {
    errors.push({
      key: "engine.maxOutputLen",
      value: config.engine.maxOutputLen,
      message: `does not match the engine: engine.maxInputLen + engine.maxOutputLen = ${seqLen}, but ${quoted(configFile)} has build_config.max_seq_len ${JSON.stringify(engineSeqLen)}`,
      fix: `${rebuild}, or, if the engine is the one you want, set engine.maxOutputLen to its max_seq_len minus engine.maxInputLen`,
    });
  }
  if (absent.length > 0) {
    errors.push({
      key: "engine.prebuiltDir",
      value: config.engine.prebuiltDir,
      message: `has a config.json without ${absent.join(", ")} (${quoted(configFile)}): it was not written by trtllm-build of TensorRT-LLM 0.18`,
      fix: `copy config.json from the trtllm-build output folder, or rebuild the engine (${BY_HAND})`,
    });
  }
  return errors;
}

/**
 * What AutoTokenizer.from_pretrained needs from the folder the pre- and postprocessing models load:
 * the tokenizer itself (the fast tokenizer's tokenizer.json, or a SentencePiece tokenizer.model),
 * and tokenizer_config.json or config.json to pick the tokenizer class. `existsSync` follows links,
 * so a Hugging Face cache snapshot whose blob was never downloaded counts as missing.
 */
function checkSnapshotFolder(config: StackConfig, folder: string): ConfigError[] {
  const has = (name: string): boolean => existsSync(path.join(folder, name));
  const missing: string[] = [];
  if (!has("tokenizer.json") && !has("tokenizer.model")) missing.push("tokenizer.json (or tokenizer.model)");
  if (!has("tokenizer_config.json") && !has("config.json"))
    missing.push("tokenizer_config.json (or config.json)");
  if (missing.length === 0) return [];
  return [
    {
      key: "model.localDir",
      value: config.model.localDir,
      message: `has no ${missing.join(" and ")} in ${quoted(folder)}: the pre- and postprocessing models load the tokenizer from these files`,
      fix: `download the snapshot: huggingface-cli download ${config.model.huggingFaceId} --revision ${config.model.revision} --local-dir <dir>, and point model.localDir at it`,
    },
  ];
}

/** Checks each of engine.prebuiltDir and model.localDir that is set; relative paths are taken from baseDir. */
export function checkLocalInputs(config: StackConfig, baseDir: string): LocalInputsReport {
  const report = { errors: [] as ConfigError[], absent: [] as ConfigError[] };
  if (config.engine.prebuiltDir !== undefined) {
    const folder = folderOf("engine.prebuiltDir", config.engine.prebuiltDir, baseDir, report);
    if (folder !== undefined) report.errors.push(...checkEngineFolder(config, folder));
  }
  if (config.model.localDir !== undefined) {
    const folder = folderOf("model.localDir", config.model.localDir, baseDir, report);
    if (folder !== undefined) report.errors.push(...checkSnapshotFolder(config, folder));
  }
  return report;
}

/**
 * The folder checks for a parse result: on the configuration when it is valid, otherwise on its good
 * settings, so a folder problem is reported in the same pass as the configuration's errors.
 */
export function checkLocalInputsOf(result: ParseResult, baseDir: string): LocalInputsReport {
  if (result.config !== undefined) return checkLocalInputs(result.config, baseDir);
  const fromDraft =
    result.draft && withGoodSettings(result.draft, (config) => checkLocalInputs(config, baseDir));
  return fromDraft ?? { errors: [], absent: [] };
}

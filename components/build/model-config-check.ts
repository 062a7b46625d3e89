/**
 * The model itself against what the stack declares, before any GPU time is spent on it: the fields
 * of the model's Hugging Face `config.json` that TensorRT-LLM's converter for the family reads, and
 * the values the stack's architecture (the catalogue's entry, or `model.architecture`) gives them.
 * Pure. One rule for the two places that compare: `check --online` (operations/check.ts) evaluates
 * it with `configMismatches`, and the build host receives the same list as `HF_CONFIG_EXPECT` in
 * build.env (host-plan.ts `buildSettings`) and evaluates it with jq the same way
 * (engine-build/steps/model-config.sh `hub_config_problems`), before the image pull and the weights.
 */
import type { ModelArchitecture, ModelFamily } from "../config/catalog";

/** One field of config.json and the values the stack allows it. */
export interface ConfigExpectation {
  /** The config.json key named in messages. */
  readonly field: string;
  /** Where the value may be, in order: the key, then the older names the converter also reads. */
  readonly keys: readonly string[];
  readonly allowed: readonly (string | number)[];
  /** The stack setting that decides `allowed`: what to fix when the model disagrees. */
  readonly stackKey: string;
}

/** A field whose value is not allowed; `found` is null where config.json has none of its keys. */
export interface ConfigMismatch {
  readonly field: string;
  readonly found: string | number | null;
  readonly allowed: readonly (string | number)[];
  readonly stackKey: string;
}

/**
 * What each family's converter builds, as config.json names it.
 *
 * falcon: TensorRT-LLM's `FalconConfig.from_hugging_face` (tensorrt_llm/models/falcon/config.py)
 * takes `model_type` "falcon" and the two names of the original remote-code configs, "RefinedWeb"
 * (Falcon-40B) and "RefinedWebModel" (Falcon-7B), and raises for any other; those original
 * repositories name their class `RWForCausalLM`.
 *
 * llama: TensorRT-LLM's MODEL_MAP (tensorrt_llm/models/__init__.py) builds `LlamaForCausalLM` and
 * `MistralForCausalLM` with its LLaMA model, the two the catalogue lists for the family (model_type
 * "llama" and "mistral"). It routes more architectures there (Mixtral, InternLM, ...), but this
 * project sizes dense Llama-style models only.
 */
export const FAMILY_CONFIG_NAMES: Readonly<
  Record<ModelFamily, { readonly architectures: readonly string[]; readonly modelTypes: readonly string[] }>
> = {
  falcon: {
    architectures: ["FalconForCausalLM", "RWForCausalLM"],
    modelTypes: ["falcon", "RefinedWeb", "RefinedWebModel"],
  },
  llama: {
    architectures: ["LlamaForCausalLM", "MistralForCausalLM"],
    modelTypes: ["llama", "mistral"],
  },
};

/** The model settings the comparison reads (a validated StackConfig's `model`). */
export interface DeclaredModel {
  readonly huggingFaceId: string;
  /** Set when the stack declares the architecture itself; else it comes from the catalogue. */
  readonly architecture?: ModelArchitecture;
  readonly resolved: ModelArchitecture;
}

/**
 * The fields compared and the values allowed. The sizes are read under the names the converters
 * read: `hidden_size` everywhere; heads and layers as `num_attention_heads` / `num_hidden_layers`,
 * or `n_head` / `n_layer` in the original Falcon configs (FalconConfig.from_hugging_face copies
 * those for both RefinedWeb types; the Llama converter reads the first names only,
 * tensorrt_llm/models/llama/config.py `LLaMAConfig.from_hugging_face`).
 */
export function configExpectations(model: DeclaredModel): ConfigExpectation[] {
  const declared = model.architecture !== undefined;
  const at = (field: keyof ModelArchitecture) =>
    declared ? `model.architecture.${field}` : "model.huggingFaceId";
  const { resolved } = model;
  const names = FAMILY_CONFIG_NAMES[resolved.family];
  return [
    {
      field: "architectures",
      keys: ["architectures"],
      allowed: names.architectures,
      stackKey: at("family"),
    },
    { field: "model_type", keys: ["model_type"], allowed: names.modelTypes, stackKey: at("family") },
    {
      field: "hidden_size",
      keys: ["hidden_size"],
      allowed: [resolved.hiddenSize],
      stackKey: at("hiddenSize"),
    },
    {
      field: "num_attention_heads",
      keys: ["num_attention_heads", "n_head"],
      allowed: [resolved.queryHeads],
      stackKey: at("queryHeads"),
    },
    {
      field: "num_hidden_layers",
      keys: ["num_hidden_layers", "n_layer"],
      allowed: [resolved.layers],
      stackKey: at("layers"),
    },
  ];
}

/**
 * The value of a field: the first of its keys that config.json holds (not null); of a list, its
 * first element, the class TensorRT-LLM builds (`hf_config.architectures[0]`,
 * LLaMAConfig.from_hugging_face). A value that is neither a string nor a number reads as absent.
 */
function fieldValue(
  config: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): string | number | null {
  for (const key of keys) {
    if (!Object.hasOwn(config, key) || config[key] === null) continue;
    const value = Array.isArray(config[key]) ? (config[key] as unknown[])[0] : config[key];
    return typeof value === "string" || typeof value === "number" ? value : null;
  }
  return null;
}

/** Each expected field's value in config.json, by the rule of `fieldValue`; null for all when it is not an object. */
export function configFields(
  expectations: readonly ConfigExpectation[],
  config: unknown,
): Record<string, string | number | null> {
  const object =
    typeof config === "object" && config !== null && !Array.isArray(config)
      ? (config as Record<string, unknown>)
      : {};
  return Object.fromEntries(
    expectations.map((expectation) => [expectation.field, fieldValue(object, expectation.keys)]),
  );
}

/** Every expectation config.json does not meet; all of them when it is not a JSON object. */
export function configMismatches(
  expectations: readonly ConfigExpectation[],
  config: unknown,
): ConfigMismatch[] {
  const fields = configFields(expectations, config);
  return expectations.flatMap((expectation) => {
    const found = fields[expectation.field];
    return found !== null && expectation.allowed.includes(found)
      ? []
      : [{ field: expectation.field, found, allowed: expectation.allowed, stackKey: expectation.stackKey }];
  });
}

/** `hidden_size = 3584 (the stack says 4096)`: one mismatch, as both the host and `check` print it. */
export function describeMismatch(mismatch: ConfigMismatch): string {
  const found = mismatch.found === null ? "absent" : JSON.stringify(mismatch.found);
  const allowed = mismatch.allowed.map((value) => JSON.stringify(value)).join(" or ");
  return `${mismatch.field} = ${found} (the stack says ${allowed})`;
}

/** Where the Hub serves huggingface_hub's own download of the file (`hf_hub_url`). */
export const HUB_ENDPOINT = "https://huggingface.co";

/**
 * The URL of config.json at a revision, as huggingface_hub v0.30.2 builds it
 * (file_download.py:256-257 `hf_hub_url`: `{endpoint}/{repo_id}/resolve/{revision}/{filename}`,
 * the revision quoted with no safe character, so `refs/pr/1` becomes `refs%2Fpr%2F1`).
 */
export function hubConfigUrl(
  huggingFaceId: string,
  revision: string,
  endpoint: string = HUB_ENDPOINT,
): string {
  return `${endpoint.replace(/\/+$/, "")}/${huggingFaceId}/resolve/${encodeURIComponent(revision)}/config.json`;
}

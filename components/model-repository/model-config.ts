/**
 * The subset of Triton's `ModelConfig` message (model_config.proto) this stack writes, as typed
 * data, and its serializer to protobuf text format (`config.pbtxt`). Field names here are
 * camelCase; the serializer maps each one to its proto name explicitly, so an enum can never be
 * printed as a quoted string or a string left unquoted.
 */

/** `inference.DataType`, without TYPE_INVALID (Triton rejects it). */
export type DataType =
  | "TYPE_BOOL"
  | "TYPE_UINT8"
  | "TYPE_UINT16"
  | "TYPE_UINT32"
  | "TYPE_UINT64"
  | "TYPE_INT8"
  | "TYPE_INT16"
  | "TYPE_INT32"
  | "TYPE_INT64"
  | "TYPE_FP16"
  | "TYPE_FP32"
  | "TYPE_FP64"
  | "TYPE_STRING"
  | "TYPE_BF16";

/** `inference.ModelInstanceGroup.Kind`. */
export type InstanceKind = "KIND_AUTO" | "KIND_GPU" | "KIND_CPU" | "KIND_MODEL";

/** -1 marks a variable-size dimension. */
export type Dims = readonly number[];

export interface ModelInput {
  readonly name: string;
  readonly dataType: DataType;
  /** Without the batch dimension, which Triton adds when `maxBatchSize` > 0. */
  readonly dims: Dims;
  /** How the backend sees the tensor; `[]` turns a `[1]` tensor into a scalar per batch row. */
  readonly reshape?: Dims;
  readonly optional?: boolean;
  readonly allowRaggedBatch?: boolean;
}

export interface ModelOutput {
  readonly name: string;
  readonly dataType: DataType;
  readonly dims: Dims;
  readonly reshape?: Dims;
}

export interface InstanceGroup {
  readonly count: number;
  readonly kind: InstanceKind;
}

export interface DynamicBatching {
  readonly maxQueueDelayMicroseconds?: number;
  /** `default_queue_policy.max_queue_size`; 0 means unbounded. */
  readonly maxQueueSize?: number;
}

export interface EnsembleStep {
  readonly modelName: string;
  /** -1 selects the newest loaded version. */
  readonly modelVersion: number;
  /** Step model input name -> ensemble tensor name. */
  readonly inputMap: Readonly<Record<string, string>>;
  /** Step model output name -> ensemble tensor name. */
  readonly outputMap: Readonly<Record<string, string>>;
}

export interface ModelConfig {
  readonly name: string;
  /** Exactly one of `backend` (a Triton backend) and `platform` ("ensemble"). */
  readonly backend?: string;
  readonly platform?: string;
  readonly maxBatchSize: number;
  readonly input: readonly ModelInput[];
  readonly output: readonly ModelOutput[];
  readonly instanceGroup?: readonly InstanceGroup[];
  readonly dynamicBatching?: DynamicBatching;
  readonly decoupled?: boolean;
  /** `map<string, ModelParameter>`: every value travels as `string_value`. */
  readonly parameters?: Readonly<Record<string, string>>;
  readonly ensembleSteps?: readonly EnsembleStep[];
}

/**
 * A protobuf text-format string literal. Everything outside printable ASCII is written as octal
 * escapes of its UTF-8 bytes, which every text-format parser reads back byte for byte; commas and
 * other punctuation need no escaping inside the quotes.
 */
export function quote(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += "\\\\";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (byte === 0x09) out += "\\t";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return `${out}"`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Writes one message's fields, two spaces per nesting level. */
class TextWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  scalar(name: string, text: string): void {
    this.lines.push(`${"  ".repeat(this.depth)}${name}: ${text}`);
  }

  string(name: string, value: string): void {
    this.scalar(name, quote(value));
  }

  enumValue(name: string, value: string): void {
    if (!IDENTIFIER.test(value)) throw new Error(`${name}: '${value}' is not an enum value name`);
    this.scalar(name, value);
  }

  integer(name: string, value: number, min: number): void {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new Error(`${name}: ${value} is not a whole number >= ${min}`);
    }
    this.scalar(name, String(value));
  }

  bool(name: string, value: boolean): void {
    this.scalar(name, value ? "true" : "false");
  }

  /** Repeated integers in list form; an empty list is simply absent. */
  integers(name: string, values: Dims): void {
    for (const value of values) {
      if (!Number.isSafeInteger(value)) throw new Error(`${name}: ${value} is not a whole number`);
    }
    if (values.length > 0) this.scalar(name, `[ ${values.join(", ")} ]`);
  }

  message(name: string, body: () => void): void {
    this.lines.push(`${"  ".repeat(this.depth)}${name} {`);
    this.depth++;
    body();
    this.depth--;
    this.lines.push(`${"  ".repeat(this.depth)}}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function writeTensor(w: TextWriter, tensor: ModelInput | ModelOutput): void {
  w.string("name", tensor.name);
  w.enumValue("data_type", tensor.dataType);
  if (tensor.dims.length === 0) throw new Error(`tensor '${tensor.name}' must have dims`);
  w.integers("dims", tensor.dims);
  const reshape = tensor.reshape;
  if (reshape !== undefined) w.message("reshape", () => w.integers("shape", reshape));
}

/** Serialize one model's configuration as Triton reads `config.pbtxt`. */
export function toTextFormat(config: ModelConfig): string {
  if ((config.backend === undefined) === (config.platform === undefined)) {
    throw new Error(`model '${config.name}' must set exactly one of backend and platform`);
  }
  const w = new TextWriter();
  w.string("name", config.name);
  if (config.backend !== undefined) w.string("backend", config.backend);
  if (config.platform !== undefined) w.string("platform", config.platform);
  w.integer("max_batch_size", config.maxBatchSize, 0);
  if (config.decoupled !== undefined) {
    const decoupled = config.decoupled;
    w.message("model_transaction_policy", () => w.bool("decoupled", decoupled));
  }
  const batching = config.dynamicBatching;
  if (batching !== undefined) {
    w.message("dynamic_batching", () => {
      if (batching.maxQueueDelayMicroseconds !== undefined) {
        w.integer("max_queue_delay_microseconds", batching.maxQueueDelayMicroseconds, 0);
      }
      const maxQueueSize = batching.maxQueueSize;
      if (maxQueueSize !== undefined) {
        w.message("default_queue_policy", () => w.integer("max_queue_size", maxQueueSize, 0));
      }
    });
  }
  for (const input of config.input) {
    w.message("input", () => {
      writeTensor(w, input);
      if (input.optional) w.bool("optional", true);
      if (input.allowRaggedBatch) w.bool("allow_ragged_batch", true);
    });
  }
  for (const output of config.output) w.message("output", () => writeTensor(w, output));
  for (const group of config.instanceGroup ?? []) {
    w.message("instance_group", () => {
      w.integer("count", group.count, 1);
      w.enumValue("kind", group.kind);
    });
  }
  for (const [key, value] of Object.entries(config.parameters ?? {})) {
    w.message("parameters", () => {
      w.string("key", key);
      w.message("value", () => w.string("string_value", value));
    });
  }
  const steps = config.ensembleSteps;
  if (steps !== undefined) {
    w.message("ensemble_scheduling", () => {
      for (const step of steps) {
        w.message("step", () => {
          w.string("model_name", step.modelName);
          w.integer("model_version", step.modelVersion, -1);
          for (const [field, map] of [
            ["input_map", step.inputMap],
            ["output_map", step.outputMap],
          ] as const) {
            for (const [key, value] of Object.entries(map)) {
              w.message(field, () => {
                w.string("key", key);
                w.string("value", value);
              });
            }
          }
        });
      }
    });
  }
  return w.text();
}

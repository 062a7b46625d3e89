/**
 * Stack configuration: one schema, parsed once, every problem reported together as data. The
 * program (`index.ts`) and the offline `check` both come through `parseStackConfig`, so a stack file
 * that passes `check` is exactly a stack file the program accepts.
 */
import { z } from "zod";
import {
  EngineDtype,
  findShape,
  GPU_SHAPES,
  MODELS,
  ModelArchitecture,
  QUANTIZATIONS,
  Quantization,
} from "./catalog";
import { type Rule, RULES, WARNING_RULES } from "./rules";

export const PROJECT = "triton-trtllm-oci";

/** One problem with the configuration, kept as data until it is printed or thrown. */
export interface ConfigError {
  /** Dotted config key, e.g. `engine.quantization`. */
  readonly key: string;
  readonly value: unknown;
  readonly message: string;
  readonly fix: string;
}

export const SECRET_KEYS = ["ocirUsername", "ocirAuthToken", "hfToken"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
/** Secrets the image push cannot do without; `hfToken` is only for gated models. */
export const REQUIRED_SECRETS: readonly SecretKey[] = ["ocirUsername", "ocirAuthToken"];

/** What a config source hands over: the project's keys (secrets excluded) and the provider's region. */
export interface RawStackConfig {
  readonly values: Readonly<Record<string, unknown>>;
  readonly ociRegion?: string;
  /** Names of the secret keys that are set, never their values. */
  readonly secretsSet: ReadonlySet<string>;
  /** Every key outside the project's namespace, in full (`oci:region`, `docker:host`...). */
  readonly otherKeys?: readonly string[];
}

const OCID = /^ocid1\.([a-z0-9]+)\.(oc[0-9]+)\.[a-z0-9-]*\.[a-z0-9]{20,}$/;
const HF_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REGION = /^[a-z]{2,}(-[a-z]+)+-[0-9]+$/;

// Pulumi hands every value over as a string unless it sits inside an object, and YAML lets users
// quote numbers: accept "9000" and 9000 alike, but nothing else.
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.int().min(min).max(max),
  );
const fraction = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" && !isNaN(Number(v)) ? Number(v) : v),
  z.number().gt(0).lte(1),
);
const flag = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const ocid = (...types: string[]) =>
  z.string().refine(
    (v) => {
      const match = OCID.exec(v);
      return match !== null && types.includes(match[1]);
    },
    `not an OCID of type ${types.join(" or ")}`,
  );

const architectureSchema = z.strictObject({
  family: z.enum(["falcon", "llama"]),
  layers: integer(1),
  hiddenSize: integer(1),
  queryHeads: integer(1),
  kvHeads: integer(1),
  intermediateSize: integer(1),
  vocabSize: integer(1),
  contextLength: integer(1),
  parameterCount: z.number().positive(),
  eosTokenId: integer(0),
  padTokenId: integer(0),
});

const DEFAULT_IMAGE_SOURCE = "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3";

const schema = z.strictObject({
  compartmentId: ocid("compartment", "tenancy"),
  /** The tenancy (root compartment): dynamic groups can only live there. */
  tenancyId: ocid("tenancy").optional(),
  projectId: ocid("datascienceproject").optional(),
  model: z
    .strictObject({
      huggingFaceId: z
        .string()
        .regex(HF_ID, "not a Hugging Face id of the form owner/name")
        .default("tiiuae/falcon-7b-instruct"),
      revision: z.string().min(1).default("main"),
      localDir: z.string().min(1).optional(),
      architecture: architectureSchema.optional(),
    })
    .prefault({}),
  engine: z
    .strictObject({
      dtype: z.enum(["float16", "bfloat16"]).default("bfloat16"),
      quantization: z.enum(QUANTIZATIONS as [Quantization, ...Quantization[]]).default("none"),
      tensorParallel: integer(1, 64).default(1),
      maxBatchSize: integer(1, 4096).default(32),
      maxInputLen: integer(1).default(1024),
      maxOutputLen: integer(1).default(1024),
      prebuiltDir: z.string().min(1).optional(),
    })
    .prefault({}),
  build: z
    .strictObject({
      shape: z.string().optional(),
      sshAllowedCidr: z.string().optional(),
      keepInstance: flag.default(false),
      subnetId: ocid("subnet").optional(),
      availabilityDomain: z.string().min(1).optional(),
    })
    .prefault({}),
  image: z
    .strictObject({
      source: z.string().min(1).default(DEFAULT_IMAGE_SOURCE),
      repository: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._/-]*$/, "not an OCIR repository path (lower case, digits, . _ - /)")
        .optional(),
      tag: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "not a Docker tag")
        .optional(),
    })
    .prefault({}),
  deployment: z
    .strictObject({
      shape: z.string().default("VM.GPU.A10.1"),
      instanceCount: integer(1, 10).default(1),
      bandwidthMbps: integer(10, 8000).default(10),
      httpPort: integer(0, 65535).default(9000),
      storageSizeInGBs: integer(50, 16384).default(500),
      streaming: flag.default(false),
      environment: z.record(z.string(), z.string()).default({}),
    })
    .prefault({}),
  serving: z
    .strictObject({
      repositoryFolder: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "not a plain folder name")
        .default("triton"),
      kvCacheFreeGpuMemFraction: fraction.default(0.9),
      batchSchedulerPolicy: z.enum(["guaranteed_no_evict", "max_utilization"]).default("guaranteed_no_evict"),
      enableChunkedContext: flag.default(false),
      maxQueueDelayMicroseconds: integer(0).default(0),
      maxQueueSize: integer(0).default(0),
      preprocessingInstances: integer(1, 64).default(1),
      postprocessingInstances: integer(1, 64).default(1),
    })
    .prefault({}),
  artifact: z
    .strictObject({
      bucketName: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,256}$/, "not an Object Storage bucket name")
        .optional(),
    })
    .prefault({}),
  iam: z.strictObject({ create: flag.default(true) }).prefault({}),
  docker: z
    .strictObject({
      host: z
        .string()
        .regex(
          /^(unix|tcp|ssh):\/\/\S+$/,
          "is not a Docker daemon address with a scheme (unix://, tcp:// or ssh://)",
        )
        .optional(),
    })
    .prefault({}),
  evaluation: z.strictObject({ ttlHours: integer(1, 24 * 90).optional() }).prefault({}),
});

type ParsedSchema = z.infer<typeof schema>;

/** The validated configuration with defaults applied and catalogue lookups resolved. */
export interface StackConfig extends Omit<ParsedSchema, "model" | "build" | "image" | "engine"> {
  readonly region: string;
  readonly model: ParsedSchema["model"] & { readonly resolved: ModelArchitecture };
  readonly engine: ParsedSchema["engine"] & { readonly dtype: EngineDtype };
  readonly build: ParsedSchema["build"] & { readonly shape: string };
  readonly image: ParsedSchema["image"] & { readonly tag: string };
}

export interface ParseResult {
  /** Present only when `errors` is empty. */
  readonly config?: StackConfig;
  readonly errors: ConfigError[];
  readonly warnings: ConfigError[];
  /** Required secrets that are not set: errors for the program, notes for `check`. */
  readonly missingSecrets: ConfigError[];
  /**
   * OCIDs still holding the committed example's placeholders: errors for `pulumi up`, notes for
   * `check` and `pulumi preview` (a pull-request pipeline checks the committed example as is).
   */
  readonly placeholders: ConfigError[];
  /**
   * Present when some settings are bad: the configuration with stand-ins for them, and their keys,
   * so checks beyond the rules can still run on the good ones (`withGoodSettings`).
   */
  readonly draft?: Draft;
}

export interface Draft {
  readonly config: StackConfig;
  readonly badKeys: ReadonlySet<string>;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function setCommand(key: string): string {
  return `pulumi config set --path '${key}' <value>`;
}

/** Advice added to every error of a key, where the generic fix would leave the user guessing. */
const KEY_HINTS: Readonly<Record<string, string>> = {
  "evaluation.ttlHours":
    "or remove it to keep the deployment without an expiry: pulumi config rm --path evaluation.ttlHours",
  "docker.host":
    "e.g. ssh://opc@10.0.0.5, tcp://10.0.0.5:2376 or unix:///var/run/docker.sock; remove it to use the local daemon",
};

function withHint(error: ConfigError): ConfigError {
  const hint = KEY_HINTS[error.key];
  return hint === undefined ? error : { ...error, fix: `${error.fix}; ${hint}` };
}

function schemaIssueToError(issue: z.core.$ZodIssue, values: unknown): ConfigError[] {
  const key = issue.path.map(String).join(".");
  const value = valueAt(values, issue.path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((unknownKey) => {
        const fullKey = key ? `${key}.${unknownKey}` : unknownKey;
        const siblings = Object.keys(shapeAt(issue.path));
        const guess = closest(unknownKey, siblings);
        return {
          key: fullKey,
          value: valueAt(values, [...issue.path, unknownKey]),
          message: "is not a setting of this stack",
          fix: guess
            ? `did you mean '${key ? `${key}.` : ""}${guess}'? Remove it with 'pulumi config rm --path ${fullKey}'`
            : `remove it with 'pulumi config rm --path ${fullKey}'; known keys here: ${siblings.join(", ")}`,
        };
      });
    case "invalid_value":
      return [
        {
          key,
          value,
          message: `is not one of the supported values`,
          fix: `use one of: ${issue.values.map(String).join(", ")}`,
        },
      ];
    case "invalid_type":
      return [
        value === undefined
          ? { key, value, message: "is required", fix: `set it: ${setCommand(key)}` }
          : { key, value, message: `must be ${describeExpected(issue.expected)}`, fix: setCommand(key) },
      ];
    case "too_small":
    case "too_big":
      return [
        {
          key,
          value,
          message: issue.message.replace(/^Too (small|big): expected \w+ to (have |be )?/, "must be "),
          fix: `set a value ${issue.code === "too_small" ? "at least" : "at most"} ${String(
            issue.code === "too_small" ? issue.minimum : issue.maximum,
          )}: ${setCommand(key)}`,
        },
      ];
    default:
      return [{ key, value, message: issue.message, fix: setCommand(key) }];
  }
}

const EXPECTED_NAMES: Readonly<Record<string, string>> = {
  int: "a whole number",
  number: "a number",
  string: "text",
  boolean: "true or false",
  object: "a map of settings (key: value lines below it)",
  record: "a map of settings (key: value lines below it)",
  array: "a list",
};

function describeExpected(expected: string): string {
  return EXPECTED_NAMES[expected] ?? expected;
}

function shapeAt(path: readonly PropertyKey[]): Record<string, unknown> {
  let node: z.ZodType = schema;
  for (const part of path) {
    const unwrapped = unwrap(node);
    if (!(unwrapped instanceof z.ZodObject)) return {};
    node = unwrapped.shape[String(part)] as z.ZodType;
  }
  const unwrapped = unwrap(node);
  return unwrapped instanceof z.ZodObject ? unwrapped.shape : {};
}

function unwrap(node: z.ZodType): z.ZodType {
  let current = node;
  while (
    current instanceof z.ZodDefault ||
    current instanceof z.ZodPrefault ||
    current instanceof z.ZodOptional
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** The known key nearest to a misspelt one, when it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

function defaultTag(source: string): string {
  const withoutDigest = source.split("@")[0];
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  return colon >= 0 ? lastSegment.slice(colon + 1) : "latest";
}

// Namespaces a stack file may hold: this project's and those of the providers and engine it uses.
const KNOWN_NAMESPACES = [PROJECT, "oci", "docker", "command", "pulumi"];
// The OCI provider's settings (node_modules/@pulumi/oci/config/vars.d.ts, @pulumi/oci 4.20.0; the
// rules test compares the two): any other `oci:` key is a typo the provider would ignore.
export const OCI_PROVIDER_KEYS = [
  "auth",
  "configFileProfile",
  "disableAutoRetries",
  "dualStackEndpointEnabled",
  "fingerprint",
  "ignoreDefinedTags",
  "privateKey",
  "privateKeyPassword",
  "privateKeyPath",
  "realmSpecificServiceEndpointTemplateEnabled",
  "region",
  "retriesConfigFile",
  "retryDurationSeconds",
  "tenancyOcid",
  "testTimeMaintenanceRebootDue",
  "tokenExchangeAuth",
  "tokenExchangeClientId",
  "tokenExchangeClientSecret",
  "tokenExchangeDomainUrl",
  "tokenExchangePublicKey",
  "tokenExchangeRequestedTokenType",
  "tokenExchangeResourceType",
  "tokenExchangeRpstExp",
  "tokenExchangeSubjectTokenType",
  "userOcid",
  "workloadIdentityTokenPath",
];

function otherKeyErrors(otherKeys: readonly string[]): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const fullKey of otherKeys) {
    const colon = fullKey.indexOf(":");
    const namespace = fullKey.slice(0, colon);
    const name = fullKey.slice(colon + 1);
    if (!KNOWN_NAMESPACES.includes(namespace)) {
      const guess = closest(namespace, KNOWN_NAMESPACES);
      errors.push({
        key: fullKey,
        value: namespace,
        message: `is in namespace '${namespace}', which nothing in this stack reads: the setting would be ignored`,
        fix: guess
          ? `did you mean '${guess}:${name}'? pulumi config rm ${fullKey} and set it again under ${guess}:`
          : `pulumi config rm ${fullKey}; this stack reads ${KNOWN_NAMESPACES.map((n) => `${n}:`).join(", ")}`,
      });
    } else if (namespace === "oci" && !OCI_PROVIDER_KEYS.includes(name.split(".")[0])) {
      const guess = closest(name, OCI_PROVIDER_KEYS);
      errors.push({
        key: fullKey,
        value: name,
        message: "is not a setting of the OCI provider: it would be ignored",
        fix: guess
          ? `did you mean 'oci:${guess}'? pulumi config rm ${fullKey}; pulumi config set oci:${guess} <value>`
          : `pulumi config rm ${fullKey}; the OCI provider reads: ${OCI_PROVIDER_KEYS.join(", ")}`,
      });
    }
  }
  return errors;
}

// The committed example's OCIDs carry "example" where a real OCID has its unique part: fine for an
// offline check, never for a deployment.
function placeholderErrors(data: {
  compartmentId?: string;
  tenancyId?: string;
  projectId?: string;
}): ConfigError[] {
  return (["compartmentId", "tenancyId", "projectId"] as const)
    .filter((key) => data[key]?.includes("example"))
    .map((key) => ({
      key,
      value: data[key],
      message: "is the placeholder of the committed example, not an OCID of your tenancy",
      fix: `pulumi config set ${key} <your ${key === "tenancyId" ? "tenancy" : key === "projectId" ? "Data Science project" : "compartment"} OCID>`,
    }));
}

/**
 * Whether a rule that read `read` depends on the bad setting `bad`. A rule that lists a map (the
 * environment) still runs when one entry is bad: that entry is left out, so the rule can miss a
 * problem of the bad entry but never report one that is not there.
 */
function overlaps(read: string, bad: string): boolean {
  return read === bad || read.startsWith(`${bad}.`);
}

/**
 * Runs a check on a view of the configuration that records the settings it reads: a leaf when the
 * check reads its value, a map when it lists its keys.
 */
function runRecordingReads<T>(
  check: (config: StackConfig) => T,
  config: StackConfig,
): { result: T; reads: Set<string> } {
  const reads = new Set<string>();
  const view = <T extends object>(node: T, prefix: string): T =>
    new Proxy(node, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof property !== "string") return value;
        const key = prefix === "" ? property : `${prefix}.${property}`;
        if (value !== null && typeof value === "object" && !Array.isArray(value)) return view(value, key);
        reads.add(key);
        return value;
      },
      ownKeys(target) {
        reads.add(prefix);
        return Reflect.ownKeys(target);
      },
    });
  return { result: check(view(config, "")), reads };
}

/** Settings whose values parse but stand in for what the user wrote, so rules may run on the rest. */
const STAND_INS: Readonly<Record<string, unknown>> = {
  compartmentId: "ocid1.compartment.oc1..aaaaaaaastandinstandinstandinstandinstandin",
};

/**
 * The values with every setting the schema refused taken out (back to its default) or replaced by a
 * stand-in, parsed: what the cross-field rules run on when some settings are bad, so one bad
 * setting never hides the errors of the others. Undefined when nothing usable is left.
 */
function parseWithoutBadSettings(
  values: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
): ParsedSchema | undefined {
  const repaired = structuredClone(values);
  for (const issue of issues) {
    const paths =
      issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of paths) {
      if (path.length === 0) return undefined;
      const parent = valueAt(repaired, path.slice(0, -1));
      if (parent !== null && typeof parent === "object") {
        Reflect.deleteProperty(parent, path[path.length - 1]);
      }
      const standIn = STAND_INS[path.map(String).join(".")];
      if (standIn !== undefined) repaired[String(path[0])] = standIn;
    }
  }
  const reparsed = schema.safeParse(repaired);
  return reparsed.success ? reparsed.data : undefined;
}

function issueKeys(issue: z.core.$ZodIssue): string[] {
  const key = issue.path.map(String).join(".");
  return issue.code === "unrecognized_keys" ? [] : [key];
}

const CATALOGUE_MODEL = "tiiuae/falcon-7b-instruct";

/**
 * Parse and validate a stack's configuration. Never throws for bad input: every problem comes back
 * in `errors`, whatever its kind, so the caller can report them all at once. A setting the schema
 * refuses is left out of the cross-field rules that read it; the other rules still run.
 */
export function parseStackConfig(raw: RawStackConfig): ParseResult {
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  /** Keys already reported: rules that read them are skipped, since they would judge a stand-in. */
  const bad = new Set<string>();
  const values = Object.fromEntries(
    Object.entries(raw.values).filter(([key]) => !(SECRET_KEYS as readonly string[]).includes(key)),
  );

  const missingSecrets: ConfigError[] = REQUIRED_SECRETS.filter((key) => !raw.secretsSet.has(key)).map(
    (key) => ({
      key,
      value: undefined,
      message: "is required to push the image to OCI Container Registry",
      fix: `set it as a secret: pulumi config set --secret ${key} <${key === "ocirUsername" ? "namespace/user" : "auth token"}>`,
    }),
  );

  if (raw.ociRegion === undefined || !REGION.test(raw.ociRegion)) {
    errors.push({
      key: "oci:region",
      value: raw.ociRegion,
      message: "must name the OCI region of the stack",
      fix: "pulumi config set oci:region <region, e.g. us-ashburn-1>",
    });
    bad.add("region");
  }
  errors.push(...otherKeyErrors(raw.otherKeys ?? []));

  const parsed = schema.safeParse(values);
  let data: ParsedSchema | undefined;
  if (parsed.success) {
    data = parsed.data;
  } else {
    errors.push(...parsed.error.issues.flatMap((issue) => schemaIssueToError(issue, values)));
    for (const key of parsed.error.issues.flatMap(issueKeys)) bad.add(key);
    data = parseWithoutBadSettings(values, parsed.error.issues);
  }
  if (data === undefined) return { errors: errors.map(withHint), warnings, missingSecrets, placeholders: [] };

  const catalogued = MODELS[data.model.huggingFaceId];
  let resolved = data.model.architecture ?? catalogued;
  if (resolved === undefined && !bad.has("model.huggingFaceId") && !bad.has("model.architecture")) {
    errors.push({
      key: "model.architecture",
      value: data.model.huggingFaceId,
      message: `model '${data.model.huggingFaceId}' is not in the built-in catalogue and has no architecture fields`,
      fix: `set model.architecture (family, layers, hiddenSize, queryHeads, kvHeads, intermediateSize, vocabSize, contextLength, parameterCount, eosTokenId, padTokenId) from the model's config.json, or use one of: ${Object.keys(MODELS).join(", ")}`,
    });
  }
  if (
    resolved === undefined ||
    bad.has("model.huggingFaceId") ||
    [...bad].some((key) => overlaps(key, "model.architecture"))
  ) {
    bad.add("model.resolved");
    resolved = MODELS[CATALOGUE_MODEL];
  }
  const buildShapeSet = data.build.shape !== undefined;
  for (const [key, name] of [
    ["deployment.shape", data.deployment.shape],
    ["build.shape", data.build.shape],
  ] as const) {
    if (name !== undefined && findShape(name) === undefined) {
      errors.push({
        key,
        value: name,
        message: "is not a GPU shape in the built-in catalogue",
        fix: `use one of: ${GPU_SHAPES.map((s) => s.name).join(", ")}`,
      });
      bad.add(key);
    }
  }
  // build.shape follows deployment.shape unless set.
  if (bad.has("deployment.shape") && !buildShapeSet) bad.add("build.shape");
  if (/^(main|master|HEAD)$/.test(data.model.revision)) {
    warnings.push({
      key: "model.revision",
      value: data.model.revision,
      message: "is a moving branch: the engine and its cache key change whenever the model repository does",
      fix: "pin the 40-hex commit of the model snapshot: pulumi config set --path model.revision <commit>",
    });
  }

  const standInShape = GPU_SHAPES[0].name;
  const deploymentShape = bad.has("deployment.shape") ? standInShape : data.deployment.shape;
  const config: StackConfig = {
    ...data,
    region: raw.ociRegion ?? "",
    model: { ...data.model, resolved },
    deployment: { ...data.deployment, shape: deploymentShape },
    build: {
      ...data.build,
      shape: bad.has("build.shape") ? standInShape : (data.build.shape ?? deploymentShape),
    },
    image: { ...data.image, tag: data.image.tag ?? defaultTag(data.image.source) },
  };
  const draft: Draft = { config, badKeys: bad };
  const runTrusted = (rules: readonly Rule[]): ConfigError[] =>
    rules.flatMap((rule) => withGoodSettings(draft, rule) ?? []);
  warnings.push(...runTrusted(WARNING_RULES));
  errors.push(...runTrusted(RULES));
  const placeholders = placeholderErrors(data);
  if (errors.length > 0) {
    return { errors: errors.map(withHint), warnings, missingSecrets, placeholders, draft };
  }
  return { config, errors, warnings, missingSecrets, placeholders };
}

/** What `check` returns on the draft, or undefined when it read a bad setting (its verdict would judge a stand-in). */
export function withGoodSettings<T>(draft: Draft, check: (config: StackConfig) => T): T | undefined {
  const run = runRecordingReads(check, draft.config);
  const dependsOnBad = [...run.reads].some((read) => [...draft.badKeys].some((key) => overlaps(read, key)));
  return dependsOnBad ? undefined : run.result;
}

/** One line per problem: key, value, what is wrong, how to fix it. */
export function formatConfigError(error: ConfigError): string {
  const value = error.value === undefined ? "(not set)" : JSON.stringify(error.value);
  return `${error.key} = ${value}: ${error.message}. Fix: ${error.fix}`;
}

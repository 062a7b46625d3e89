/**
 * Stack configuration: one schema, parsed once, every problem reported together as data. The
 * program (`index.ts`) and the offline `check` both come through `parseStackConfig`, so a stack file
 * that passes `check` is exactly a stack file the program accepts.
 */
import { findShape, GPU_SHAPES, MODELS, type ModelArchitecture } from "./catalog";
import { completeConfig, STAND_IN_ARCHITECTURE } from "./defaults";
import { type Draft, overlaps, parseWithoutBadSettings, withGoodSettings } from "./draft";
import { regionProblem, suggestRegion } from "./grammars";
import { otherKeyErrors } from "./namespaces";
import { displayKey, quoted } from "./quoting";
import { RULES, WARNING_RULES } from "./rules";
import {
  type ConfigError,
  type ParsedSchema,
  type RawStackConfig,
  REQUIRED_SECRETS,
  type Rule,
  SECRET_KEYS,
  stackSchema,
  type StackConfig,
} from "./schema";
import { issueKeys, schemaIssueToError, withHint } from "./schema-errors";

export { PROJECT, type ConfigError, type RawStackConfig, type StackConfig } from "./schema";

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

function missingSecretErrors(secretsSet: ReadonlySet<string>): ConfigError[] {
  return REQUIRED_SECRETS.filter((key) => !secretsSet.has(key)).map((key) => ({
    key,
    value: undefined,
    message: "is required to push the image to OCI Container Registry",
    fix: `set it as a secret: pulumi config set --secret ${key} <${key === "ocirUsername" ? "namespace/user" : "auth token"}>`,
  }));
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
 * The model's architecture: the configured one, else the catalogue's for its id. Undefined when
 * neither is there or the settings it comes from are bad; an error only when neither is there.
 */
function lookUpArchitecture(
  data: ParsedSchema,
  bad: ReadonlySet<string>,
): { architecture?: ModelArchitecture; errors: ConfigError[] } {
  const id = data.model.huggingFaceId;
  const found = data.model.architecture ?? MODELS[id];
  const errors: ConfigError[] =
    found === undefined && !bad.has("model.huggingFaceId") && !bad.has("model.architecture")
      ? [
          {
            key: "model.architecture",
            value: id,
            message: `model ${quoted(id)} is not in the built-in catalogue and has no architecture fields`,
            fix: `set model.architecture (family, layers, hiddenSize, queryHeads, kvHeads, intermediateSize, vocabSize, contextLength, parameterCount, eosTokenId, padTokenId) from the model's config.json, or use one of: ${Object.keys(MODELS).join(", ")}`,
          },
        ]
      : [];
  const usable =
    found !== undefined &&
    !bad.has("model.huggingFaceId") &&
    ![...bad].some((key) => overlaps(key, "model.architecture"));
  return { architecture: usable ? found : undefined, errors };
}

/** Shapes missing from the catalogue; each is added to `bad`, and build.shape with an unset one following a bad deployment.shape. */
function shapeErrors(data: ParsedSchema, bad: Set<string>): ConfigError[] {
  const errors: ConfigError[] = [];
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
  if (bad.has("deployment.shape") && data.build.shape === undefined) bad.add("build.shape");
  return errors;
}

function movingRevisionWarnings(revision: string): ConfigError[] {
  if (!/^(main|master|HEAD)$/.test(revision)) return [];
  return [
    {
      key: "model.revision",
      value: revision,
      message: "is a moving branch: the engine and its cache key change whenever the model repository does",
      fix: "pin the 40-hex commit of the model snapshot: pulumi config set --path model.revision <commit>",
    },
  ];
}

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
  const missingSecrets = missingSecretErrors(raw.secretsSet);

  const regionIssue =
    raw.ociRegion === undefined ? "must name the OCI region of the stack" : regionProblem(raw.ociRegion);
  if (regionIssue !== undefined) {
    const meant = raw.ociRegion === undefined ? undefined : suggestRegion(raw.ociRegion);
    errors.push({
      key: "oci:region",
      value: raw.ociRegion,
      message: regionIssue,
      fix: `pulumi config set oci:region ${meant ?? "<region, e.g. us-ashburn-1>"}`,
    });
    bad.add("region");
  }
  errors.push(...otherKeyErrors(raw.otherKeys ?? []));

  const parsed = stackSchema.safeParse(values);
  let data: ParsedSchema | undefined;
  if (parsed.success) {
    data = parsed.data;
  } else {
    errors.push(...parsed.error.issues.flatMap((issue) => schemaIssueToError(issue, values)));
    for (const key of parsed.error.issues.flatMap(issueKeys)) bad.add(key);
    data = parseWithoutBadSettings(values, parsed.error.issues);
  }
  if (data === undefined) return { errors: errors.map(withHint), warnings, missingSecrets, placeholders: [] };

  const { architecture, errors: architectureErrors } = lookUpArchitecture(data, bad);
  errors.push(...architectureErrors);
  if (architecture === undefined) bad.add("model.resolved");
  errors.push(...shapeErrors(data, bad));
  warnings.push(...movingRevisionWarnings(data.model.revision));

  const config = completeConfig(data, raw.ociRegion ?? "", architecture ?? STAND_IN_ARCHITECTURE, bad);
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

/** One line per problem: key, value, what is wrong, how to fix it. */
export function formatConfigError(error: ConfigError): string {
  const subject =
    error.keyOnly === true ? displayKey(error.key) : `${displayKey(error.key)} = ${quoted(error.value)}`;
  return `${subject}: ${error.message}. Fix: ${error.fix}`;
}

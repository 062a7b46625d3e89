/**
 * The offline stack check (`cli/check.ts`): the stack file read as `pulumi up` reads it, then the
 * program's own validation (`validateStack`, the function `index.ts` calls), judged as if the engine
 * cache missed, since only the program reads the bucket; then the sizing summary and a verdict that
 * says whether `pulumi up` would go ahead. Needs no Pulumi CLI and no cloud credentials. With
 * `--online` it also reads the model's config.json from the Hugging Face Hub and refuses a model the
 * stack declares wrongly (`verifyModelOnHub`), the comparison the build host makes before its GPU
 * work (components/build/model-config-check.ts).
 */
import path from "node:path";
import {
  type ConfigMismatch,
  configExpectations,
  configFields,
  configMismatches,
  describeMismatch,
  FAMILY_CONFIG_NAMES,
  HUB_ENDPOINT,
  hubConfigUrl,
} from "../components/build/model-config-check";
import { type ModelFamily } from "../components/config/catalog";
import { type ConfigError, formatConfigError, type StackConfig } from "../components/config/config";
import {
  readStackFile,
  type StackFile,
  StackFileError,
  stackNameIssue,
} from "../components/config/stack-file";
import { formatSizingSummary, type SizingSummary, sizingSummary } from "../components/config/summary";
import { type StackValidation, validateStack } from "../components/config/validate";
import { alertPlan, describeAlerts } from "../components/deployment/alerts";
import { autoscalingPlan, describeAutoscaling } from "../components/deployment/autoscaling";
import { formatIamStatements } from "../components/deployment/iam-statements";
import { UsageError, UserError } from "./errors";

/**
 * The model on the Hub against the stack: its config.json `matches`, or `mismatch` (then `check`
 * lists the keys as errors), or it was `not verified` (offline, or the Hub did not answer with it).
 */
export type HubVerification =
  | {
      readonly status: "matches";
      readonly url: string;
      readonly fields: Readonly<Record<string, string | number | null>>;
    }
  | { readonly status: "mismatch"; readonly url: string; readonly mismatches: readonly ConfigMismatch[] }
  | { readonly status: "not verified"; readonly url: string; readonly reason: string };

export interface StackCheck {
  readonly stackFile: StackFile;
  readonly validation: StackValidation;
  /** What stops `pulumi preview` and `pulumi up`. */
  readonly errors: readonly ConfigError[];
  /** What `pulumi up` refuses until it is resolved, though the configuration is valid. */
  readonly notes: readonly ConfigError[];
  readonly summary?: SizingSummary;
  /** The model against its config.json on the Hub; absent when the configuration is invalid. */
  readonly hub?: HubVerification;
}

/** The stack file, or a usage error naming the stack probably meant. */
export function loadStackFile(projectDir: string, stack: string): StackFile {
  const issue = stackNameIssue(projectDir, stack);
  if (issue !== undefined) throw new UsageError(issue);
  try {
    return readStackFile(projectDir, stack);
  } catch (error) {
    if (error instanceof StackFileError) throw new UserError(error.message);
    throw error;
  }
}

/**
 * Whether `pulumi up` would go ahead: `invalid` when preview and up both refuse the configuration,
 * `not deployable` when it is valid but up refuses it until the notes are resolved (the program's
 * refusals, components/config/validate.ts `programRefusals`, are the errors and the notes), else
 * `deployable`.
 */
export type CheckVerdict = "deployable" | "not deployable" | "invalid";

export function checkVerdict(check: StackCheck): CheckVerdict {
  if (check.errors.length > 0) return "invalid";
  return check.notes.length > 0 ? "not deployable" : "deployable";
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

/**
 * The last line `check` prints: the file, how many problems stand between it and `pulumi up`, the
 * verdict, and the keys to fix (for notes, what is wrong with each: a placeholder, a value that is
 * not set, a folder that is not here).
 */
export function checkSummary(check: StackCheck): string {
  const { validation } = check;
  const verdict = checkVerdict(check);
  const keys =
    verdict === "invalid"
      ? check.errors.map((error) => error.key)
      : [
          ...validation.placeholders.map((note) => `${note.key} placeholder`),
          ...validation.missingInputs.map((note) => `${note.key} unset`),
          ...validation.absentFolders.map((note) => `${note.key} absent`),
        ];
  const count = verdict === "invalid" ? check.errors.length : check.notes.length;
  const detail = keys.length === 0 ? "" : ` (${keys.join(", ")})`;
  const words = verdict === "invalid" ? "invalid configuration" : verdict;
  return `check: ${path.basename(check.stackFile.path)}: ${plural(count, "problem")}: ${words}${detail}`;
}

/** Checks `Pulumi.<stack>.yaml` in `projectDir`; every error at once. Offline: the model is not verified. */
export function checkStack(projectDir: string, stack: string): StackCheck {
  const stackFile = loadStackFile(projectDir, stack);
  const validation = validateStack(stackFile.raw, { stack, projectDir, engine: { kind: "assume-build" } });
  const notes = [...validation.missingInputs, ...validation.placeholders, ...validation.absentFolders];
  const summary = validation.config && sizingSummary(validation.config);
  const hub: HubVerification | undefined = validation.config && {
    status: "not verified",
    url: hubConfigUrl(validation.config.model.huggingFaceId, validation.config.model.revision),
    reason: "offline; --online reads it from the Hub (HF_TOKEN for a gated model)",
  };
  return { stackFile, validation, errors: validation.errors, notes, summary, hub };
}

/** How `check --online` reaches the Hub. */
export interface HubAccess {
  readonly fetch: typeof globalThis.fetch;
  /** A Hugging Face token, for a gated or private model. */
  readonly token?: string;
  /** The Hub's address; default https://huggingface.co. */
  readonly endpoint?: string;
}

/**
 * The Hub as huggingface_hub v0.30.2 finds it, from the environment `check` runs in: the token in
 * `HF_TOKEN` (utils/_auth.py:116-118; the stack's `hfToken` is encrypted, and `check` runs without
 * Pulumi) and the address in `HF_ENDPOINT` (constants.py:66).
 */
export function hubAccessFromEnvironment(env: NodeJS.ProcessEnv): HubAccess {
  return {
    fetch: globalThis.fetch,
    token: env.HF_TOKEN === "" ? undefined : env.HF_TOKEN,
    endpoint: env.HF_ENDPOINT === "" ? undefined : env.HF_ENDPOINT,
  };
}

/** Seconds `check --online` waits for config.json. */
const HUB_TIMEOUT_MS = 20_000;

type HubAnswer =
  | { readonly kind: "config"; readonly json: unknown }
  | { readonly kind: "refused"; readonly error: ConfigError }
  | { readonly kind: "unknown"; readonly reason: string };

/**
 * What the Hub's answer for config.json means. A refusal names its cause in the X-Error-Code header
 * (the codes huggingface_hub v0.30.2 tells apart, utils/_http.py:411-448): a revision or a file that
 * does not exist is the stack's to fix; a gated repository, or a 401 for one the token cannot see
 * (the Hub does not tell a missing repository from a private one, the same lines), leaves the model
 * unverified.
 */
async function readHubAnswer(config: StackConfig, url: string, access: HubAccess): Promise<HubAnswer> {
  const { huggingFaceId, revision } = config.model;
  let response: Response;
  try {
    response = await access.fetch(url, {
      headers: access.token === undefined ? {} : { authorization: `Bearer ${access.token}` },
      redirect: "follow",
      signal: AbortSignal.timeout(HUB_TIMEOUT_MS),
    });
  } catch (error) {
    // Node's fetch says only "fetch failed"; the socket's error (ECONNREFUSED, ENOTFOUND...) is its cause.
    const { message, cause } = error as Error & { cause?: { code?: string; message?: string } };
    const detail = cause?.code ?? cause?.message;
    return {
      kind: "unknown",
      reason: `could not reach ${url}: ${message}${detail === undefined ? "" : ` (${detail})`}`,
    };
  }
  if (response.ok) {
    try {
      return { kind: "config", json: JSON.parse(await response.text()) };
    } catch {
      return { kind: "unknown", reason: `${url} is not JSON` };
    }
  }
  const code = response.headers.get("x-error-code");
  const who = access.token === undefined ? "a request without a token (HF_TOKEN)" : "this token";
  switch (code) {
    case "RevisionNotFound":
      return {
        kind: "refused",
        error: {
          key: "model.revision",
          value: revision,
          message: `is not a revision of ${huggingFaceId} on the Hub (HTTP ${response.status})`,
          fix: `pin one of its commits: pulumi config set --path model.revision <commit of ${huggingFaceId}>`,
        },
      };
    case "EntryNotFound":
      return {
        kind: "refused",
        error: {
          key: "model.huggingFaceId",
          value: huggingFaceId,
          message: `has no config.json at ${revision} (HTTP ${response.status}): the converters need a transformers model repository`,
          fix: "use a transformers model repository, or a revision of it that has config.json",
        },
      };
    case "GatedRepo":
      return {
        kind: "unknown",
        reason: `${huggingFaceId} is gated and the Hub refused ${who} (HTTP ${response.status}): set HF_TOKEN to a token of an account that accepted the licence on the model card (the build needs it as hfToken)`,
      };
    default:
      return {
        kind: "unknown",
        reason:
          code === "RepoNotFound" || response.status === 401
            ? `the Hub shows no repository ${huggingFaceId} to ${who} (HTTP ${response.status}): check model.huggingFaceId; a private or gated one needs HF_TOKEN`
            : `the Hub answered HTTP ${response.status}${code === null ? "" : ` (${code})`}`,
      };
  }
}

/** The family whose converter builds an architecture, if any does. */
function familyBuilding(architecture: string | number | null): ModelFamily | undefined {
  return (Object.keys(FAMILY_CONFIG_NAMES) as ModelFamily[]).find((family) =>
    (FAMILY_CONFIG_NAMES[family].architectures as readonly (string | number | null)[]).includes(architecture),
  );
}

/** The stack setting a mismatch names, as the stack file holds it. */
function declaredValue(config: StackConfig, stackKey: string): unknown {
  if (stackKey === "model.huggingFaceId") return config.model.huggingFaceId;
  const field = stackKey.slice("model.architecture.".length) as keyof NonNullable<
    StackConfig["model"]["architecture"]
  >;
  return config.model.architecture?.[field];
}

/** One error per stack setting config.json contradicts, every field it contradicts in it. */
function mismatchErrors(
  config: StackConfig,
  url: string,
  mismatches: readonly ConfigMismatch[],
): ConfigError[] {
  const { huggingFaceId, revision } = config.model;
  const keys = [...new Set(mismatches.map((mismatch) => mismatch.stackKey))];
  return keys.map((key) => {
    const own = mismatches.filter((mismatch) => mismatch.stackKey === key);
    const architecture = own.find((mismatch) => mismatch.field === "architectures");
    let fix: string;
    if (key === "model.huggingFaceId") {
      fix = `pin model.revision to a commit of ${huggingFaceId} that is the model the built-in catalogue describes, or declare model.architecture from this config.json`;
    } else if (key === "model.architecture.family") {
      const family = architecture === undefined ? undefined : familyBuilding(architecture.found);
      fix =
        family === undefined
          ? `no TensorRT-LLM converter this project runs builds it (falcon: ${FAMILY_CONFIG_NAMES.falcon.architectures.join(", ")}; llama: ${FAMILY_CONFIG_NAMES.llama.architectures.join(", ")}): use another model.huggingFaceId`
          : `pulumi config set --path model.architecture.family ${family}`;
    } else {
      fix = `pulumi config set --path ${key} ${own.map((mismatch) => String(mismatch.found)).join(" ")} (from config.json's ${own.map((mismatch) => mismatch.field).join(", ")})`;
    }
    return {
      key,
      value: declaredValue(config, key),
      message: `${huggingFaceId} at ${revision} is another model: its config.json on the Hub has ${own.map(describeMismatch).join("; ")} (${url})`,
      fix,
    };
  });
}

/**
 * `check --online`: the model's config.json from the Hub compared with the stack, by the rule the
 * build host applies before its GPU work (components/build/model-config-check.ts). A mismatch, a
 * revision that does not exist or a repository without config.json becomes an error, so the verdict
 * is `invalid`; a Hub that cannot be asked leaves the model `not verified` and the verdict as it was.
 */
export async function verifyModelOnHub(check: StackCheck, access: HubAccess): Promise<StackCheck> {
  const config = check.validation.config;
  if (config === undefined) return check;
  const url = hubConfigUrl(
    config.model.huggingFaceId,
    config.model.revision,
    access.endpoint ?? HUB_ENDPOINT,
  );
  const answer = await readHubAnswer(config, url, access);
  if (answer.kind === "unknown")
    return { ...check, hub: { status: "not verified", url, reason: answer.reason } };
  if (answer.kind === "refused") {
    return {
      ...check,
      errors: [...check.errors, answer.error],
      hub: { status: "not verified", url, reason: formatConfigError(answer.error) },
    };
  }
  const expectations = configExpectations(config.model);
  const mismatches = configMismatches(expectations, answer.json);
  if (mismatches.length > 0) {
    return {
      ...check,
      errors: [...check.errors, ...mismatchErrors(config, url, mismatches)],
      hub: { status: "mismatch", url, mismatches },
    };
  }
  return { ...check, hub: { status: "matches", url, fields: configFields(expectations, answer.json) } };
}

/** `check --json`: one document. */
export function checkReportJson(check: StackCheck): string {
  const { validation } = check;
  return JSON.stringify(
    {
      ok: check.errors.length === 0,
      deployable: checkVerdict(check) === "deployable",
      errors: check.errors,
      warnings: validation.warnings,
      missingInputs: validation.missingInputs,
      placeholders: validation.placeholders,
      absentFolders: validation.absentFolders,
      assumptions: validation.assumptions,
      iamStatements: validation.iamHandover,
      hub: check.hub,
      summary: check.summary,
      // A production endpoint's scaling (queries, cost range), for the pull-request comment.
      autoscaling: validation.config && autoscalingPlan(validation.config),
    },
    null,
    2,
  );
}

/**
 * The text report: warnings and notes, then errors on `error`, or the sizing summary; the verdict
 * line (`checkSummary`) last, on `error` when the configuration is invalid.
 */
export function printCheckReport(check: StackCheck, out: Pick<Console, "log" | "error">): void {
  const { stackFile, validation, errors, notes, summary } = check;
  for (const key of stackFile.plaintextSecrets) {
    out.log(
      `warning: ${key} is stored in plain text in ${stackFile.path}. Fix: pulumi config set --secret ${key} <value>`,
    );
  }
  for (const warning of validation.warnings) out.log(`warning: ${formatConfigError(warning)}`);
  for (const note of notes) out.log(`note (pulumi up fails until it is fixed): ${formatConfigError(note)}`);
  if (errors.length > 0) {
    out.error(`${stackFile.path}: ${errors.length} error(s)`);
    for (const error of errors) out.error(`error: ${formatConfigError(error)}`);
    out.error(checkSummary(check));
    return;
  }
  for (const assumption of validation.assumptions) out.log(`assumed: ${assumption}`);
  // A mismatch is among the errors, printed above instead.
  const model =
    validation.config && `${validation.config.model.huggingFaceId} at ${validation.config.model.revision}`;
  if (check.hub?.status === "matches") {
    const fields = Object.entries(check.hub.fields).map(([field, value]) => `${field} ${String(value)}`);
    out.log(`model: ${model} matches its config.json on the Hub (${fields.join(", ")})`);
  } else if (check.hub?.status === "not verified") {
    out.log(`unverified: model ${model} was not compared with its config.json: ${check.hub.reason}`);
  }
  if (validation.iamHandover !== undefined) {
    out.log(
      `iam.create is false: an administrator must create\n${formatIamStatements(validation.iamHandover)}`,
    );
  }
  if (summary) out.log(formatSizingSummary(summary));
  const autoscaling = validation.config && autoscalingPlan(validation.config);
  if (autoscaling) out.log(describeAutoscaling(autoscaling).join("\n"));
  const alerts = validation.config && alertPlan(validation.config.deployment.alerts);
  if (alerts) out.log(describeAlerts(alerts));
  out.log(checkSummary(check));
}

/**
 * The offline stack check (`cli/check.ts`): the stack file read as `pulumi up` reads it, then the
 * program's own validation (`validateStack`, the function `index.ts` calls), judged as if the engine
 * cache missed, since only the program reads the bucket; then the sizing summary and a verdict that
 * says whether `pulumi up` would go ahead. Needs no Pulumi CLI and no cloud credentials.
 */
import path from "node:path";
import { type ConfigError, formatConfigError } from "../components/config/config";
import {
  readStackFile,
  type StackFile,
  StackFileError,
  stackNameIssue,
} from "../components/config/stack-file";
import { formatSizingSummary, type SizingSummary, sizingSummary } from "../components/config/summary";
import { type StackValidation, validateStack } from "../components/config/validate";
import { formatIamStatements } from "../components/deployment/iam-statements";
import { UsageError, UserError } from "./errors";

export interface StackCheck {
  readonly stackFile: StackFile;
  readonly validation: StackValidation;
  /** What stops `pulumi preview` and `pulumi up`. */
  readonly errors: readonly ConfigError[];
  /** What `pulumi up` refuses until it is resolved, though the configuration is valid. */
  readonly notes: readonly ConfigError[];
  readonly summary?: SizingSummary;
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

/** Checks `Pulumi.<stack>.yaml` in `projectDir`; every error at once. */
export function checkStack(projectDir: string, stack: string): StackCheck {
  const stackFile = loadStackFile(projectDir, stack);
  const validation = validateStack(stackFile.raw, { stack, projectDir, engine: { kind: "assume-build" } });
  const notes = [...validation.missingInputs, ...validation.placeholders, ...validation.absentFolders];
  const summary = validation.config && sizingSummary(validation.config);
  return { stackFile, validation, errors: validation.errors, notes, summary };
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
      summary: check.summary,
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
  if (validation.iamHandover !== undefined) {
    out.log(
      `iam.create is false: an administrator must create\n${formatIamStatements(validation.iamHandover)}`,
    );
  }
  if (summary) out.log(formatSizingSummary(summary));
  out.log(checkSummary(check));
}

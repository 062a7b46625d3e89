/**
 * The offline stack check (`cli/check.ts`): the stack file read as `pulumi up` reads it, the
 * program's own validation, the engine and model folders when they are on this machine, and the
 * sizing summary. Needs no Pulumi CLI and no cloud credentials.
 */
import { existsSync } from "node:fs";
import {
  type ConfigError,
  formatConfigError,
  type ParseResult,
  parseStackConfig,
} from "../components/config/config";
import { checkLocalInputsOf } from "../components/config/local-inputs";
import {
  readStackFile,
  type StackFile,
  StackFileError,
  stackFilePath,
} from "../components/config/stack-file";
import { formatSizingSummary, type SizingSummary, sizingSummary } from "../components/config/summary";
import { UsageError, UserError } from "./errors";

export interface StackCheck {
  readonly stackFile: StackFile;
  readonly result: ParseResult;
  /** What stops `pulumi up`: invalid configuration, unusable local folders. */
  readonly errors: readonly ConfigError[];
  /** What `pulumi up` refuses until it is resolved, though the configuration is valid. */
  readonly notes: readonly ConfigError[];
  readonly absentFolders: readonly ConfigError[];
  readonly summary?: SizingSummary;
}

export function loadStackFile(projectDir: string, stack: string): StackFile {
  const file = stackFilePath(projectDir, stack);
  if (!existsSync(file)) {
    throw new UsageError(
      `${file} does not exist: create it with 'pulumi stack init ${stack}' and set its config, or pass --dir <project dir>`,
    );
  }
  try {
    return readStackFile(projectDir, stack);
  } catch (error) {
    if (error instanceof StackFileError) throw new UserError(error.message);
    throw error;
  }
}

/** Checks `Pulumi.<stack>.yaml` in `projectDir`; every error at once. */
export function checkStack(projectDir: string, stack: string): StackCheck {
  const stackFile = loadStackFile(projectDir, stack);
  const result = parseStackConfig(stackFile.raw);
  const local = checkLocalInputsOf(result, projectDir);
  const errors = [...result.errors, ...local.errors];
  const notes = [...result.missingSecrets, ...result.placeholders, ...local.absent];
  const summary = result.config && errors.length === 0 ? sizingSummary(result.config) : undefined;
  return { stackFile, result, errors, notes, absentFolders: local.absent, summary };
}

/** `check --json`: one document. */
export function checkReportJson(check: StackCheck): string {
  const { result } = check;
  return JSON.stringify(
    {
      ok: check.errors.length === 0,
      errors: check.errors,
      warnings: result.warnings,
      missingSecrets: result.missingSecrets,
      placeholders: result.placeholders,
      absentFolders: check.absentFolders,
      summary: check.summary,
    },
    null,
    2,
  );
}

/** The text report: warnings and notes, then errors on `error`, or the summary and the verdict. */
export function printCheckReport(check: StackCheck, out: Pick<Console, "log" | "error">): void {
  const { stackFile, result, errors, notes, summary } = check;
  for (const key of stackFile.plaintextSecrets) {
    out.log(
      `warning: ${key} is stored in plain text in ${stackFile.path}. Fix: pulumi config set --secret ${key} <value>`,
    );
  }
  for (const warning of result.warnings) out.log(`warning: ${formatConfigError(warning)}`);
  for (const note of notes) out.log(`note (pulumi up fails until it is fixed): ${formatConfigError(note)}`);
  if (errors.length > 0) {
    out.error(`${stackFile.path}: ${errors.length} error(s)`);
    for (const error of errors) out.error(`error: ${formatConfigError(error)}`);
    return;
  }
  if (summary) out.log(formatSizingSummary(summary));
  out.log(
    notes.length === 0
      ? `${stackFile.path}: ok`
      : `${stackFile.path}: ok, with ${notes.length} note(s) to resolve before pulumi up`,
  );
}

/**
 * Offline stack check: `npm run -s check -- --stack <name>`. Reads Pulumi.<name>.yaml, applies the
 * program's own validation, verifies the engine and model folders when they are on this machine,
 * prints the sizing summary, and exits 1 listing every error. Needs no Pulumi CLI and no cloud
 * credentials, so it is what a pull-request check runs first.
 */
import { existsSync } from "node:fs";
import { formatConfigError, parseStackConfig } from "../components/config/config";
import { checkLocalInputsOf } from "../components/config/local-inputs";
import { readStackFile, StackFile, StackFileError, stackFilePath } from "../components/config/stack-file";
import { formatSizingSummary, sizingSummary } from "../components/config/summary";
import { EXIT_INVALID, EXIT_OK, InputError, runCommand, UsageError, userPath } from "./args";

const spec = {
  name: "check",
  synopsis: "--stack <name> [--dir <project dir>] [--json]",
  help: [
    "Validates Pulumi.<name>.yaml as `pulumi up` would, offline: every error at once, each naming its",
    "key, value and fix; then the engine and model folders, when they are on this machine; then the",
    "sizing summary and cost. Secrets are only seen as set or not set.",
    "",
    "  --stack <name>   the stack (Pulumi.<name>.yaml)",
    "  --dir <dir>      the project folder holding the stack file (default: the project)",
    "  --json           one JSON document instead of text",
    "",
    "exit 0 ok (notes may remain), 1 invalid configuration, 2 usage",
  ].join("\n"),
  options: {
    stack: { type: "string" },
    dir: { type: "string" },
    json: { type: "boolean" },
  },
} as const;

function loadStackFile(projectDir: string, stack: string): StackFile {
  const file = stackFilePath(projectDir, stack);
  if (!existsSync(file)) {
    throw new UsageError(
      `${file} does not exist: create it with 'pulumi stack init ${stack}' and set its config, or pass --dir <project dir>`,
    );
  }
  try {
    return readStackFile(projectDir, stack);
  } catch (error) {
    if (error instanceof StackFileError) throw new InputError(error.message);
    throw error;
  }
}

void runCommand(spec, ({ values }) => {
  if (values.stack === undefined) throw new UsageError("--stack is required");
  // npm runs scripts from the project root, where the stack files are.
  const projectDir = values.dir === undefined ? process.cwd() : userPath(values.dir);
  const stackFile = loadStackFile(projectDir, values.stack);
  const result = parseStackConfig(stackFile.raw);
  const local = checkLocalInputsOf(result, projectDir);
  const errors = [...result.errors, ...local.errors];
  const notes = [...result.missingSecrets, ...result.placeholders, ...local.absent];
  const summary = result.config && errors.length === 0 ? sizingSummary(result.config) : undefined;
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          ok: errors.length === 0,
          errors,
          warnings: result.warnings,
          missingSecrets: result.missingSecrets,
          placeholders: result.placeholders,
          absentFolders: local.absent,
          summary,
        },
        null,
        2,
      ),
    );
    return errors.length === 0 ? EXIT_OK : EXIT_INVALID;
  }
  for (const key of stackFile.plaintextSecrets) {
    console.log(
      `warning: ${key} is stored in plain text in ${stackFile.path}. Fix: pulumi config set --secret ${key} <value>`,
    );
  }
  for (const warning of result.warnings) console.log(`warning: ${formatConfigError(warning)}`);
  for (const note of notes)
    console.log(`note (pulumi up fails until it is fixed): ${formatConfigError(note)}`);
  if (errors.length > 0) {
    console.error(`${stackFile.path}: ${errors.length} error(s)`);
    for (const error of errors) console.error(`error: ${formatConfigError(error)}`);
    return EXIT_INVALID;
  }
  if (summary) console.log(formatSizingSummary(summary));
  console.log(
    notes.length === 0
      ? `${stackFile.path}: ok`
      : `${stackFile.path}: ok, with ${notes.length} note(s) to resolve before pulumi up`,
  );
  return EXIT_OK;
});

/**
 * Offline stack check: `npm run -s check -- --stack <name>`. Reads Pulumi.<name>.yaml, applies the
 * program's own validation, prints the sizing summary, and exits 1 listing every error. Needs no
 * Pulumi CLI and no cloud credentials, so it is what a pull-request check runs first.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatConfigError, parseStackConfig } from "../components/config";
import { readStackFile, StackFile, stackFilePath } from "../components/stack-file";
import { formatSizingSummary, sizingSummary } from "../components/summary";

const USAGE = "usage: npm run -s check -- --stack <name> [--dir <project dir>] [--json]";

function main(): number {
  let values: { stack?: string; dir?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        stack: { type: "string" },
        dir: { type: "string", default: process.cwd() },
        json: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.stack === undefined) {
    console.error(USAGE);
    return 2;
  }
  const projectDir = values.dir ?? process.cwd();
  if (!existsSync(stackFilePath(projectDir, values.stack))) {
    console.error(
      `${stackFilePath(projectDir, values.stack)} does not exist: create it with 'pulumi stack init ${values.stack}' and set its config`,
    );
    return 2;
  }
  let stackFile: StackFile;
  try {
    stackFile = readStackFile(projectDir, values.stack);
  } catch (error) {
    console.error(
      `${stackFilePath(projectDir, values.stack)} is not a readable stack file: ${(error as Error).message}`,
    );
    return 2;
  }
  const result = parseStackConfig(stackFile.raw);
  const summary = result.config ? sizingSummary(result.config) : undefined;
  if (values.json) {
    console.log(
      JSON.stringify({ ok: result.errors.length === 0, ...result, config: undefined, summary }, null, 2),
    );
    return result.errors.length === 0 ? 0 : 1;
  }
  for (const key of stackFile.plaintextSecrets) {
    console.log(
      `warning: ${key} is stored in plain text in ${stackFile.path}. Fix: pulumi config set --secret ${key} <value>`,
    );
  }
  for (const warning of result.warnings) console.log(`warning: ${formatConfigError(warning)}`);
  for (const missing of result.missingSecrets)
    console.log(`note (pulumi up fails without it): ${formatConfigError(missing)}`);
  if (result.errors.length > 0) {
    console.error(`${stackFile.path}: ${result.errors.length} error(s)`);
    for (const error of result.errors) console.error(`error: ${formatConfigError(error)}`);
    return 1;
  }
  if (summary) console.log(formatSizingSummary(summary));
  console.log(`${stackFile.path}: ok`);
  return 0;
}

process.exitCode = main();

/**
 * Renders the pull-request comment from what the preview jobs left on disk:
 * `npm run -s pr-comment -- --dir <previews> [--run-url <url>] [--commit <sha>]`.
 * `<previews>/<stack>/check.json` is `check --json` output (and `check.stderr` its stderr, shown
 * when it printed no report); beside it, when the preview ran,
 * `preview.log` (its output) and `preview.outcome` (the step outcome). Prints the body to stdout.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import {
  checkCrashReport,
  CommentInputError,
  parseCheckReport,
  parsePreviewOutcome,
  renderPrComment,
  type StackPreview,
} from "../operations/pr-comment";

const USAGE = "usage: npm run -s pr-comment -- --dir <previews dir> [--run-url <url>] [--commit <sha>]";
const HELP = `${USAGE}

<previews dir> holds one folder per stack, named after it, with:
  check.json       npm run -s check -- --stack <stack> --json
  check.stderr     its stderr (shown when it printed no report)
  preview.log      pulumi preview output (when the preview ran)
  preview.outcome  success | failure | cancelled | skipped (when the preview ran)
Exit codes: 0 body printed, 1 a file is missing or unreadable, 2 usage.`;

function readStack(dir: string, stack: string): StackPreview {
  const checkPath = path.join(dir, stack, "check.json");
  if (!existsSync(checkPath)) {
    throw new CommentInputError(
      checkPath,
      "does not exist",
      `write it with npm run -s check -- --stack ${stack} --json`,
    );
  }
  const report = readFileSync(checkPath, "utf8");
  const stderrPath = path.join(dir, stack, "check.stderr");
  const stderr = existsSync(stderrPath) ? readFileSync(stderrPath, "utf8") : "";
  const check =
    report.trim() === "" && stderr.trim() !== ""
      ? checkCrashReport(stack, stderr)
      : parseCheckReport(report, checkPath);
  const logPath = path.join(dir, stack, "preview.log");
  const outcomePath = path.join(dir, stack, "preview.outcome");
  if (!existsSync(outcomePath)) return { stack, check };
  const outcome = parsePreviewOutcome(readFileSync(outcomePath, "utf8"), outcomePath);
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  return { stack, check, preview: { outcome, log } };
}

function main(): number {
  let values: { dir?: string; "run-url"?: string; commit?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        dir: { type: "string" },
        "run-url": { type: "string" },
        commit: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.dir === undefined) {
    console.error(`--dir is required\n${USAGE}`);
    return 2;
  }
  const dir = path.resolve(process.env.INIT_CWD ?? process.cwd(), values.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(
      `--dir ${dir} is not a folder. Fix: point it at the folder the preview jobs' artifacts were downloaded to`,
    );
    return 1;
  }
  const stacks = readdirSync(dir).filter((name) => statSync(path.join(dir, name)).isDirectory());
  if (stacks.length === 0) {
    console.error(`--dir ${dir} has no stack folders. Fix: each preview job uploads <stack>/check.json`);
    return 1;
  }
  try {
    const body = renderPrComment(
      stacks.map((stack) => readStack(dir, stack)),
      { runUrl: values["run-url"], commit: values.commit },
    );
    console.log(body);
    return 0;
  } catch (error) {
    if (error instanceof CommentInputError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main();

/**
 * Renders the pull-request comment from what the preview jobs left on disk:
 * `npm run -s pr-comment -- --dir <previews> [--run-url <url>] [--commit <sha>]`.
 * `<previews>/<stack>/check.json` is `check --json` output (and `check.stderr` its stderr, shown
 * when it printed no report); beside it, when the preview ran,
 * `preview.log` (its output) and `preview.outcome` (the step outcome). Prints the body to stdout.
 * The folder is read and the body rendered by operations/pr-comment.ts.
 */
import path from "node:path";
import { parseArgs } from "node:util";

import { UserError } from "../operations/errors";
import { commentFromPreviews } from "../operations/pr-comment";

const USAGE = "usage: npm run -s pr-comment -- --dir <previews dir> [--run-url <url>] [--commit <sha>]";
const HELP = `${USAGE}

<previews dir> holds one folder per stack, named after it, with:
  check.json       npm run -s check -- --stack <stack> --json
  check.stderr     its stderr (shown when it printed no report)
  preview.log      pulumi preview output (when the preview ran)
  preview.outcome  success | failure | cancelled | skipped (when the preview ran)
Exit codes: 0 body printed, 1 a file is missing or unreadable, 2 usage.`;

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
  try {
    console.log(commentFromPreviews(dir, { runUrl: values["run-url"], commit: values.commit }));
    return 0;
  } catch (error) {
    if (error instanceof UserError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

process.exitCode = main();

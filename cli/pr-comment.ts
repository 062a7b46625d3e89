/**
 * Renders the pull-request comment from what the preview jobs left on disk:
 * `npm run -s pr-comment -- --dir <previews> [--run-url <url>] [--commit <sha>]`.
 * `<previews>/<stack>/check.json` is `check --json` output (and `check.stderr` its stderr, shown
 * when it printed no report); beside it, when the preview ran,
 * `preview.log` (its output) and `preview.outcome` (the step outcome). Prints the body to stdout.
 * The folder is read and the body rendered by operations/pr/pr-comment.ts.
 */
import { commentFromPreviews } from "../operations/pr/pr-comment";
import { EXIT_OK, runCommand, UsageError, userPath } from "./args";

const spec = {
  name: "pr-comment",
  synopsis: "--dir <previews dir> [--run-url <url>] [--commit <sha>]",
  help: [
    "<previews dir> holds one folder per stack, named after it, with:",
    "  check.json       npm run -s check -- --stack <stack> --json",
    "  check.stderr     its stderr (shown when it printed no report)",
    "  preview.log      pulumi preview output (when the preview ran)",
    "  preview.outcome  success | failure | cancelled | skipped (when the preview ran)",
    "Prints the comment body on stdout. A missing or unreadable file exits 1, naming it.",
  ].join("\n"),
  options: {
    dir: { type: "string" },
    "run-url": { type: "string" },
    commit: { type: "string" },
  },
} as const;

void runCommand(spec, ({ values }, io) => {
  if (values.dir === undefined) throw new UsageError("--dir is required");
  const body = commentFromPreviews(userPath(values.dir, io.cwd), {
    runUrl: values["run-url"],
    commit: values.commit,
  });
  io.write(`${body}\n`);
  return EXIT_OK;
});

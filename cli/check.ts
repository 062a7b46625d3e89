/**
 * Offline stack check: `npm run -s check -- --stack <name>`. Reads Pulumi.<name>.yaml, applies the
 * program's own validation, verifies the engine and model folders when they are on this machine,
 * prints the sizing summary, and exits 1 listing every error. Needs no Pulumi CLI and no cloud
 * credentials, so it is what a pull-request check runs first. The check is operations/check.ts.
 */
import { checkReportJson, checkStack, printCheckReport } from "../operations/check";
import { EXIT_INVALID, EXIT_OK, runCommand, UsageError, userPath } from "./args";

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

void runCommand(spec, ({ values }) => {
  if (values.stack === undefined) throw new UsageError("--stack is required");
  // npm runs scripts from the project root, where the stack files are.
  const projectDir = values.dir === undefined ? process.cwd() : userPath(values.dir);
  const check = checkStack(projectDir, values.stack);
  if (values.json) console.log(checkReportJson(check));
  else printCheckReport(check, console);
  return check.errors.length === 0 ? EXIT_OK : EXIT_INVALID;
});

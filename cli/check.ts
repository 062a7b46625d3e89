/**
 * Offline stack check: `npm run -s check -- --stack <name>`. Reads Pulumi.<name>.yaml, applies the
 * program's own validation, verifies the engine and model folders when they are on this machine,
 * prints the sizing summary, and ends with one line saying whether `pulumi up` would go ahead. Its
 * exit status says the same, so a workflow can stop before `pulumi up`: 1 listing every error, 3 when
 * the configuration is valid but inputs are still missing. Needs no Pulumi CLI and no cloud
 * credentials, so it is what a pull-request check runs first. The check is operations/check.ts.
 */
import {
  checkReportJson,
  checkStack,
  checkSummary,
  checkVerdict,
  type CheckVerdict,
  hubAccessFromEnvironment,
  printCheckReport,
  verifyModelOnHub,
} from "../operations/check";
import { EXIT_INVALID, EXIT_NOT_DEPLOYABLE, EXIT_OK, runCommand, UsageError, userPath } from "./args";

const EXIT_CODES: Record<CheckVerdict, number> = {
  deployable: EXIT_OK,
  invalid: EXIT_INVALID,
  "not deployable": EXIT_NOT_DEPLOYABLE,
};

const spec = {
  name: "check",
  synopsis: "--stack <name> [--dir <project dir>] [--json] [--online]",
  help: [
    "Validates Pulumi.<name>.yaml as `pulumi up` would, offline: every error at once, each naming its",
    "key, value and fix; then the engine and model folders, when they are on this machine; then the",
    "sizing summary and cost. Secrets are only seen as set or not set.",
    "",
    "  --stack <name>   the stack (Pulumi.<name>.yaml)",
    "  --dir <dir>      the project folder holding the stack file (default: the project)",
    "  --json           one JSON document instead of text",
    "  --online         also compare the model's config.json on the Hugging Face Hub with the stack",
    "                   (HF_TOKEN for a gated model); offline the model is reported unverified",
    "",
    "The last line says whether `pulumi up` would go ahead, and so does the exit status (below): 0",
    "deployable, 1 invalid (pulumi preview and pulumi up refuse it), 3 valid but not deployable yet.",
    "With --json the document is stdout and that line is stderr.",
  ].join("\n"),
  options: {
    stack: { type: "string" },
    dir: { type: "string" },
    json: { type: "boolean" },
    online: { type: "boolean" },
  },
} as const;

void runCommand(spec, async ({ values }) => {
  if (values.stack === undefined) throw new UsageError("--stack is required");
  // npm runs scripts from the project root, where the stack files are.
  const projectDir = values.dir === undefined ? process.cwd() : userPath(values.dir);
  const offline = checkStack(projectDir, values.stack);
  const check = values.online
    ? await verifyModelOnHub(offline, hubAccessFromEnvironment(process.env))
    : offline;
  if (values.json) {
    console.log(checkReportJson(check));
    console.error(checkSummary(check));
  } else printCheckReport(check, console);
  return EXIT_CODES[checkVerdict(check)];
});

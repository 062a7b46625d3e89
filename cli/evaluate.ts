/**
 * `npm run -s evaluate -- --stack <name>`: up, wait until the deployment answers, run the prompt
 * set, report, destroy (unless --keep). The evaluation is operations/evaluate/evaluate.ts.
 */
import {
  DEFAULT_PROMPTS,
  evaluate,
  type EvaluateOptions,
  hubCacheDir,
} from "../operations/evaluate/evaluate";
import { automationBackend } from "../operations/stacks";
import {
  authOptions,
  type CliIo,
  EXIT_INVALID,
  EXIT_OK,
  type ParsedCommandLine,
  positiveInteger,
  positiveNumber,
  runCommand,
  stackArgument,
  UsageError,
  userPath,
} from "./args";

export const evaluateCommand = {
  name: "evaluate",
  synopsis: "--stack <name> [options]",
  help: `  --stack <name>            the stack to bring up, evaluate and destroy
  --keep                    leave the stack running afterwards (it keeps costing its hourly rate)
  --prompts <file.jsonl>    prompt set, one {"id", "prompt", "maxTokens"?} a line (default: operations/evaluate/prompts.jsonl)
  --concurrency <n>         prompts in flight at once (default 2)
  --max-tokens <n>          tokens per answer when a prompt sets none (default: the stack's example body)
  --ready-timeout <minutes> how long to wait for the deployment to answer after up (default 60)
  --poll-seconds <s>        interval between readiness checks (default 15)
  --out <dir>               where the JSON and Markdown reports go (default reports/)
  --tokenizer <path>        the model's tokenizer.json (or its folder) to count output tokens with
                            (default: model.localDir's, else the Hugging Face cache's snapshot of the model)
  --auth, --profile, --config-file, --control-plane-endpoint   as for invoke
  --dir <path>              project folder (default: the current folder)
  --help                    this text`,
  options: {
    stack: { type: "string" },
    keep: { type: "boolean", default: false },
    prompts: { type: "string" },
    concurrency: { type: "string" },
    "max-tokens": { type: "string" },
    "ready-timeout": { type: "string" },
    "poll-seconds": { type: "string" },
    out: { type: "string", default: "reports" },
    tokenizer: { type: "string" },
    auth: { type: "string", default: "api_key" },
    profile: { type: "string" },
    "config-file": { type: "string" },
    "control-plane-endpoint": { type: "string" },
    dir: { type: "string" },
    help: { type: "boolean", default: false },
  },
  positionals: 0,
  layout: "full",
} as const;

export function evaluateOptions(
  { values }: ParsedCommandLine<typeof evaluateCommand.options>,
  cwd: string,
): EvaluateOptions {
  if (values.stack === undefined) throw new UsageError("pass --stack <name>");
  return {
    stack: stackArgument(values.stack),
    keep: values.keep,
    concurrency: positiveInteger(values.concurrency, "--concurrency", 2),
    maxTokens:
      values["max-tokens"] === undefined
        ? undefined
        : positiveInteger(values["max-tokens"], "--max-tokens", 64),
    readyTimeoutMs: positiveNumber(values["ready-timeout"], "--ready-timeout", 60) * 60_000,
    pollMs: positiveNumber(values["poll-seconds"], "--poll-seconds", 15) * 1000,
    projectDir: userPath(values.dir ?? ".", cwd),
    promptsFile: values.prompts === undefined ? DEFAULT_PROMPTS : userPath(values.prompts, cwd),
    auth: authOptions(values, cwd),
    outDir: userPath(values.out, cwd),
    tokenizer: values.tokenizer === undefined ? undefined : userPath(values.tokenizer, cwd),
    hubCache: hubCacheDir(process.env),
    controlPlaneEndpoint: values["control-plane-endpoint"],
  };
}

export async function evaluateMain(
  args: ParsedCommandLine<typeof evaluateCommand.options>,
  io: CliIo,
): Promise<number> {
  const options = evaluateOptions(args, io.cwd);
  const succeeded = await evaluate(options, {
    output: io,
    backend: automationBackend(options.projectDir),
    signals: process,
    sigintReachesPulumi: process.stdin.isTTY === true,
  });
  return succeeded ? EXIT_OK : EXIT_INVALID;
}

if (require.main === module) void runCommand(evaluateCommand, evaluateMain);

/**
 * `npm run -s invoke -- --stack <name> "<prompt>"`: one signed call to the stack's deployment
 * through the OCI SDK. The call is operations/endpoint/invoke.ts.
 */
import { invoke, type InvokeOptions } from "../operations/endpoint/invoke";
import { automationBackend } from "../operations/stacks";
import {
  authOptions,
  type CliIo,
  EXIT_OK,
  type ParsedCommandLine,
  positiveInteger,
  runCommand,
  stackArgument,
  UsageError,
  userPath,
} from "./args";

export const invokeCommand = {
  name: "invoke",
  synopsis: '[--stack <name> | --endpoint <url>] [options] "<prompt>"',
  help: `  --stack <name>            call the stack's predictUrl (read through Pulumi); the body uses its config
  --endpoint <url>          call this deployment URL instead (with --stack, only the URL changes)
  --model <huggingFaceId>   without --stack: the catalogue model whose end/pad ids to send (default tiiuae/falcon-7b-instruct)
  --chat                    an OpenAI chat completion on <deployment>/predict/v1/chat/completions; a stack whose api output is openai gets one anyway
  --openai-model <name>     with --chat: the model the OpenAI frontend serves (default: the stack's openaiModel output)
  --auth <method>           api_key (default), instance_principal, resource_principal, security_token
  --profile <name>          OCI config profile (default: $OCI_CLI_PROFILE, else DEFAULT)
  --config-file <path>      OCI config file (default: $OCI_CLI_CONFIG_FILE, else ~/.oci/config)
  --control-plane-endpoint <url>  Data Science API endpoint (default: from the profile's region)
  --max-tokens <n>          tokens to generate (default: the stack's example body, 64)
  --stream                  call /predictWithResponseStream and print text as it arrives
  --json                    print the whole answer, latency and attempts as JSON
  --dir <path>              project folder (default: the current folder)
  --help                    this text`,
  options: {
    stack: { type: "string" },
    endpoint: { type: "string" },
    model: { type: "string", default: "tiiuae/falcon-7b-instruct" },
    chat: { type: "boolean", default: false },
    "openai-model": { type: "string" },
    auth: { type: "string", default: "api_key" },
    profile: { type: "string" },
    "config-file": { type: "string" },
    "control-plane-endpoint": { type: "string" },
    "max-tokens": { type: "string" },
    stream: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    dir: { type: "string" },
    help: { type: "boolean", default: false },
  },
  positionals: "any",
  layout: "full",
} as const;

export function invokeOptions(
  { values, positionals }: ParsedCommandLine<typeof invokeCommand.options>,
  cwd: string,
): InvokeOptions {
  if (positionals.length !== 1 || positionals[0].trim() === "") {
    throw new UsageError(`expected one prompt argument, got ${positionals.length}: quote the prompt`);
  }
  if (values.stack === undefined && values.endpoint === undefined) {
    throw new UsageError("pass --stack <name> or --endpoint <url>");
  }
  return {
    stack: values.stack === undefined ? undefined : stackArgument(values.stack),
    endpoint: values.endpoint,
    model: values.model,
    chat: values.chat,
    openaiModel: values["openai-model"],
    prompt: positionals[0],
    maxTokens:
      values["max-tokens"] === undefined
        ? undefined
        : positiveInteger(values["max-tokens"], "--max-tokens", 64),
    stream: values.stream,
    json: values.json,
    projectDir: userPath(values.dir ?? ".", cwd),
    auth: authOptions(values, cwd),
    controlPlaneEndpoint: values["control-plane-endpoint"],
  };
}

export async function invokeMain(
  args: ParsedCommandLine<typeof invokeCommand.options>,
  io: CliIo,
): Promise<number> {
  const options = invokeOptions(args, io.cwd);
  await invoke(options, { output: io, backend: automationBackend(options.projectDir) });
  return EXIT_OK;
}

if (require.main === module) void runCommand(invokeCommand, invokeMain);

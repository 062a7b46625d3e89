/**
 * `invoke`: one signed generate call to a stack's deployment (or any deployment URL), printing the
 * text as it arrives, or the whole answer with its latency as JSON.
 */
import { callGenerate } from "./call";
import { type CliIo, parseCommandLine, positiveInteger, resolveFrom, runCommand, stackArgument } from "./cli";
import { UsageError, UserError } from "./errors";
import {
  createDeploymentClient,
  explainInvokeError,
  parseDeploymentUrl,
  stateAfterFailure,
} from "./deployment-client";
import { authOptions, createAuthProvider, httpStatus } from "./oci-client";
import { catalogueRequestBody, loadStackConfig, stackRequestBody } from "./request-body";
import { PREDICT_BACKOFF } from "./retry";
import { deploymentOutputs, type StackBackend } from "./stacks";

export const INVOKE_USAGE = `usage: npm run -s invoke -- [--stack <name> | --endpoint <url>] [options] "<prompt>"
  --stack <name>            call the stack's predictUrl (read through Pulumi); the body uses its config
  --endpoint <url>          call this deployment URL instead (with --stack, only the URL changes)
  --model <huggingFaceId>   without --stack: the catalogue model whose end/pad ids to send (default tiiuae/falcon-7b-instruct)
  --auth <method>           api_key (default), instance_principal, resource_principal, security_token
  --profile <name>          OCI config profile (default: $OCI_CLI_PROFILE, else DEFAULT)
  --config-file <path>      OCI config file (default: $OCI_CLI_CONFIG_FILE, else ~/.oci/config)
  --control-plane-endpoint <url>  Data Science API endpoint (default: from the profile's region)
  --max-tokens <n>          tokens to generate (default: the stack's example body, 64)
  --stream                  call /predictWithResponseStream and print text as it arrives
  --json                    print the whole answer, latency and attempts as JSON
  --dir <path>              project folder (default: the current folder)
  --help                    this text`;

const OPTIONS = {
  stack: { type: "string" },
  endpoint: { type: "string" },
  model: { type: "string", default: "tiiuae/falcon-7b-instruct" },
  auth: { type: "string", default: "api_key" },
  profile: { type: "string" },
  "config-file": { type: "string" },
  "control-plane-endpoint": { type: "string" },
  "max-tokens": { type: "string" },
  stream: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  dir: { type: "string" },
  help: { type: "boolean", default: false },
} as const;

export async function invokeMain(
  argv: string[],
  io: CliIo,
  backend: (projectDir: string) => StackBackend,
): Promise<number> {
  return runCommand(io, INVOKE_USAGE, async () => {
    const { values, positionals } = parseCommandLine(argv, OPTIONS);
    if (values.help) {
      io.write(`${INVOKE_USAGE}\n`);
      return 0;
    }
    if (positionals.length !== 1 || positionals[0].trim() === "") {
      throw new UsageError(`expected one prompt argument, got ${positionals.length}: quote the prompt`);
    }
    if (values.stack === undefined && values.endpoint === undefined) {
      throw new UsageError("pass --stack <name> or --endpoint <url>");
    }
    if (values.stack !== undefined) stackArgument(values.stack);
    const prompt = positionals[0];
    const maxTokens =
      values["max-tokens"] === undefined
        ? undefined
        : positiveInteger(values["max-tokens"], "--max-tokens", 64);
    const projectDir = resolveFrom(io, values.dir ?? ".");
    const auth = authOptions(io, values);
    const call = { prompt, maxTokens, stream: values.stream };

    let url = values.endpoint;
    if (url === undefined && values.stack !== undefined) {
      const outputs = deploymentOutputs(values.stack, await backend(projectDir).outputs(values.stack));
      if (values.stream && outputs.predictStreamUrl === undefined) {
        throw new UserError(
          `stack '${values.stack}' does not stream: it exports no predictStreamUrl. Fix: pulumi config set --path deployment.streaming true, then pulumi up; or call without --stream`,
        );
      }
      url = values.stream ? outputs.predictStreamUrl : outputs.predictUrl;
    }
    const target = parseDeploymentUrl(
      url ?? "",
      values.endpoint === undefined ? "the stack's predictUrl" : "--endpoint",
    );
    const body =
      values.stack === undefined
        ? catalogueRequestBody(values.model, call)
        : stackRequestBody(loadStackConfig(projectDir, values.stack), call);
    const client = createDeploymentClient(await createAuthProvider(auth), auth, target, {
      controlPlaneEndpoint: values["control-plane-endpoint"],
    });

    const bodyBytes = Buffer.byteLength(JSON.stringify(body));
    try {
      const result = await callGenerate(client, body, {
        stream: values.stream,
        policy: PREDICT_BACKOFF,
        onText: values.json ? undefined : (piece) => io.write(piece),
        onRetry: (error, delayMs, nextAttempt) =>
          io.error(
            `HTTP ${httpStatus(error)} from the deployment: retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${nextAttempt} of ${PREDICT_BACKOFF.attempts})`,
          ),
      });
      if (values.json) {
        const report = {
          text_output: result.text,
          answer: result.answer,
          latencyMs: Math.round(result.latencyMs),
          ...(result.timeToFirstTokenMs === undefined
            ? {}
            : { timeToFirstTokenMs: Math.round(result.timeToFirstTokenMs) }),
          ...(result.outputTokens === undefined ? {} : { outputTokens: result.outputTokens }),
          attempts: result.attempts,
        };
        io.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        io.write("\n");
      }
      return 0;
    } catch (error) {
      const state = await stateAfterFailure(client, error);
      throw new UserError(
        explainInvokeError(error, { target, bodyBytes, auth, attempts: PREDICT_BACKOFF.attempts }, state),
      );
    }
  });
}

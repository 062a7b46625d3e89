/**
 * The seam between the operations commands and the Pulumi CLI: everything `evaluate`, `reap` and
 * `invoke --stack` ask of Pulumi goes through `StackBackend`. Users run `automationBackend`, the
 * Automation API over the project in `projectDir`; tests drive the commands with a stand-in.
 */
import { LocalWorkspace, type OutputMap, type Stack } from "@pulumi/pulumi/automation";
import { DEPLOYMENT_APIS, type DeploymentApi } from "./endpoint/chat";
import { UserError } from "./errors";

/** Output name -> plain value (secret outputs come back as values; they are never printed). */
export type StackOutputs = Readonly<Record<string, unknown>>;

export interface RunOptions {
  /** Pulumi's progress output (stdout and stderr), as it arrives. */
  readonly onOutput: (text: string) => void;
  /** Cancels the operation the way Ctrl-C does (the CLI gets SIGINT and stops cleanly). */
  readonly signal?: AbortSignal;
}

export interface StackBackend {
  up(stack: string, options: RunOptions): Promise<StackOutputs>;
  destroy(stack: string, options: RunOptions): Promise<void>;
  outputs(stack: string): Promise<StackOutputs>;
  /** Stacks of this project in the current backend. */
  listStacks(): Promise<string[]>;
}

/**
 * One line for a failed Pulumi CLI run. The Automation API's CommandError message is
 * "code: N\n stdout: ...\n stderr: ...\n err?: ..." (CommandResult.toString, @pulumi/pulumi
 * automation/cmd.js); the stderr part says what went wrong.
 */
export function pulumiFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/spawn pulumi ENOENT/.test(message)) {
    return "the Pulumi CLI is not installed or not on PATH (the Automation API runs it). Fix: install it, https://www.pulumi.com/docs/install/";
  }
  const stderr = /\n stderr: ([\s\S]*?)(\n err\?:|$)/.exec(message)?.[1];
  const lines = (stderr ?? message).split("\n").map((line) => line.trim());
  return lines.filter((line) => line !== "").join(" ") || message;
}

function plainOutputs(outputs: OutputMap): StackOutputs {
  return Object.fromEntries(Object.entries(outputs).map(([name, output]) => [name, output.value]));
}

/** The real backend: the Pulumi CLI through the Automation API, on the project in `projectDir`. */
export function automationBackend(projectDir: string): StackBackend {
  const select = async (stackName: string): Promise<Stack> => {
    try {
      return await LocalWorkspace.selectStack({ stackName, workDir: projectDir });
    } catch (error) {
      throw new UserError(`cannot select stack '${stackName}' in ${projectDir}: ${pulumiFailure(error)}`);
    }
  };
  const run = async <T>(action: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      throw error instanceof UserError ? error : new UserError(`${action} failed: ${pulumiFailure(error)}`);
    }
  };
  return {
    up: (stackName, options) =>
      run(`pulumi up --stack ${stackName}`, async () => {
        const stack = await select(stackName);
        const result = await stack.up({
          onOutput: options.onOutput,
          onError: options.onOutput,
          signal: options.signal,
          color: "never",
        });
        return plainOutputs(result.outputs);
      }),
    destroy: (stackName, options) =>
      run(`pulumi destroy --stack ${stackName}`, async () => {
        const stack = await select(stackName);
        await stack.destroy({
          onOutput: options.onOutput,
          onError: options.onOutput,
          signal: options.signal,
          color: "never",
        });
      }),
    outputs: (stackName) =>
      run(`pulumi stack output --stack ${stackName}`, async () =>
        plainOutputs(await (await select(stackName)).outputs()),
      ),
    listStacks: () =>
      run("pulumi stack ls", async () => {
        const workspace = await LocalWorkspace.create({ workDir: projectDir });
        return (await workspace.listStacks()).map((summary) => summary.name);
      }),
  };
}

/** What the operations commands read from a stack's outputs (index.ts exports them). */
export interface DeploymentOutputs {
  readonly predictUrl: string;
  readonly predictStreamUrl?: string;
  /** The API the container serves; a stack that exports no `api` output serves Triton's generate. */
  readonly api: DeploymentApi;
  /** With `api: openai`: the model name the OpenAI frontend serves, which every request names. */
  readonly openaiModel?: string;
  readonly modelDeploymentId?: string;
  readonly expiresAt?: string;
  /**
   * Minutes per phase of the engine build that made the artifact (`engine.phaseMinutes`: measured
   * on the build host), when the stack exports them.
   */
  readonly buildPhaseMinutes?: Readonly<Record<string, number>>;
}

function phaseMinutes(outputs: StackOutputs): Record<string, number> | undefined {
  const engine = outputs["engine"];
  const phases =
    typeof engine === "object" && engine !== null
      ? (engine as Record<string, unknown>)["phaseMinutes"]
      : undefined;
  if (typeof phases !== "object" || phases === null) return undefined;
  const numbers = Object.entries(phases).filter(
    (entry): entry is [string, number] => typeof entry[1] === "number",
  );
  return numbers.length === 0 ? undefined : Object.fromEntries(numbers);
}

function optionalString(outputs: StackOutputs, name: string): string | undefined {
  const value = outputs[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The deployment's outputs; `undefined` fields were not exported (a stack without them is older). */
export function deploymentOutputs(stack: string, outputs: StackOutputs): DeploymentOutputs {
  const predictUrl = optionalString(outputs, "predictUrl");
  if (predictUrl === undefined) {
    throw new UserError(
      `stack '${stack}' has no predictUrl output: it is not deployed. Fix: 'pulumi up --stack ${stack}' (or 'npm run -s evaluate -- --stack ${stack}')`,
    );
  }
  const api = optionalString(outputs, "api") ?? "triton";
  if (!DEPLOYMENT_APIS.includes(api as DeploymentApi)) {
    throw new UserError(
      `stack '${stack}' exports api '${api}', which this command does not know (${DEPLOYMENT_APIS.join(", ")}). Fix: update this checkout (git pull) to the commit that deployed it`,
    );
  }
  const openaiModel = optionalString(outputs, "openaiModel");
  if (api === "openai" && openaiModel === undefined) {
    throw new UserError(
      `stack '${stack}' exports api 'openai' but no openaiModel: the model name its OpenAI frontend serves is unknown. Fix: 'pulumi up --stack ${stack}' with this checkout, which exports it`,
    );
  }
  return {
    predictUrl,
    predictStreamUrl: optionalString(outputs, "predictStreamUrl"),
    api: api as DeploymentApi,
    ...(openaiModel === undefined ? {} : { openaiModel }),
    modelDeploymentId: optionalString(outputs, "modelDeploymentId"),
    expiresAt: optionalString(outputs, "expiresAt"),
    buildPhaseMinutes: phaseMinutes(outputs),
  };
}

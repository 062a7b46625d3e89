/**
 * The seam between the operations commands and the Pulumi CLI: everything `evaluate`, `reap` and
 * `invoke --stack` ask of Pulumi goes through `StackBackend`. Users run `automationBackend`, the
 * Automation API over the project in `projectDir`; tests drive the commands with a stand-in.
 */
import { LocalWorkspace, type OutputMap, type Stack } from "@pulumi/pulumi/automation";
import { UserError } from "./errors";

/** Output name -> plain value (secret outputs come back as values; they are never printed). */
export type StackOutputs = Readonly<Record<string, unknown>>;

export interface RunOptions {
  /** Pulumi's progress output, as it arrives. */
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

function plainOutputs(outputs: OutputMap): StackOutputs {
  return Object.fromEntries(Object.entries(outputs).map(([name, output]) => [name, output.value]));
}

/** The real backend: the Pulumi CLI through the Automation API, on the project in `projectDir`. */
export function automationBackend(projectDir: string): StackBackend {
  const select = async (stackName: string): Promise<Stack> => {
    try {
      return await LocalWorkspace.selectStack({ stackName, workDir: projectDir });
    } catch (error) {
      throw new UserError(
        `cannot select stack '${stackName}' in ${projectDir}: ${(error as Error).message.split("\n")[0]}. Fix: 'pulumi stack ls' lists the stacks; 'pulumi login' selects the backend`,
      );
    }
  };
  return {
    async up(stackName, options) {
      const stack = await select(stackName);
      const result = await stack.up({ onOutput: options.onOutput, signal: options.signal, color: "never" });
      return plainOutputs(result.outputs);
    },
    async destroy(stackName, options) {
      const stack = await select(stackName);
      await stack.destroy({ onOutput: options.onOutput, signal: options.signal, color: "never" });
    },
    async outputs(stackName) {
      return plainOutputs(await (await select(stackName)).outputs());
    },
    async listStacks() {
      const workspace = await LocalWorkspace.create({ workDir: projectDir });
      return (await workspace.listStacks()).map((summary) => summary.name);
    },
  };
}

/** What the operations commands read from a stack's outputs (index.ts exports them). */
export interface DeploymentOutputs {
  readonly predictUrl: string;
  readonly predictStreamUrl?: string;
  readonly modelDeploymentId?: string;
  readonly expiresAt?: string;
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
  return {
    predictUrl,
    predictStreamUrl: optionalString(outputs, "predictStreamUrl"),
    modelDeploymentId: optionalString(outputs, "modelDeploymentId"),
    expiresAt: optionalString(outputs, "expiresAt"),
  };
}

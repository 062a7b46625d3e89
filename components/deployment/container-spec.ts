/**
 * The container the model deployment runs: Triton's command line and the environment OCI reads.
 * Pure, so the config rules can measure it against OCI's limits before anything is created and the
 * deployment component uses exactly what was measured.
 */
import { DEPLOYMENT_TIMEOUT_VARIABLE } from "./deployment-timeout";

/** Where OCI mounts the unzipped model artifact inside the container (read-only). */
export const ARTIFACT_MOUNT = "/opt/ds/model/deployed_model";

/** The models of the repository, in load order: the ensemble last, after what it calls. */
export const REPOSITORY_MODELS = ["preprocessing", "tensorrt_llm", "postprocessing", "ensemble"] as const;

/** The decoupled model a streaming stack also loads and serves: exact incremental text. */
export const STREAMING_MODEL = "tensorrt_llm_bls";

export interface ContainerSpecInput {
  readonly repositoryFolder: string;
  readonly httpPort: number;
  readonly tensorParallel: number;
  readonly streaming: boolean;
  readonly storageSizeInGBs: number;
  /** `DEPLOYMENT_TIMEOUT_IN_MINUTES`, sized by `deploymentTimeoutMinutes`, unless the user set it. */
  readonly deploymentTimeoutMinutes: number;
  /** User-supplied variables; ours win on a clash, and the rules report the clash. */
  readonly environment: Readonly<Record<string, string>>;
}

export interface ContainerSpec {
  readonly cmds: string[];
  readonly entrypoints: string[];
  readonly environment: Record<string, string>;
  readonly port: number;
}

export function repositoryPath(repositoryFolder: string): string {
  return `${ARTIFACT_MOUNT}/${repositoryFolder}`;
}

export function predictEndpoint(streaming: boolean): string {
  return streaming
    ? `/v2/models/${STREAMING_MODEL}/versions/1/generate_stream`
    : "/v2/models/ensemble/versions/1/generate";
}

/** Variables this stack sets itself; a user variable of the same name would be overwritten. */
export function managedEnvironment(input: ContainerSpecInput): Record<string, string> {
  const environment: Record<string, string> = {
    MODEL_DEPLOY_PREDICT_ENDPOINT: predictEndpoint(input.streaming),
    MODEL_DEPLOY_HEALTH_ENDPOINT: "/v2/health/ready",
    STORAGE_SIZE_IN_GB: String(input.storageSizeInGBs),
  };
  // A user's own value (checked against OCI's maximum by the rules) wins over the sized one.
  if (!Object.hasOwn(input.environment, DEPLOYMENT_TIMEOUT_VARIABLE))
    environment[DEPLOYMENT_TIMEOUT_VARIABLE] = String(input.deploymentTimeoutMinutes);
  if (input.streaming) environment.MODEL_DEPLOY_ENABLE_STREAMING = "true";
  return environment;
}

function serverArgs(input: ContainerSpecInput): string[] {
  // Explicit model control loads exactly the repository's models, so the tokenizer folder beside them in
  // the repository is never mistaken for a model. gRPC and metrics are off: OCI exposes one port.
  return [
    "tritonserver",
    `--model-repository=${repositoryPath(input.repositoryFolder)}`,
    `--http-port=${input.httpPort}`,
    "--allow-grpc=false",
    "--allow-metrics=false",
    "--disable-auto-complete-config",
    "--model-control-mode=explicit",
    ...[...REPOSITORY_MODELS, ...(input.streaming ? [STREAMING_MODEL] : [])].map(
      (model) => `--load-model=${model}`,
    ),
  ];
}

function workerArgs(input: ContainerSpecInput): string[] {
  // Ranks other than 0 only host their shard of the engine and serve no HTTP.
  return [
    "tritonserver",
    `--model-repository=${repositoryPath(input.repositoryFolder)}`,
    "--allow-http=false",
    "--allow-grpc=false",
    "--allow-metrics=false",
    "--disable-auto-complete-config",
    "--model-control-mode=explicit",
    "--load-model=tensorrt_llm",
  ];
}

export function containerSpec(input: ContainerSpecInput): ContainerSpec {
  const environment = { ...input.environment, ...managedEnvironment(input) };
  if (input.tensorParallel === 1) {
    return { cmds: serverArgs(input), entrypoints: [], environment, port: input.httpPort };
  }
  // The tensorrt_llm backend asserts MPI world size == tensor parallelism: one mpirun, rank 0 the
  // full server, the other TP-1 ranks engine workers.
  const cmds = [
    "mpirun",
    "--allow-run-as-root",
    "-n",
    "1",
    ...serverArgs(input),
    ":",
    "-n",
    String(input.tensorParallel - 1),
    ...workerArgs(input),
  ];
  return { cmds, entrypoints: [], environment, port: input.httpPort };
}

/**
 * The container the model deployment runs: Triton's command line and the environment OCI reads.
 * Pure, so the config rules can measure it against OCI's limits before anything is created and the
 * deployment component uses exactly what was measured.
 */
import { DEPLOYMENT_TIMEOUT_VARIABLE } from "./deployment-timeout";
import {
  type DeploymentApi,
  OPENAI_HEALTH_ROUTE,
  OPENAI_LAUNCHER,
  OPENAI_MODELS_FOLDER,
} from "./openai-frontend";

/** Where OCI mounts the unzipped model artifact inside the container (read-only). */
export const ARTIFACT_MOUNT = "/opt/ds/model/deployed_model";

/** The models of the repository, in load order: the ensemble last, after what it calls. */
export const REPOSITORY_MODELS = ["preprocessing", "tensorrt_llm", "postprocessing", "ensemble"] as const;

/** The artifact folder's subfolder of the tokenizer files, beside the models (never one of them). */
export const TOKENIZER_FOLDER = "tokenizer";

/** The decoupled model a streaming stack also loads and serves: exact incremental text. */
export const STREAMING_MODEL = "tensorrt_llm_bls";

export interface ContainerSpecInput {
  readonly repositoryFolder: string;
  readonly httpPort: number;
  readonly tensorParallel: number;
  readonly streaming: boolean;
  /** `openai`: the image's OpenAI frontend over the repository, instead of tritonserver; unset, triton. */
  readonly api?: DeploymentApi;
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
  /**
   * `openai` on an OpenAI stack: OCI then forwards the OpenAI routes under `/predict` and
   * `/predictWithResponseStream` to the container (`predictApiSpecification` of the deployment's
   * environment configuration, @pulumi/oci 4.20 types/input.d.ts:26279-26282).
   */
  readonly predictApiSpecification?: "openai";
}

export function repositoryPath(repositoryFolder: string): string {
  return `${ARTIFACT_MOUNT}/${repositoryFolder}`;
}

/**
 * The Triton model repository inside the container: the artifact's folder, or on an OpenAI stack its
 * models/ subfolder, which holds the models alone (deployment/openai-frontend.ts says why).
 */
export function modelRepositoryPath(repositoryFolder: string, api: DeploymentApi): string {
  const root = repositoryPath(repositoryFolder);
  return api === "openai" ? `${root}/${OPENAI_MODELS_FOLDER}` : root;
}

export function predictEndpoint(streaming: boolean): string {
  return streaming
    ? `/v2/models/${STREAMING_MODEL}/versions/1/generate_stream`
    : "/v2/models/ensemble/versions/1/generate";
}

/** Variables this stack sets itself; a user variable of the same name would be overwritten. */
export function managedEnvironment(input: ContainerSpecInput): Record<string, string> {
  // An OpenAI stack maps no predict route: OCI forwards the OpenAI routes themselves
  // (`predictApiSpecification`), and the frontend answers health at its own route.
  const environment: Record<string, string> =
    input.api === "openai"
      ? { MODEL_DEPLOY_HEALTH_ENDPOINT: OPENAI_HEALTH_ROUTE }
      : {
          MODEL_DEPLOY_PREDICT_ENDPOINT: predictEndpoint(input.streaming),
          MODEL_DEPLOY_HEALTH_ENDPOINT: "/v2/health/ready",
        };
  environment.STORAGE_SIZE_IN_GB = String(input.storageSizeInGBs);
  // A user's own value (checked against OCI's maximum by the rules) wins over the sized one.
  if (!Object.hasOwn(input.environment, DEPLOYMENT_TIMEOUT_VARIABLE))
    environment[DEPLOYMENT_TIMEOUT_VARIABLE] = String(input.deploymentTimeoutMinutes);
  // The frontend streams any request that asks (`stream: true`), which OCI passes on only through
  // /predictWithResponseStream.
  if (input.streaming || input.api === "openai") environment.MODEL_DEPLOY_ENABLE_STREAMING = "true";
  return environment;
}

/**
 * The image's OpenAI frontend through the artifact's launcher (python/launcher/openai_frontend.py),
 * with main.py's own options (server v2.57.0 python/openai/openai_frontend/main.py:92-128): the
 * models/ repository, the tokenizer the chat template comes from, the deployment's port on every
 * interface. It runs Triton in its own process and loads every model of the repository.
 */
function openaiFrontendArgs(input: ContainerSpecInput): string[] {
  return [
    "python3",
    `${repositoryPath(input.repositoryFolder)}/${OPENAI_LAUNCHER}`,
    "--model-repository",
    modelRepositoryPath(input.repositoryFolder, "openai"),
    "--tokenizer",
    `${repositoryPath(input.repositoryFolder)}/${TOKENIZER_FOLDER}`,
    "--openai-port",
    String(input.httpPort),
    "--host",
    "0.0.0.0",
  ];
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
    `--model-repository=${modelRepositoryPath(input.repositoryFolder, input.api ?? "triton")}`,
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
  const openai = input.api === "openai";
  const server = openai ? openaiFrontendArgs(input) : serverArgs(input);
  const api = openai ? { predictApiSpecification: "openai" as const } : {};
  if (input.tensorParallel === 1) {
    return { cmds: server, entrypoints: [], environment, port: input.httpPort, ...api };
  }
  // The tensorrt_llm backend asserts MPI world size == tensor parallelism: one mpirun, rank 0 the
  // full server (on an OpenAI stack the frontend's process, which runs the server), the other TP-1
  // ranks engine workers.
  const cmds = [
    "mpirun",
    "--allow-run-as-root",
    "-n",
    "1",
    ...server,
    ":",
    "-n",
    String(input.tensorParallel - 1),
    ...workerArgs(input),
  ];
  return { cmds, entrypoints: [], environment, port: input.httpPort, ...api };
}

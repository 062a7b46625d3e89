/**
 * How long OCI may take to bring the model deployment up, and how long `pulumi up` waits for it.
 *
 * Oracle's LLM container samples document `DEPLOYMENT_TIMEOUT_IN_MINUTES` on the deployment's
 * environment for slow loads, at most 240 (oracle-samples/oci-data-science-ai-samples,
 * model-deployment/containers/llm troubleshooting): a 17 GB image plus a 15 GB
 * artifact exceeds OCI's default. The figure is sized from what the deployment must move and load,
 * and the provider's create/update timeouts sit above it, so OCI gives up (and says why) first.
 */

export const DEPLOYMENT_TIMEOUT_VARIABLE = "DEPLOYMENT_TIMEOUT_IN_MINUTES";
export const MAX_DEPLOYMENT_TIMEOUT_MINUTES = 240;
// Oracle's sample sets 60; nothing this stack deploys is sized below it.
const MIN_DEPLOYMENT_TIMEOUT_MINUTES = 60;

// Planning rates, stated assumptions (not measured on OCI): a GPU instance and its load balancer are
// provisioned within 20 minutes (an assumption: typically 10-20); the image is pulled and
// unpacked at 20 MB/s (OCI requires 16 GB within its 20-minute pull limit, about 14 MB/s); the
// artifact is copied and unzipped at 50 MB/s; Triton loads the engine from disk at 500 MB/s after
// 5 minutes of start-up (build-estimate.ts plans the same 5 minutes for the validation). The sum is
// taken 1.5 times, rounded up to 5 minutes.
const PROVISION_MINUTES = 20;
const IMAGE_BYTES_PER_SECOND = 20e6;
const ARTIFACT_BYTES_PER_SECOND = 50e6;
const LOAD_BYTES_PER_SECOND = 500e6;
const TRITON_START_MINUTES = 5;
const SAFETY_FACTOR = 1.5;
const GB = 1e9;

// Above OCI's own timeout: the provider's wait must outlast the deployment's work request, which OCI
// fails itself once the variable's minutes are over; deleting drains the instance and the load
// balancer well within 30 minutes.
const PROVIDER_MARGIN_MINUTES = 20;
const DELETE_TIMEOUT = "30m";

export interface DeploymentTimeoutInput {
  /** Compressed size of the serving image (the image catalogue, build-estimate.ts). */
  readonly imageCompressedGB: number;
  /** Size of the model artifact; the engine dominates it. */
  readonly artifactBytes: number;
}

/**
 * Minutes from the launch of an instance to Triton serving on it, at the planning rates above: what
 * a new deployment takes, and what an instance added by autoscaling takes before it serves.
 */
export function expectedStartMinutes(input: DeploymentTimeoutInput): number {
  const seconds =
    (input.imageCompressedGB * GB) / IMAGE_BYTES_PER_SECOND +
    input.artifactBytes / ARTIFACT_BYTES_PER_SECOND +
    input.artifactBytes / LOAD_BYTES_PER_SECOND;
  return PROVISION_MINUTES + TRITON_START_MINUTES + seconds / 60;
}

export function deploymentTimeoutMinutes(input: DeploymentTimeoutInput): number {
  const minutes = expectedStartMinutes(input) * SAFETY_FACTOR;
  const rounded = Math.ceil(minutes / 5) * 5;
  return Math.min(MAX_DEPLOYMENT_TIMEOUT_MINUTES, Math.max(MIN_DEPLOYMENT_TIMEOUT_MINUTES, rounded));
}

/** A user's own value: a whole number of minutes, 1 to 240; else what is wrong with it. */
export function deploymentTimeoutProblem(value: string): string | undefined {
  if (!/^[1-9][0-9]{0,2}$/.test(value) || Number(value) > MAX_DEPLOYMENT_TIMEOUT_MINUTES)
    return `must be a whole number of minutes from 1 to ${MAX_DEPLOYMENT_TIMEOUT_MINUTES} (OCI's maximum)`;
  return undefined;
}

/** The provider's timeouts for a deployment OCI allows `minutes` to come up. */
export function deploymentCustomTimeouts(minutes: number): {
  create: string;
  update: string;
  delete: string;
} {
  const wait = `${minutes + PROVIDER_MARGIN_MINUTES}m`;
  return { create: wait, update: wait, delete: DELETE_TIMEOUT };
}

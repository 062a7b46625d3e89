/**
 * TritonDeployment: the OCI Data Science model deployment that runs Triton from our OCIR image
 * (pinned by digest) on the registered model artifact, with its access and predict logs.
 */
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "./deployment/container-spec";
import { DEPLOYMENT_TIMEOUT_VARIABLE, deploymentCustomTimeouts } from "./deployment/deployment-timeout";
import { EXPIRES_AT_TAG } from "./deployment/expiry";
import {
  CONTAINER_REPLACE_PATHS,
  deploymentTags,
  LOG_RETENTION_DAYS,
  logName,
  streamingEnabled,
} from "./deployment/model-deployment";

export interface TritonDeploymentArgs {
  readonly compartmentId: pulumi.Input<string>;
  readonly projectId: pulumi.Input<string>;
  /** The catalog model whose artifact holds the Triton model repository. */
  readonly modelId: pulumi.Input<string>;
  /** Image reference pinned by digest, as `OcirImage.imageRef`. */
  readonly imageRef: pulumi.Input<string>;
  /** `sha256:...`, as `OcirImage.digest`. */
  readonly imageDigest: pulumi.Input<string>;
  /** Command, environment and port, from `containerSpec()` (already checked against OCI's limits). */
  readonly container: ContainerSpec;
  /** Deployment shape, e.g. `VM.GPU.A10.1`. */
  readonly shape: pulumi.Input<string>;
  readonly instanceCount: pulumi.Input<number>;
  /** Load balancer bandwidth. */
  readonly bandwidthMbps: pulumi.Input<number>;
  readonly displayName: pulumi.Input<string>;
  /** Evaluation deployments: when the stack should be torn down (ISO 8601 UTC), as a tag. */
  readonly expiresAt?: pulumi.Input<string>;
  /** Resources the deployment needs before it can pull and log, e.g. `Iam.resources`. */
  readonly dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
  /** Extra tags; `managed-by`, `stack`, `image-digest`, `shape` and `expires-at` are set here. */
  readonly freeformTags?: Record<string, string>;
}

export class TritonDeployment extends pulumi.ComponentResource {
  public readonly modelDeploymentId: pulumi.Output<string>;
  public readonly modelDeploymentUrl: pulumi.Output<string>;
  /** `POST` target for a signed generate request. */
  public readonly predictUrl: pulumi.Output<string>;
  /** Server-sent events endpoint; only when the container enables streaming. */
  public readonly predictStreamUrl?: pulumi.Output<string>;
  /** When an evaluation deployment should be torn down, as recorded on the deployment. */
  public readonly expiresAt: pulumi.Output<string | undefined>;

  constructor(name: string, args: TritonDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:deployment:TritonDeployment", name, {}, opts);

    const logGroup = new oci.logging.LogGroup(
      `${name}-logs`,
      {
        compartmentId: args.compartmentId,
        displayName: pulumi.output(args.displayName).apply((d) => logName(d, "logs")),
        description: "Access and predict logs of the Triton model deployment",
      },
      { parent: this },
    );
    const log = (kind: "access" | "predict") =>
      new oci.logging.Log(
        `${name}-${kind}`,
        {
          logGroupId: logGroup.id,
          displayName: pulumi.output(args.displayName).apply((d) => logName(d, kind)),
          logType: "CUSTOM",
          isEnabled: true,
          retentionDuration: LOG_RETENTION_DAYS,
        },
        { parent: this },
      );
    const accessLog = log("access");
    const predictLog = log("predict");

    const { container } = args;
    const deployment = new oci.datascience.ModelDeployment(
      `${name}-md`,
      {
        compartmentId: args.compartmentId,
        projectId: args.projectId,
        displayName: args.displayName,
        description: "Triton Inference Server with the TensorRT-LLM backend",
        modelDeploymentConfigurationDetails: {
          deploymentType: "SINGLE_MODEL",
          modelConfigurationDetails: {
            modelId: args.modelId,
            bandwidthMbps: args.bandwidthMbps,
            instanceConfiguration: { instanceShapeName: args.shape },
            scalingPolicy: { policyType: "FIXED_SIZE", instanceCount: args.instanceCount },
          },
          environmentConfigurationDetails: {
            environmentConfigurationType: "OCIR_CONTAINER",
            image: args.imageRef,
            imageDigest: args.imageDigest,
            cmds: container.cmds,
            // An empty list would read back as absent and show a diff on every run.
            ...(container.entrypoints.length > 0 ? { entrypoints: container.entrypoints } : {}),
            environmentVariables: container.environment,
            serverPort: container.port,
            healthCheckPort: container.port,
          },
        },
        categoryLogDetails: {
          access: { logGroupId: logGroup.id, logId: accessLog.id },
          predict: { logGroupId: logGroup.id, logId: predictLog.id },
        },
        freeformTags: pulumi
          .all([args.imageDigest, args.shape, args.expiresAt])
          .apply(([imageDigest, shape, expiresAt]) =>
            deploymentTags(pulumi.getStack(), { imageDigest, shape, expiresAt }, args.freeformTags),
          ),
      },
      {
        parent: this,
        dependsOn: args.dependsOn,
        // Above the minutes OCI itself allows (`DEPLOYMENT_TIMEOUT_IN_MINUTES`), instead of the
        // provider's 245: `pulumi up` stops soon after OCI has given up and said why.
        customTimeouts: deploymentCustomTimeouts(Number(container.environment[DEPLOYMENT_TIMEOUT_VARIABLE])),
        // A container change (image, digest, command, environment, ports) replaces the deployment:
        // OCI takes those only while it is INACTIVE, and the provider would send them to the ACTIVE
        // one, which OCI refuses (CONTAINER_REPLACE_PATHS cites both). `projectId` replaces it too
        // (ForceNew: terraform-provider-oci v8.28.0
        // internal/service/datascience/datascience_model_deployment_resource.go:900-904).
        replaceOnChanges: [...CONTAINER_REPLACE_PATHS],
        // No deleteBeforeReplace: a replacement is then create-before-delete, Pulumi's default
        // (pulumi v3.248.0 pkg/resource/deploy/step_generator.go:1909-1926). The new deployment is
        // created and ACTIVE (the provider waits for its work request) before the old one is
        // deleted: Pulumi deletes replaced resources only after every registration succeeded
        // (deployment_executor.go:325-331; a failed step cancels the rest,
        // step_executor.go:432-459). So a container that fails to start never takes the working
        // endpoint down, and nothing sends OCI an update it refuses. The price: a second
        // deployment's GPUs while the new one starts (about 20-30 minutes) and a new URL
        // (`predictUrl` follows it). A tenancy whose GPU limit cannot hold both fails the create
        // with the old deployment still serving: raise the limit, or take the downtime and
        // destroy the old deployment first.
      },
    );

    this.modelDeploymentId = deployment.id;
    this.modelDeploymentUrl = deployment.modelDeploymentUrl;
    this.predictUrl = pulumi.interpolate`${deployment.modelDeploymentUrl}/predict`;
    if (streamingEnabled(container)) {
      this.predictStreamUrl = pulumi.interpolate`${deployment.modelDeploymentUrl}/predictWithResponseStream`;
    }
    this.expiresAt = deployment.freeformTags.apply((tags) => tags?.[EXPIRES_AT_TAG]);

    this.registerOutputs({
      modelDeploymentId: this.modelDeploymentId,
      modelDeploymentUrl: this.modelDeploymentUrl,
      predictUrl: this.predictUrl,
      predictStreamUrl: this.predictStreamUrl,
      expiresAt: this.expiresAt,
    });
  }
}

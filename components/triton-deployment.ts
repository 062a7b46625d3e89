/**
 * TritonDeployment: the OCI Data Science model deployment that runs Triton from our OCIR image
 * (pinned by digest) on the registered model artifact, with its access and predict logs, and the
 * known-answer proof through its own route that `pulumi up` ends with.
 */
import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerSpec } from "./deployment/container-spec";
import { DEPLOYMENT_TIMEOUT_VARIABLE, deploymentCustomTimeouts } from "./deployment/deployment-timeout";
import { type EndpointProof, parseEndpointProof } from "./deployment/endpoint-proof";
import { EXPIRES_AT_TAG } from "./deployment/expiry";
import {
  CONTAINER_REPLACE_PATHS,
  deploymentTags,
  LOG_RETENTION_DAYS,
  logName,
  PRIVATE_ENDPOINT_PATH,
  privateDeploymentUrl,
  streamingEnabled,
} from "./deployment/model-deployment";
import { proveEndpointCommand } from "./deployment/oci-task-commands";
import { type DeploymentApi, OPENAI_CHAT_ROUTE, OPENAI_MODEL } from "./deployment/openai-frontend";

/** The known-answer request `pulumi up` ends with, sent through the deployment's own route. */
export interface EndpointProofArgs {
  /** The generate body: the build's validation request (`validationRequestBody`). */
  readonly body: Readonly<Record<string, unknown>>;
  /** Text the answer must hold (`build.validation.expect`), checked as the build host checks it. */
  readonly expect: string;
  /** The stack's region and the OCI CLI profile the OCI provider uses: they sign the request. */
  readonly region: string;
  readonly ociProfile?: string;
}

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
  /** The request that proves the deployment answers, and what its answer must hold. */
  readonly proof: EndpointProofArgs;
  /**
   * Autoscaling (`scalingPolicyInput` of components/deployment/autoscaling.ts); unset, the
   * deployment runs a fixed `instanceCount`.
   */
  readonly scalingPolicy?: pulumi.Input<oci.types.input.DataScience.ModelDeploymentModelDeploymentConfigurationDetailsModelConfigurationDetailsScalingPolicy>;
  /** The load balancer's maximum, where its bandwidth scales from `bandwidthMbps` (at most twice it). */
  readonly maximumBandwidthMbps?: pulumi.Input<number>;
  /** A Data Science private endpoint (`PrivateAccess`): the deployment is reached through it only. */
  readonly privateEndpoint?: { readonly id: pulumi.Input<string>; readonly fqdn: pulumi.Input<string> };
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
  /** The last known-answer proof: answer, latency, time to the first byte, when. */
  public readonly endpointProof: pulumi.Output<EndpointProof | undefined>;
  /** The API the container serves: Triton's generate endpoint, or the OpenAI frontend. */
  public readonly api: DeploymentApi;
  /** On an OpenAI stack, the model every OpenAI request names (the frontend's one served model). */
  public readonly openaiModel?: string;

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
    this.api = container.predictApiSpecification === "openai" ? "openai" : "triton";
    if (this.api === "openai") this.openaiModel = OPENAI_MODEL;
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
            ...(args.maximumBandwidthMbps === undefined
              ? {}
              : { maximumBandwidthMbps: args.maximumBandwidthMbps }),
            instanceConfiguration: {
              instanceShapeName: args.shape,
              ...(args.privateEndpoint === undefined ? {} : { privateEndpointId: args.privateEndpoint.id }),
            },
            scalingPolicy: args.scalingPolicy ?? {
              policyType: "FIXED_SIZE",
              instanceCount: args.instanceCount,
            },
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
            // An OpenAI stack: OCI forwards the OpenAI routes under /predict to the frontend.
            ...(container.predictApiSpecification === undefined
              ? {}
              : { predictApiSpecification: container.predictApiSpecification }),
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
        replaceOnChanges: [...CONTAINER_REPLACE_PATHS, PRIVATE_ENDPOINT_PATH],
        // No deleteBeforeReplace: a replacement is then create-before-delete, Pulumi's default
        // (pulumi v3.248.0 pkg/resource/deploy/step_generator.go:1909-1926). The new deployment is
        // created and ACTIVE (the provider waits for its work request), and proven by the command
        // below, before the old one is deleted: Pulumi deletes replaced resources only after every
        // registration succeeded (deployment_executor.go:325-331; a failed step cancels the rest,
        // step_executor.go:432-459). So a container that fails to start, or answers wrongly, never
        // takes the working endpoint down, and nothing sends OCI an update it refuses. The price: a
        // second deployment's GPUs while the new one starts (about 20-30 minutes) and a new URL
        // (`predictUrl` follows it). A tenancy whose GPU limit cannot hold both fails the create
        // with the old deployment still serving: raise the limit, or take the downtime and
        // destroy the old deployment first (docs/day-two.md).
      },
    );

    this.modelDeploymentId = deployment.id;
    // A private deployment answers on its private endpoint's host only, inside the VCN.
    const { privateEndpoint } = args;
    this.modelDeploymentUrl =
      privateEndpoint === undefined
        ? deployment.modelDeploymentUrl
        : pulumi
            .all([deployment.modelDeploymentUrl, privateEndpoint.fqdn])
            .apply(([url, fqdn]) => privateDeploymentUrl(url, fqdn));
    this.predictUrl = pulumi.interpolate`${this.modelDeploymentUrl}/predict`;
    const streaming = streamingEnabled(container);
    if (streaming) {
      this.predictStreamUrl = pulumi.interpolate`${this.modelDeploymentUrl}/predictWithResponseStream`;
    }
    this.expiresAt = deployment.freeformTags.apply((tags) => tags?.[EXPIRES_AT_TAG]);

    // `up` ends with one signed known-answer request through OCI's own route: the route the stack
    // serves (a streaming stack's model answers server-sent events, which only
    // `/predictWithResponseStream` passes on). It runs again when the deployment is new (a
    // replacement), when it serves another model or image, or when the request itself changes (a
    // changed command line is an update, which runs `create` again: pulumi-command v1.2.1
    // provider/pkg/provider/local/commandController.go:79-88; a changed trigger replaces it,
    // @pulumi/command 1.2.1 local/command.js:155-156); not on an `up` that changes none of these.
    // An OpenAI stack is asked through the frontend's chat route under `/predict`, for a whole chat
    // completion (JSON, which `/predict` passes on).
    const { proof: proofArgs } = args;
    const openai = this.api === "openai";
    const proofUrl = openai
      ? pulumi.interpolate`${this.predictUrl}${OPENAI_CHAT_ROUTE}`
      : (this.predictStreamUrl ?? this.predictUrl);
    const proof = new command.local.Command(
      `${name}-proof`,
      {
        create: proofUrl.apply((url) =>
          proveEndpointCommand({
            url,
            body: proofArgs.body,
            expect: proofArgs.expect,
            stream: streaming && !openai,
            region: proofArgs.region,
            profile: proofArgs.ociProfile,
            ...(openai ? { api: "openai" as const } : {}),
          }),
        ),
        triggers: [deployment.id, args.modelId, args.imageDigest],
      },
      { parent: this, dependsOn: [deployment] },
    );
    this.endpointProof = proof.stdout.apply(parseEndpointProof);

    this.registerOutputs({
      modelDeploymentId: this.modelDeploymentId,
      modelDeploymentUrl: this.modelDeploymentUrl,
      predictUrl: this.predictUrl,
      predictStreamUrl: this.predictStreamUrl,
      expiresAt: this.expiresAt,
      endpointProof: this.endpointProof,
    });
  }
}

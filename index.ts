/**
 * triton-trtllm-oci: configuration in, a signed Triton endpoint on OCI Data Science out.
 * Config is parsed and validated once, before any resource is registered; every error is reported
 * together, each naming its key. The engine cache is looked up next, still before any resource, and
 * decides where the artifact comes from: packed here (a hand-built engine), found in the bucket, or
 * built on a GPU instance. Components are wired by their outputs only.
 */
import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import { artifactKey, engineKey, engineKeyInputs } from "./components/artifact/cache-keys";
import {
  chooseEngineSource,
  describeEngineSource,
  lookupEngineCache,
} from "./components/artifact/engine-cache";
import { ArtifactBucket } from "./components/artifact-bucket";
import { CatalogModel } from "./components/catalog-model";
import { estimateBuild, measuredPhaseMinutes } from "./components/config/build-estimate";
import { PROJECT } from "./components/config/config";
import { containerSpecInput } from "./components/config/rules";
import { stackNames } from "./components/config/stack-names";
import { sizingSummary } from "./components/config/summary";
import { alertPlan } from "./components/deployment/alerts";
import { autoscalingPlan, scalingPolicyInput } from "./components/deployment/autoscaling";
import { containerSpec } from "./components/deployment/container-spec";
import { expiryCommand } from "./components/deployment/expiry";
import { modelProvenance } from "./components/deployment/model-metadata";
import { imageRepositoryName } from "./components/deployment/ocir";
import { signedCallCommand, validationRequestBody } from "./components/deployment/stack-outputs";
import { DeploymentAlerts } from "./components/deployment-alerts";
import type { EngineBuild } from "./components/engine-build";
import { Iam } from "./components/iam";
import { imageMirrorOutput } from "./components/registry/image-mirror";
import { ModelArtifact } from "./components/model-artifact";
import { modelRepositorySpec, renderModelRepository } from "./components/model-repository";
import { OcirImage } from "./components/ocir-image";
import { PrivateAccess } from "./components/private-access";
import { TritonDeployment } from "./components/triton-deployment";
import { checkEndpointFacts } from "./program/endpoint-lookups";
import { buildEngine, builtManifest } from "./program/engine-build";
import { identityProvider } from "./program/identity-provider";
import { lookUpMirror } from "./program/image-mirror";
import { CACHE_DIR } from "./program/paths";
import { useV8StackTraces } from "./program/stack-traces";
import { validatedConfig } from "./program/validation";

async function main(): Promise<Record<string, unknown>> {
  useV8StackTraces();
  const config = validatedConfig({ kind: "not-looked-up" });
  const secrets = new pulumi.Config();
  const ociProfile = new pulumi.Config("oci").get("configFileProfile");
  const stack = pulumi.getStack();
  const { baseName, bucketName, dynamicGroupName } = stackNames(stack, config);
  const tags = { "managed-by": "pulumi", project: PROJECT, stack };
  const { namespace } = await oci.objectstorage.getNamespace({ compartmentId: config.compartmentId });

  const repository = renderModelRepository(modelRepositorySpec(config));
  const engine = engineKey(engineKeyInputs(config));
  const keys = {
    engineKey: engine,
    artifactKey: artifactKey(engine, repository, config.serving.repositoryFolder),
  };
  const lookup = await lookupEngineCache(
    { compartmentId: config.compartmentId, namespace, bucketName },
    keys,
  );
  const engineSource = chooseEngineSource(config.engine.prebuiltDir !== undefined, lookup);
  const buildMode =
    engineSource.kind === "build" ? "build" : engineSource.kind === "engine-hit" ? "assemble" : undefined;
  const imageRepository = imageRepositoryName(
    config.image.mirror,
    config.image.repository,
    baseName,
    PROJECT,
    config.image.source,
  );
  const bucketFacts = { name: bucketName, exists: lookup.bucketExists, accessType: lookup.bucketAccessType };
  // A build's refusals come before any resource, the registry lookup's provider included.
  validatedConfig({ kind: "looked-up", mode: buildMode, bucket: bucketFacts });
  const mirrorLookup =
    config.image.mirror === "oci" ? await lookUpMirror(config, imageRepository) : undefined;
  // The image still to be copied: the build host copies it; without a build, an instance of its own.
  const copyImageFrom = mirrorLookup?.mirrored === false ? config.image.source : undefined;
  const copyOnlyHost = buildMode === undefined && copyImageFrom !== undefined;
  if (copyOnlyHost) validatedConfig({ kind: "looked-up", mode: "mirror", bucket: bucketFacts });
  pulumi.log.info(`engine: ${describeEngineSource(engineSource)}`);
  // A production endpoint's subnet and quota, from the tenancy, still before any resource.
  await checkEndpointFacts(config);
  const autoscaling = autoscalingPlan(config);
  const homeRegionProvider = await identityProvider(config);

  const ttlHours = config.evaluation.ttlHours;
  const expiresAt =
    ttlHours === undefined
      ? undefined
      : new command.local.Command("expiry", { create: expiryCommand(ttlHours) }).stdout.apply((out) =>
          out.trim(),
        );

  const image = new OcirImage("image", {
    compartmentId: config.compartmentId,
    region: config.region,
    namespace,
    repository: imageRepository,
    tag: config.image.tag,
    mirror:
      mirrorLookup === undefined
        ? {
            mode: "local",
            source: config.image.source,
            username: secrets.requireSecret("ocirUsername"),
            authToken: secrets.requireSecret("ocirAuthToken"),
            dockerHost: config.docker.host,
          }
        : {
            mode: "oci",
            sourceDigest: mirrorLookup.sourceDigest,
            adoptRepositoryId: mirrorLookup.repositoryId,
          },
    // The shared mirror outlives this stack: it carries no stack tag.
    freeformTags: mirrorLookup === undefined ? tags : { "managed-by": tags["managed-by"], project: PROJECT },
  });

  const bucket = new ArtifactBucket("artifacts", {
    compartmentId: config.compartmentId,
    namespace,
    bucketName,
    adopt: lookup.bucketExists,
    freeformTags: tags,
  });

  const container = containerSpec(containerSpecInput(config));
  const buildContext = {
    config,
    repository,
    keys,
    container,
    image,
    bucket,
    bucketName,
    namespace,
    secrets,
    ociProfile,
    tags,
    identityProvider: homeRegionProvider,
    copyImageFrom,
  };
  // Nothing else runs a host here: this one only copies the image, and the deployment waits for it.
  const imageCopy = copyOnlyHost ? await buildEngine({ ...buildContext, mode: "mirror" }) : undefined;
  let engineBuild: EngineBuild | undefined;
  let artifact: ModelArtifact;
  if (engineSource.kind === "prebuilt") {
    artifact = new ModelArtifact("artifact", {
      bucket: bucket.bucketName,
      namespace: bucket.namespace,
      repositoryFolder: config.serving.repositoryFolder,
      source: {
        kind: "local",
        repository,
        engineDir: config.engine.prebuiltDir ?? "",
        modelDir: config.model.localDir ?? "",
        cacheDir: join(CACHE_DIR, "artifacts"),
        region: config.region,
        ociProfile,
      },
    });
  } else if (engineSource.kind === "artifact-hit") {
    artifact = new ModelArtifact("artifact", {
      bucket: bucket.bucketName,
      namespace: bucket.namespace,
      repositoryFolder: config.serving.repositoryFolder,
      source: { kind: "uploaded", manifest: engineSource.manifest },
    });
  } else {
    engineBuild = await buildEngine({ ...buildContext, mode: buildMode ?? "build" });
    artifact = new ModelArtifact("artifact", {
      bucket: bucket.bucketName,
      namespace: bucket.namespace,
      repositoryFolder: config.serving.repositoryFolder,
      source: { kind: "uploaded", manifest: builtManifest(engineBuild) },
    });
  }

  const iam = new Iam("iam", {
    create: config.iam.create,
    compartmentId: config.compartmentId,
    tenancyId: config.tenancyId,
    dynamicGroupName,
    bucketName,
    region: config.region,
    freeformTags: tags,
    provider: homeRegionProvider,
    ociProfile,
    autoscaling: autoscaling !== undefined,
  });

  const model = new CatalogModel("model", {
    compartmentId: config.compartmentId,
    projectId: config.projectId,
    displayName: baseName,
    artifact: {
      bucket: artifact.bucket,
      namespace: artifact.namespace,
      objectName: artifact.ready,
      sha256: artifact.sha256,
      bytes: artifact.bytes,
    },
    metadata: artifact.sha256.apply((sha256) => modelProvenance(config, sha256)),
    freeformTags: tags,
    exportDependsOn: iam.resources,
    region: config.region,
    ociProfile,
  });

  const access =
    config.deployment.access === "private" && config.deployment.privateSubnetId !== undefined
      ? new PrivateAccess("access", {
          compartmentId: config.compartmentId,
          subnetId: config.deployment.privateSubnetId,
          displayName: `${baseName}-private`,
          freeformTags: tags,
        })
      : undefined;

  const deployment = new TritonDeployment("triton", {
    compartmentId: config.compartmentId,
    projectId: model.projectId,
    modelId: model.modelId,
    imageRef: image.imageRef,
    imageDigest: image.digest,
    container,
    shape: config.deployment.shape,
    instanceCount: config.deployment.instanceCount,
    bandwidthMbps: config.deployment.bandwidthMbps,
    ...(autoscaling === undefined
      ? {}
      : {
          scalingPolicy: scalingPolicyInput(autoscaling, config.deployment.instanceCount),
          maximumBandwidthMbps: autoscaling.bandwidth.maxMbps,
        }),
    ...(access === undefined ? {} : { privateEndpoint: { id: access.privateEndpointId, fqdn: access.fqdn } }),
    displayName: baseName,
    expiresAt,
    // A copy-only host must have put the image in OCIR before the deployment pulls it.
    dependsOn: imageCopy === undefined ? iam.resources : [...iam.resources, imageCopy.finished],
    freeformTags: tags,
    // The build host's known-answer question, asked again through OCI's route once the deployment
    // is ACTIVE, with the same expectation.
    proof: {
      body: validationRequestBody(config),
      expect: config.build.validation.expect,
      region: config.region,
      ociProfile,
    },
  });

  const alerts = alertPlan(config.deployment.alerts);
  const deploymentAlerts =
    alerts === undefined
      ? undefined
      : new DeploymentAlerts("alerts", {
          compartmentId: config.compartmentId,
          modelDeploymentId: deployment.modelDeploymentId,
          plan: alerts,
          baseName,
          freeformTags: tags,
        });

  const sizing = sizingSummary(config);
  return {
    predictUrl: deployment.predictUrl,
    predictStreamUrl: deployment.predictStreamUrl,
    // Which API the endpoint speaks, and on an OpenAI stack the `model` its requests name.
    api: deployment.api,
    openaiModel: deployment.openaiModel,
    exampleSignedCall: deployment.predictUrl.apply((url) => signedCallCommand(url, config)),
    modelDeploymentId: deployment.modelDeploymentId,
    endpointProof: deployment.endpointProof,
    expiresAt: deployment.expiresAt,
    imageRef: image.imageRef,
    imageDigest: image.digest,
    image: imageMirrorOutput(config.image.source, imageRepository, mirrorLookup),
    modelId: model.modelId,
    artifactObject: {
      bucket: artifact.bucket,
      object: artifact.objectName,
      sha256: artifact.sha256,
      bytes: artifact.bytes,
    },
    engine: {
      source: engineSource.kind,
      detail: describeEngineSource(engineSource),
      engineKey: keys.engineKey,
      artifactKey: keys.artifactKey,
      ...(buildMode === undefined ? {} : { estimate: estimateBuild(config, buildMode) }),
      ...(engineBuild === undefined
        ? {}
        : {
            buildInstanceId: engineBuild.instanceId,
            buildAvailabilityDomain: engineBuild.availabilityDomain,
            // Measured on the build host, per phase: what the estimate above assumed.
            phaseMinutes: builtManifest(engineBuild).apply((manifest) =>
              measuredPhaseMinutes(manifest.phases),
            ),
          }),
      ...(engineSource.kind === "artifact-hit"
        ? { phaseMinutes: measuredPhaseMinutes(engineSource.manifest.phases) }
        : {}),
    },
    iamStatements: config.iam.create ? undefined : iam.statements,
    sizing,
    // With autoscaling, what the deployment costs at its fewest instances; `autoscaling` has the range.
    estimatedUsdPerHour: autoscaling?.usdPerHour.min ?? sizing.cost.deploymentUsdPerHour,
    autoscaling,
    access:
      access === undefined
        ? undefined
        : { mode: "private", privateEndpointId: access.privateEndpointId, fqdn: access.fqdn },
    alerts:
      deploymentAlerts === undefined
        ? undefined
        : { topicId: deploymentAlerts.topicId, alarmIds: deploymentAlerts.alarmIds },
  };
}

// Pulumi awaits the exported promise and takes its value as the stack outputs.
export = main();

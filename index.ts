/**
 * triton-trtllm-oci: configuration in, a signed Triton endpoint on OCI Data Science out.
 * Config is parsed and validated once, before any resource is registered; every error is reported
 * together, each naming its key. Components are wired by their outputs only.
 */
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { resolve } from "node:path";
import { placeholderArtifact } from "./components/artifact-cache";
import { ArtifactBucket } from "./components/artifact-bucket";
import { CatalogModel } from "./components/catalog-model";
import { formatConfigError, parseStackConfig, PROJECT, StackConfig } from "./components/config";
import { containerSpec } from "./components/container-spec";
import { Iam } from "./components/iam";
import { checkLocalInputsOf } from "./components/local-inputs";
import { ModelArtifact } from "./components/model-artifact";
import { modelRepositorySpec, renderModelRepository } from "./components/model-repository";
import { OcirImage } from "./components/ocir-image";
import { readPulumiConfig } from "./components/pulumi-config";
import { containerSpecInput } from "./components/rules";
import { sizingSummary } from "./components/summary";
import { TritonDeployment } from "./components/triton-deployment";
import { catalogMetadata, signedCallCommand } from "./components/stack-outputs";

function loadConfig(): StackConfig {
  const result = parseStackConfig(readPulumiConfig());
  for (const warning of result.warnings) pulumi.log.warn(formatConfigError(warning));
  // Placeholder OCIDs may be previewed (a pull-request pipeline previews the committed example),
  // never deployed. The program runs from the project folder: relative paths start there.
  const placeholders = pulumi.runtime.isDryRun() ? [] : result.placeholders;
  for (const note of pulumi.runtime.isDryRun() ? result.placeholders : [])
    pulumi.log.warn(`pulumi up fails with this: ${formatConfigError(note)}`);
  const local = checkLocalInputsOf(result, process.cwd());
  const errors = [
    ...result.errors,
    ...result.missingSecrets,
    ...placeholders,
    ...local.errors,
    ...local.absent,
  ];
  if (errors.length > 0 || result.config === undefined) {
    throw new pulumi.RunError(
      `invalid stack configuration (${errors.length} error(s)):\n${errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}`,
    );
  }
  return result.config;
}

const config = loadConfig();
const secrets = new pulumi.Config();
const stack = pulumi.getStack();
const baseName = `${PROJECT}-${stack}`;
// Packed artifacts are kept between runs; tests point this at a scratch folder.
const cacheDir = resolve(process.env.TRITON_TRTLLM_OCI_CACHE_DIR ?? ".cache");
const tags = { "managed-by": "pulumi", project: PROJECT, stack };
const namespace = oci.objectstorage.getNamespaceOutput({ compartmentId: config.compartmentId }).namespace;
const bucketName = config.artifact.bucketName ?? `${baseName}-artifacts`;

const image = new OcirImage("image", {
  compartmentId: config.compartmentId,
  region: config.region,
  namespace,
  source: config.image.source,
  repository: config.image.repository,
  tag: config.image.tag,
  username: secrets.requireSecret("ocirUsername"),
  authToken: secrets.requireSecret("ocirAuthToken"),
  dockerHost: config.docker.host,
  freeformTags: tags,
});

const bucket = new ArtifactBucket("artifacts", {
  compartmentId: config.compartmentId,
  namespace,
  bucketName,
  freeformTags: tags,
});

const artifact = new ModelArtifact("artifact", {
  bucket: bucket.bucketName,
  namespace: bucket.namespace,
  repositoryFolder: config.serving.repositoryFolder,
  repository: renderModelRepository(modelRepositorySpec(config)),
  // Required by the config rules; the GPU build instance will supply engines built in the stack.
  engineDir: resolve(config.engine.prebuiltDir ?? ""),
  modelDir: resolve(config.model.localDir ?? ""),
  cacheDir: resolve(cacheDir, "artifacts"),
});

const iam = new Iam("iam", {
  create: config.iam.create,
  compartmentId: config.compartmentId,
  tenancyId: config.tenancyId,
  dynamicGroupName: `${baseName}-deployments`,
  bucketName,
  region: config.region,
  freeformTags: tags,
});

const placeholder = pulumi.output(placeholderArtifact(cacheDir));
const model = new CatalogModel("model", {
  compartmentId: config.compartmentId,
  projectId: config.projectId,
  displayName: baseName,
  artifact: {
    bucket: artifact.bucket,
    namespace: artifact.namespace,
    objectName: artifact.objectName,
    region: config.region,
    sha256: artifact.sha256,
  },
  placeholder: { path: placeholder.path, bytes: placeholder.bytes },
  metadata: pulumi
    .all([image.digest, artifact.sha256])
    .apply(([imageDigest, artifactSha256]) => catalogMetadata(config, imageDigest, artifactSha256)),
  freeformTags: tags,
  exportDependsOn: iam.resources,
});

const deployment = new TritonDeployment("triton", {
  compartmentId: config.compartmentId,
  projectId: model.projectId,
  modelId: model.modelId,
  imageRef: image.imageRef,
  imageDigest: image.digest,
  container: containerSpec(containerSpecInput(config)),
  shape: config.deployment.shape,
  instanceCount: config.deployment.instanceCount,
  bandwidthMbps: config.deployment.bandwidthMbps,
  displayName: baseName,
  ttlHours: config.evaluation.ttlHours,
  dependsOn: iam.resources,
  freeformTags: tags,
});

export const predictUrl = deployment.predictUrl;
export const predictStreamUrl = deployment.predictStreamUrl;
export const exampleSignedCall = deployment.predictUrl.apply((url) => signedCallCommand(url, config));
export const modelDeploymentId = deployment.modelDeploymentId;
export const expiresAt = deployment.expiresAt;
export const imageRef = image.imageRef;
export const imageDigest = image.digest;
export const modelId = model.modelId;
export const artifactObject = {
  bucket: artifact.bucket,
  object: artifact.objectName,
  sha256: artifact.sha256,
  bytes: artifact.bytes,
};
export const iamStatements = config.iam.create ? undefined : iam.statements;
export const sizing = sizingSummary(config);
export const estimatedUsdPerHour = sizing.cost.deploymentUsdPerHour;

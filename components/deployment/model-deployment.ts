/**
 * What the model deployment carries besides its container: tags, log names, log retention, whether
 * it streams, and which of its inputs replace it rather than update it.
 */
import type { ContainerSpec } from "./container-spec";
import { EXPIRES_AT_TAG } from "./expiry";

export const LOG_RETENTION_DAYS = 30;

/**
 * The deployment's tags. What changes with the image or the shape lives here rather than in the
 * catalog model's metadata: a tag update leaves a serving model alone, where a metadata update is
 * deactivate, update, activate (terraform-provider-oci v8.28.0
 * internal/service/datascience/datascience_model_resource.go:403-422, DeactivateModel at :1105).
 */
export function deploymentTags(
  stack: string,
  details: { imageDigest: string; shape: string; expiresAt?: string },
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...extra,
    "managed-by": "pulumi",
    stack,
    "image-digest": details.imageDigest,
    shape: details.shape,
    ...(details.expiresAt === undefined ? {} : { [EXPIRES_AT_TAG]: details.expiresAt }),
  };
}

/** Log names allow letters, digits, `-`, `_` and `.`; display names may hold anything. */
export function logName(displayName: string, kind: string): string {
  const base = displayName
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-|-$/g, "");
  return `${base}-${kind}`;
}

export function streamingEnabled(container: ContainerSpec): boolean {
  return container.environment.MODEL_DEPLOY_ENABLE_STREAMING === "true";
}

/**
 * The container fields of the deployment, as Pulumi property paths (@pulumi/oci 4.20
 * types/input.d.ts:26234-26286, `ModelDeploymentModelDeploymentConfigurationDetailsEnvironmentConfigurationDetails`):
 * a change to any of them replaces the deployment instead of updating it. OCI updates an ACTIVE
 * deployment in place only in its instance shape, instance count and model id (and, on their own, its
 * load balancer bandwidth and logs); everything else only while it is INACTIVE (oci-datascience
 * lib/client.d.ts:2372-2376, updateModelDeployment). The provider marks none of these fields
 * ForceNew (terraform-provider-oci v8.28.0
 * internal/service/datascience/datascience_model_deployment_resource.go:84-169) and sends the whole
 * configuration, container included, in every update (UpdateWithContext, :1453-1469, through
 * mapToModelDeploymentConfigurationDetails, :2768-2789), without deactivating first (its `state`
 * input starts the deployment before the update and stops it after, :1089-1125). The engine marks
 * every entry of the provider's detailed diff at or below one of these paths as a replacement
 * (pulumi v3.248.0 pkg/resource/deploy/step_generator.go:2911-2949, `PropertyPath.Contains` in
 * sdk/go/common/resource/properties_path.go:310-314), and one such entry replaces the resource
 * (sdk/go/common/resource/plugin/provider.go:814-821), so a changed list element or variable counts.
 * `predictApiSpecification` (an OpenAI stack's) is one of them: the provider marks it Optional and
 * Computed, not ForceNew (datascience_model_deployment_resource.go:155-159), and sends it in the
 * update like the rest (:3200-3203), which OCI takes only while the deployment is INACTIVE. A
 * switch of `deployment.api` changes the command too, and so always replaces the deployment; the new
 * one is created with the field, or, switching back to triton, without it (OCI's default).
 */
export const CONTAINER_REPLACE_PATHS: readonly string[] = [
  "image",
  "imageDigest",
  "cmds",
  "entrypoints",
  "environmentVariables",
  "serverPort",
  "healthCheckPort",
  "predictApiSpecification",
].map((field) => `modelDeploymentConfigurationDetails.environmentConfigurationDetails.${field}`);

/**
 * The private endpoint the deployment is reached through, as a Pulumi property path. OCI takes it
 * only while the deployment is INACTIVE (on an ACTIVE one: shape, instance count and model id, and
 * on their own the load balancer and logs; oci-datascience lib/client.d.ts:2372-2376), the provider
 * does not mark it ForceNew (datascience_model_deployment_resource.go:663-667, Optional and
 * Computed) and it sends an empty one as none (:2080-2085): like a container change, a change of
 * access replaces the deployment, create-before-delete, with a new URL.
 */
export const PRIVATE_ENDPOINT_PATH =
  "modelDeploymentConfigurationDetails.modelConfigurationDetails.instanceConfiguration.privateEndpointId";

/**
 * The deployment's URL inside the VCN: its own path (`/<deployment OCID>`) on the private endpoint's
 * FQDN, the host a private deployment's HTTP endpoint carries (OCI docs "Invoking a Model
 * Deployment"). Where OCI already reports that host, the URL is the same.
 */
export function privateDeploymentUrl(modelDeploymentUrl: string, fqdn: string): string {
  const { pathname } = new URL(modelDeploymentUrl);
  return `https://${fqdn}${pathname.replace(/\/+$/, "")}`;
}

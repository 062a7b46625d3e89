/**
 * The local commands `pulumi up` runs for what it does through the OCI SDK rather than a provider
 * resource (`cli/oci-task.ts`, logic in `operations/oci-tasks.ts`): one builder per task, each
 * followed by the region and the OCI CLI profile the OCI provider uses. The argument names here are
 * the ones `cli/oci-task.ts` parses.
 */

/** Shell-quotes one word for `sh -c` or for a file that bash `source`s. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The local command `pulumi up` runs for one task of `cli/oci-task.ts`: the task's own arguments (as
 * shell text), then the region and OCI CLI profile the OCI provider uses.
 */
export function ociTaskCommand(task: string, args: string, region: string, profile?: string): string {
  const profileArg = profile === undefined ? "" : ` --profile ${shellQuote(profile)}`;
  return `node --import tsx cli/oci-task.ts ${task} ${args} --region ${shellQuote(region)}${profileArg}`;
}

/** The command that uploads a locally packed zip unless the bucket already has it. */
export function uploadArtifactCommand(args: {
  namespace: string;
  bucket: string;
  object: string;
  sha256: string;
  bytes: number;
  cacheDir: string;
  region: string;
  profile?: string;
}): string {
  return ociTaskCommand(
    "upload-artifact",
    `--namespace ${shellQuote(args.namespace)} --bucket ${shellQuote(args.bucket)} --object ${shellQuote(args.object)}` +
      ` --sha256 ${args.sha256} --bytes ${args.bytes} --cache-dir ${shellQuote(args.cacheDir)}`,
    args.region,
    args.profile,
  );
}

/**
 * The export is checked, not trusted: the provider's `ModelArtifactExport` treats HTTP 409 (an
 * artifact already there, e.g. the placeholder) as success and never reads back
 * (terraform-provider-oci internal/service/datascience/datascience_model_artifact_export_resource.go),
 * so a refused export would leave the model on its placeholder and fail the deployment's health check
 * 10+ GPU minutes later. A local command HEADs the model artifact (`cli/oci-task.ts
 * verify-model-artifact`, the SDK's `HeadModelArtifact`, as the provider's own `getModel` does) and
 * fails the run, before the deployment, unless it has the zip's size.
 */
export function verifyModelArtifactCommand(args: {
  modelId: string;
  bytes: number;
  region: string;
  profile?: string;
}): string {
  return ociTaskCommand(
    "verify-model-artifact",
    `--model-id ${shellQuote(args.modelId)} --bytes ${args.bytes}`,
    args.region,
    args.profile,
  );
}

/** The local command that terminates the build instance, idempotently. */
export function terminateInstanceCommand(args: {
  instanceId: string;
  region: string;
  profile?: string;
}): string {
  return ociTaskCommand(
    "terminate-instance",
    `--instance-id "${args.instanceId}"`,
    args.region,
    args.profile,
  );
}

/**
 * The local command that picks the build's availability domain at `up`: the first of `domains`
 * whose compute capacity report (`CreateComputeCapacityReport`, a POST that changes nothing) says
 * the shape is available. A command, not a data source: the report is no provider data source, and
 * a preview calls nothing but data sources (DESIGN.md), so a preview shows the domain as unknown.
 */
export function pickAvailabilityDomainCommand(args: {
  shape: string;
  shapeConfig?: { ocpus: number; memoryInGbs: number };
  domains: readonly string[];
  region: string;
  profile?: string;
}): string {
  const shapeConfig =
    args.shapeConfig === undefined
      ? ""
      : ` --ocpus ${args.shapeConfig.ocpus} --memory-gbs ${args.shapeConfig.memoryInGbs}`;
  return ociTaskCommand(
    "pick-availability-domain",
    `--tenancy-id "\${TENANCY_ID}" --shape ${shellQuote(args.shape)}${shapeConfig}` +
      args.domains.map((domain) => ` --availability-domain ${shellQuote(domain)}`).join(""),
    args.region,
    args.profile,
  );
}

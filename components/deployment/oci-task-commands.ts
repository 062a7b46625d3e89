/**
 * The local commands `pulumi up` runs for what it does through the OCI SDK rather than a provider
 * resource (`cli/oci-task.ts`, logic in `operations/up-tasks/build-tasks.ts`): one builder per task, each
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

/** What the catalog model is made of: its place, its description and metadata, and the zip to export. */
export interface CatalogModelSpec {
  readonly compartmentId: string;
  readonly projectId: string;
  readonly displayName: string;
  readonly description: string;
  /** OCI's custom metadata entries (`customMetadata`). */
  readonly metadata: readonly { key: string; value: string; category: string }[];
  readonly freeformTags: Readonly<Record<string, string>>;
  /** The zip in Object Storage (in the stack's region) and its size, which the catalog must report. */
  readonly artifact: { namespace: string; bucket: string; object: string; bytes: number };
  readonly region: string;
  readonly profile?: string;
}

/**
 * The command that creates the catalog model with no artifact, exports the zip into it from the
 * bucket, waits for the export's work request and checks the size the catalog then reports; it
 * prints the model's OCID alone on stdout (operations/up-tasks/catalog-model.ts says why this replaces the
 * provider's Model + ModelArtifactExport).
 */
export function createCatalogModelCommand(spec: CatalogModelSpec): string {
  const { artifact } = spec;
  return ociTaskCommand(
    "create-catalog-model",
    [
      `--compartment-id ${shellQuote(spec.compartmentId)}`,
      `--project-id ${shellQuote(spec.projectId)}`,
      `--display-name ${shellQuote(spec.displayName)}`,
      `--description ${shellQuote(spec.description)}`,
      `--metadata ${shellQuote(JSON.stringify(spec.metadata))}`,
      `--tags ${shellQuote(JSON.stringify(spec.freeformTags))}`,
      `--namespace ${shellQuote(artifact.namespace)}`,
      `--bucket ${shellQuote(artifact.bucket)}`,
      `--object ${shellQuote(artifact.object)}`,
      `--bytes ${artifact.bytes}`,
    ].join(" "),
    spec.region,
    spec.profile,
  );
}

/**
 * The command that deletes the catalog model the create printed: `@pulumi/command` hands a delete the
 * stdout of the last create or update as `PULUMI_COMMAND_STDOUT` (pulumi-command v1.2.1
 * provider/pkg/provider/local/commandOutputs.go lines 88-95).
 */
export function deleteCatalogModelCommand(region: string, profile?: string): string {
  return ociTaskCommand("delete-catalog-model", `--model-id "\${PULUMI_COMMAND_STDOUT}"`, region, profile);
}

/**
 * The command that waits until the policies are readable, with their statements, in the stack's
 * region: OCI writes IAM in the home region and replicates it, and a deployment created before its
 * `read repos` grant arrives fails its image pull only after OCI's 20-minute pull limit.
 */
export function waitForPoliciesCommand(args: {
  policies: readonly { id: string; statements: readonly string[] }[];
  region: string;
  profile?: string;
}): string {
  const policies = args.policies.map((policy) => `--policy ${shellQuote(JSON.stringify(policy))}`).join(" ");
  return ociTaskCommand("wait-for-policies", policies, args.region, args.profile);
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

/** What the endpoint proof asks and of which route (see `proveEndpointCommand`). */
export interface EndpointProofSpec {
  /**
   * The deployment's `/predict`, or its `/predictWithResponseStream` on a streaming stack; on an
   * OpenAI stack `/predict` followed by the chat route.
   */
  readonly url: string;
  /** The build's validation request (`validationRequestBody`): a generate or a chat body. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Text the answer must hold (`build.validation.expect`). */
  readonly expect: string;
  /** Read the answer as server-sent events (the streaming route). */
  readonly stream: boolean;
  readonly region: string;
  readonly profile?: string;
  /** `openai`: `url` is the chat route, `body` a chat request, the answer a chat completion. */
  readonly api?: "openai";
}

/**
 * The command that sends one signed known-answer request to the deployment, checks the answer as
 * the build host does, and prints `{answer, latencyMs, firstByteMs, checkedAt}` as one JSON line on
 * stdout (operations/up-tasks/endpoint-proof.ts); a wrong answer or an HTTP error exits 1.
 */
export function proveEndpointCommand(spec: EndpointProofSpec): string {
  return ociTaskCommand(
    "prove-endpoint",
    `--url ${shellQuote(spec.url)} --body ${shellQuote(JSON.stringify(spec.body))}` +
      ` --expect ${shellQuote(spec.expect)}${spec.stream ? " --stream" : ""}${spec.api === undefined ? "" : ` --api ${spec.api}`}`,
    spec.region,
    spec.profile,
  );
}

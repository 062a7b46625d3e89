/**
 * The things `pulumi up` does through the OCI SDK rather than through a provider resource, each
 * idempotent so a re-run or a second stack is harmless (the catalog model and the wait for new
 * policies are catalog-model.ts and policy-propagation.ts):
 *
 * - uploading a locally packed artifact: skipped when the content-addressed object is already in the
 *   bucket with the same size (a destroyed and re-created stack, a teammate's earlier run), so the
 *   provider's `StorageObject`, which uploads on every create and stats a local path on every
 *   preview (terraform-provider-oci internal/service/objectstorage/objectstorage_object_resource.go:261,
 *   `os.Stat` of the source), is not needed;
 * - terminating the build instance once its artifact is uploaded, whatever state it is in;
 * - choosing the build instance's availability domain from compute capacity reports and the
 *   shape's service limit in each domain.
 *
 * The SDK clients are passed in (run-task.ts builds them), so the tests stand in for the OCI API only.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { chooseAvailabilityDomain, type DomainCapacity, domainFits } from "../../components/build/inputs";
import { type LimitNeed, limitNeed } from "../../components/build/shape-limits";
import { UserError } from "../errors";

/** The slice of `ObjectStorageClient` + `UploadManager` the upload needs. */
export interface ObjectStore {
  /** Size of the object, or undefined when it does not exist. */
  headObject(object: { namespace: string; bucket: string; name: string }): Promise<number | undefined>;
  uploadFile(
    object: { namespace: string; bucket: string; name: string; sha256: string },
    path: string,
  ): Promise<void>;
}

export interface UploadArtifactArgs {
  readonly namespace: string;
  readonly bucket: string;
  readonly object: string;
  readonly sha256: string;
  readonly bytes: number;
  /** The local pack cache (`.cache/artifacts`): zips by fingerprint, each with a JSON index. */
  readonly cacheDir: string;
}

/** A task that cannot be done as asked: printed as one line, without a stack. */
export class TaskError extends UserError {}

/** The cached zip whose index records this sha256, if this machine has it. */
export function findCachedZip(cacheDir: string, sha256: string): string | undefined {
  if (!existsSync(cacheDir)) return undefined;
  for (const name of readdirSync(cacheDir).sort()) {
    if (!name.endsWith(".json")) continue;
    try {
      const entry = JSON.parse(readFileSync(join(cacheDir, name), "utf8")) as {
        sha256?: string;
        zipBytes?: number;
      };
      const zip = join(cacheDir, name.replace(/\.json$/, ".zip"));
      if (entry.sha256 === sha256 && existsSync(zip) && statSync(zip).size === entry.zipBytes) return zip;
    } catch {
      // A torn index from an interrupted run is not an entry.
    }
  }
  return undefined;
}

export async function uploadArtifact(store: ObjectStore, args: UploadArtifactArgs): Promise<string> {
  const object = { namespace: args.namespace, bucket: args.bucket, name: args.object };
  const existing = await store.headObject(object);
  if (existing === args.bytes)
    return `${args.bucket}/${args.object} is already in the bucket (${args.bytes} bytes): not uploaded again`;
  const zip = findCachedZip(args.cacheDir, args.sha256);
  if (zip === undefined) {
    throw new TaskError(
      `${args.bucket}/${args.object} is not in the bucket and the zip with sha256 ${args.sha256} is not in ${args.cacheDir}: run 'pulumi up' on a machine that has engine.prebuiltDir, or 'pulumi preview' here first to pack it`,
    );
  }
  await store.uploadFile({ ...object, sha256: args.sha256 }, zip);
  const uploaded = await store.headObject(object);
  if (uploaded !== args.bytes) {
    throw new TaskError(
      `${args.bucket}/${args.object} has ${uploaded ?? "no"} bytes after the upload, expected ${args.bytes}`,
    );
  }
  return `uploaded ${zip} to ${args.bucket}/${args.object} (${args.bytes} bytes)`;
}

/** The slice of `ComputeClient` the termination needs. */
export interface Compute {
  /** Lifecycle state, or undefined when OCI no longer knows the instance. */
  instanceState(instanceId: string): Promise<string | undefined>;
  terminate(instanceId: string): Promise<void>;
}

const GONE = new Set(["TERMINATED", "TERMINATING"]);

export async function terminateInstance(
  compute: Compute,
  instanceId: string,
  options: { pollMs: number; timeoutMs: number } = { pollMs: 15_000, timeoutMs: 30 * 60_000 },
): Promise<string> {
  const state = await compute.instanceState(instanceId);
  if (state === undefined) return `${instanceId} no longer exists`;
  if (state === "TERMINATED") return `${instanceId} is already terminated`;
  if (!GONE.has(state)) await compute.terminate(instanceId);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const now = await compute.instanceState(instanceId);
    if (now === undefined || now === "TERMINATED") return `${instanceId} terminated`;
    if (Date.now() > deadline) {
      throw new TaskError(
        `${instanceId} is still ${now} after ${options.timeoutMs / 60_000} minutes: check it in the OCI console`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

/** The slice of `ComputeClient` the choice of domain needs: a capacity report for one shape. */
export interface CapacityReports {
  /** `availabilityStatus` of each shape availability the report for this domain holds. */
  statuses(availabilityDomain: string): Promise<string[]>;
}

/** The slice of `LimitsClient` the choice of domain needs: one limit's availability in one domain. */
export interface ServiceLimits {
  /**
   * `available` of GetResourceAvailability for the limit in this domain, undefined when OCI reports
   * no figure; rejects with the SDK's error (its `statusCode` tells a refusal from a failure).
   */
  available(
    availabilityDomain: string,
    limit: { service: string; name: string },
  ): Promise<number | undefined>;
}

export interface DomainRequest {
  readonly shape: string;
  /** A flexible shape's configuration: its OCPUs are what its limit counts. */
  readonly shapeConfig?: { readonly ocpus: number; readonly memoryInGbs: number };
  /** The tenancy's availability domains, in its order. */
  readonly domains: readonly string[];
}

// OCI answers an unauthorised call and a missing resource alike, with 404 NotAuthorizedOrNotFound
// (the status the SDK's error carries: oci-common lib/error.d.ts, OciError.statusCode); 401 and 403
// are refusals too. GetResourceAvailability also answers 404 for a limit it keeps no figure for
// (oci-limits lib/client.d.ts, getResourceAvailability: "Note that not all resource limits support
// this API. If the value is not available, the API returns a 404 response").
const REFUSED = new Set([401, 403, 404]);

function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null
    ? (error as { statusCode?: number }).statusCode
    : undefined;
}

/**
 * Asks domain by domain, in the tenancy's order, and stops at the first that fits: a capacity report
 * for the shape, then, where it says AVAILABLE, the shape's service limit in that domain
 * (components/build/shape-limits.ts), which must have what one instance needs. The fewest calls, and
 * the same domain the old "first domain" rule picked whenever it fits. Each answer, the reason a
 * domain is passed over and the domain chosen are reported through `say` (stderr: the `up` output
 * shows them).
 */
export async function pickAvailabilityDomain(
  reports: CapacityReports,
  limits: ServiceLimits,
  request: DomainRequest,
  say: (line: string) => void,
): Promise<string> {
  const { shape } = request;
  let need: LimitNeed | undefined;
  try {
    need = limitNeed(shape, request.shapeConfig);
  } catch (error) {
    throw new TaskError((error as Error).message);
  }
  if (need === undefined) {
    say(
      `${shape}: no Compute service limit name is known for this shape (components/build/shape-limits.ts): only host capacity is checked`,
    );
  }
  const answers: DomainCapacity[] = [];
  for (const availabilityDomain of request.domains) {
    let statuses: string[];
    try {
      statuses = await reports.statuses(availabilityDomain);
    } catch (error) {
      throw new TaskError(
        `the compute capacity report for ${shape} in ${availabilityDomain} failed (${(error as Error).message}): allow the deploying principal to manage compute-capacity-reports in the tenancy (docs/operations.md), or pin a domain: pulumi config set --path build.availabilityDomain <name>`,
      );
    }
    const capacity = statuses.join(", ") || "not reported";
    if (!statuses.includes("AVAILABLE")) {
      answers.push({ availabilityDomain, statuses });
      say(`${availabilityDomain}: ${shape} ${capacity}: skipped, no host capacity`);
      continue;
    }
    if (need === undefined) {
      answers.push({ availabilityDomain, statuses });
      say(`${availabilityDomain}: ${shape} ${capacity}`);
      break;
    }
    const available = await limitAvailable(limits, need, availabilityDomain);
    const answer: DomainCapacity = {
      availabilityDomain,
      statuses,
      limit: { name: need.limitName, unit: need.unit, available, needed: need.amount },
    };
    answers.push(answer);
    const figure = available === undefined ? "not reported (not held against it)" : `${available} available`;
    const fits = domainFits(answer);
    say(
      `${availabilityDomain}: ${shape} ${capacity}; ${need.limitName} ${figure}, ${need.amount} ${need.unit} needed${fits ? "" : ": skipped, too little of the service limit left"}`,
    );
    if (fits) break;
  }
  let chosen: string;
  try {
    chosen = chooseAvailabilityDomain(shape, answers);
  } catch (error) {
    throw new TaskError((error as Error).message);
  }
  say(`chose ${chosen} for ${shape}`);
  return chosen;
}

async function limitAvailable(
  limits: ServiceLimits,
  need: LimitNeed,
  availabilityDomain: string,
): Promise<number | undefined> {
  try {
    return await limits.available(availabilityDomain, { service: need.service, name: need.limitName });
  } catch (error) {
    const status = statusOf(error);
    const message = error instanceof Error ? error.message : String(error);
    const cause = status === undefined ? message : `${message}, HTTP ${status}`;
    if (status !== undefined && REFUSED.has(status)) {
      throw new TaskError(
        `the service limit ${need.service}/${need.limitName} in ${availabilityDomain} could not be read (${cause}): OCI refused the call, or keeps no figure for that limit. Allow the deploying principal to read limits: allow group <deployers> to inspect resource-availability in tenancy (docs/operations.md); or pin a domain: pulumi config set --path build.availabilityDomain <name>`,
      );
    }
    throw new TaskError(
      `the service limit ${need.service}/${need.limitName} in ${availabilityDomain} could not be read (${cause}): run 'pulumi up' again, or pin a domain: pulumi config set --path build.availabilityDomain <name>`,
    );
  }
}

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
 * - choosing the build instance's availability domain from compute capacity reports.
 *
 * The SDK clients are passed in (oci-task.ts builds them), so the tests stand in for the OCI API only.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { chooseAvailabilityDomain, type DomainCapacity } from "../components/build/inputs";
import { UserError } from "./errors";

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

/**
 * Asks for a capacity report domain by domain, in the tenancy's order, and stops at the first that
 * has room: the fewest calls, and the same domain the old "first domain" rule picked whenever it
 * has capacity. Each answer is reported through `say` (stderr: the `up` output shows it).
 */
export async function pickAvailabilityDomain(
  reports: CapacityReports,
  shape: string,
  domains: readonly string[],
  say: (line: string) => void,
): Promise<string> {
  const answers: DomainCapacity[] = [];
  for (const availabilityDomain of domains) {
    let statuses: string[];
    try {
      statuses = await reports.statuses(availabilityDomain);
    } catch (error) {
      throw new TaskError(
        `the compute capacity report for ${shape} in ${availabilityDomain} failed (${(error as Error).message}): allow the deploying principal to manage compute-capacity-reports in the tenancy (docs/operations.md), or pin a domain: pulumi config set --path build.availabilityDomain <name>`,
      );
    }
    say(`${availabilityDomain}: ${shape} ${statuses.join(", ") || "not reported"}`);
    answers.push({ availabilityDomain, statuses });
    if (statuses.includes("AVAILABLE")) break;
  }
  try {
    return chooseAvailabilityDomain(shape, answers);
  } catch (error) {
    throw new TaskError((error as Error).message);
  }
}

/**
 * What `pulumi up` runs through `@pulumi/command` local commands, with the caller's OCI profile
 * (the same `~/.oci/config` the OCI provider reads):
 *
 *   node --import tsx cli/oci-task.ts upload-artifact --namespace N --bucket B --object O --sha256 S --bytes X --region R [--cache-dir D] [--profile P]
 *   node --import tsx cli/oci-task.ts terminate-instance --instance-id ID --region R [--profile P]
 *   node --import tsx cli/oci-task.ts verify-model-artifact --model-id ID --bytes X --region R [--profile P]
 *
 * Exit 0 done (or nothing to do), 1 failed, 2 usage.
 */
import { parseArgs } from "node:util";
import * as common from "oci-common";
import * as core from "oci-core";
import * as datascience from "oci-datascience";
import * as objectstorage from "oci-objectstorage";
import {
  Compute,
  ModelCatalog,
  ObjectStore,
  TaskError,
  terminateInstance,
  uploadArtifact,
  verifyModelArtifact,
} from "../operations/oci-tasks";

const USAGE = `usage:
  oci-task.ts upload-artifact --namespace N --bucket B --object O --sha256 S --bytes X --region R [--cache-dir .cache/artifacts] [--profile P]
  oci-task.ts terminate-instance --instance-id ID --region R [--profile P]
  oci-task.ts verify-model-artifact --model-id ID --bytes X --region R [--profile P]`;

// 128 MiB parts, 8 at a time: a 15 GB zip in about 120 parts, within OCI's 10,000-part limit.
const PART_BYTES = 128 * 1024 * 1024;
const PARALLEL_PARTS = 8;

function auth(profile: string | undefined): common.ConfigFileAuthenticationDetailsProvider {
  return new common.ConfigFileAuthenticationDetailsProvider(process.env.OCI_CLI_CONFIG_FILE, profile);
}

/** The call's answer, or undefined when OCI answers 404 (the thing does not exist, or no longer). */
async function unlessNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const status =
      typeof error === "object" && error !== null ? (error as { statusCode?: number }).statusCode : undefined;
    if (status === 404) return undefined;
    throw error;
  }
}

function objectStore(region: string, profile: string | undefined): ObjectStore {
  const client = new objectstorage.ObjectStorageClient({ authenticationDetailsProvider: auth(profile) });
  client.regionId = region;
  return {
    async headObject({ namespace, bucket, name }) {
      const head = await unlessNotFound(() =>
        client.headObject({ namespaceName: namespace, bucketName: bucket, objectName: name }),
      );
      return head?.contentLength;
    },
    async uploadFile({ namespace, bucket, name, sha256 }, path) {
      const manager = new objectstorage.UploadManager(client, {
        partSize: PART_BYTES,
        maxConcurrentUploads: PARALLEL_PARTS,
      });
      await manager.upload({
        content: { filePath: path },
        requestDetails: {
          namespaceName: namespace,
          bucketName: bucket,
          objectName: name,
          contentType: "application/zip",
          opcMeta: { sha256 },
        },
      });
    },
  };
}

function compute(region: string, profile: string | undefined): Compute {
  const client = new core.ComputeClient({ authenticationDetailsProvider: auth(profile) });
  client.regionId = region;
  return {
    async instanceState(instanceId) {
      return (await unlessNotFound(() => client.getInstance({ instanceId })))?.instance.lifecycleState;
    },
    async terminate(instanceId) {
      await client.terminateInstance({ instanceId, preserveBootVolume: false });
    },
  };
}

function modelCatalog(region: string, profile: string | undefined): ModelCatalog {
  const client = new datascience.DataScienceClient({ authenticationDetailsProvider: auth(profile) });
  client.regionId = region;
  return {
    async artifactBytes(modelId) {
      return (await unlessNotFound(() => client.headModelArtifact({ modelId })))?.contentLength;
    },
  };
}

function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive whole number`);
  return number;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string" },
      bucket: { type: "string" },
      object: { type: "string" },
      sha256: { type: "string" },
      bytes: { type: "string" },
      region: { type: "string" },
      profile: { type: "string" },
      "cache-dir": { type: "string", default: ".cache/artifacts" },
      "instance-id": { type: "string" },
      "model-id": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const task = positionals[0];
  const region = required(values.region, "region");
  if (task === "upload-artifact") {
    const bytes = positiveInteger(required(values.bytes, "bytes"), "bytes");
    const upload = {
      namespace: required(values.namespace, "namespace"),
      bucket: required(values.bucket, "bucket"),
      object: required(values.object, "object"),
      sha256: required(values.sha256, "sha256"),
      bytes,
      cacheDir: values["cache-dir"] ?? ".cache/artifacts",
    };
    console.log(await uploadArtifact(objectStore(region, values.profile), upload));
    return 0;
  }
  if (task === "terminate-instance") {
    const instanceId = required(values["instance-id"], "instance-id");
    console.log(await terminateInstance(compute(region, values.profile), instanceId));
    return 0;
  }
  if (task === "verify-model-artifact") {
    const bytes = positiveInteger(required(values.bytes, "bytes"), "bytes");
    const modelId = required(values["model-id"], "model-id");
    console.log(await verifyModelArtifact(modelCatalog(region, values.profile), modelId, bytes));
    return 0;
  }
  throw new UsageError(task === undefined ? "name a task" : `unknown task '${task}'`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error instanceof TypeError && "code" in error);
    console.error(`oci-task: ${error instanceof Error ? error.message : String(error)}`);
    if (usage) console.error(USAGE);
    process.exitCode = usage ? 2 : 1;
    if (!(error instanceof TaskError) && !usage && error instanceof Error && process.env.DEBUG)
      console.error(error.stack);
  },
);

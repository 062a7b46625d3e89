/**
 * What `pulumi up` runs through `@pulumi/command` local commands (`cli/oci-task.ts`): one task, signed
 * with the caller's OCI profile (the same config file and profile the OCI provider reads), against
 * the SDK clients the idempotent task logic (oci-tasks.ts) needs.
 */
import * as core from "oci-core";
import * as datascience from "oci-datascience";
import * as objectstorage from "oci-objectstorage";
import { configFileAuth, createAuthProvider, createSdkClient, unlessNotFound } from "./oci-client";
import {
  type Compute,
  type ModelCatalog,
  type ObjectStore,
  type CapacityReports,
  pickAvailabilityDomain,
  terminateInstance,
  type UploadArtifactArgs,
  uploadArtifact,
  verifyModelArtifact,
} from "./oci-tasks";

export type OciTask =
  | { readonly task: "upload-artifact"; readonly upload: UploadArtifactArgs }
  | { readonly task: "terminate-instance"; readonly instanceId: string }
  | { readonly task: "verify-model-artifact"; readonly modelId: string; readonly bytes: number }
  | {
      readonly task: "pick-availability-domain";
      /** Capacity reports are asked of the root compartment (CreateComputeCapacityReportDetails). */
      readonly tenancyId: string;
      readonly shape: string;
      readonly shapeConfig?: { readonly ocpus: number; readonly memoryInGbs: number };
      readonly domains: readonly string[];
    };

/** The region every client calls and the OCI config profile that signs (DEFAULT when unset). */
export interface OciTaskTarget {
  readonly region: string;
  readonly profile?: string;
}

// 128 MiB parts, 8 at a time: a 15 GB zip in about 120 parts, within OCI's 10,000-part limit.
const PART_BYTES = 128 * 1024 * 1024;
const PARALLEL_PARTS = 8;

function objectStore(client: objectstorage.ObjectStorageClient): ObjectStore {
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

function compute(client: core.ComputeClient): Compute {
  return {
    async instanceState(instanceId) {
      return (await unlessNotFound(() => client.getInstance({ instanceId })))?.instance.lifecycleState;
    },
    async terminate(instanceId) {
      await client.terminateInstance({ instanceId, preserveBootVolume: false });
    },
  };
}

// CreateComputeCapacityReport is a POST that creates nothing (oci-core lib/client.d.ts,
// createComputeCapacityReport; model/compute-capacity-report.d.ts), so it runs at `up` only.
function capacityReports(
  client: core.ComputeClient,
  task: Extract<OciTask, { task: "pick-availability-domain" }>,
): CapacityReports {
  return {
    async statuses(availabilityDomain) {
      const response = await client.createComputeCapacityReport({
        createComputeCapacityReportDetails: {
          compartmentId: task.tenancyId,
          availabilityDomain,
          shapeAvailabilities: [
            {
              instanceShape: task.shape,
              ...(task.shapeConfig === undefined
                ? {}
                : {
                    instanceShapeConfig: {
                      ocpus: task.shapeConfig.ocpus,
                      memoryInGBs: task.shapeConfig.memoryInGbs,
                    },
                  }),
            },
          ],
        },
      });
      return response.computeCapacityReport.shapeAvailabilities.map(
        (availability) => availability.availabilityStatus ?? "UNKNOWN",
      );
    },
  };
}

function modelCatalog(client: datascience.DataScienceClient): ModelCatalog {
  return {
    async artifactBytes(modelId) {
      return (await unlessNotFound(() => client.headModelArtifact({ modelId })))?.contentLength;
    },
  };
}

/** Runs one task; resolves to the line it reports (done, or nothing to do), rejects when it failed. */
export async function runOciTask(task: OciTask, target: OciTaskTarget): Promise<string> {
  const provider = await createAuthProvider(configFileAuth(target.profile));
  const where = { region: target.region };
  switch (task.task) {
    case "upload-artifact":
      return uploadArtifact(
        objectStore(createSdkClient(objectstorage.ObjectStorageClient, provider, where)),
        task.upload,
      );
    case "terminate-instance":
      return terminateInstance(
        compute(createSdkClient(core.ComputeClient, provider, where)),
        task.instanceId,
      );
    case "pick-availability-domain":
      return pickAvailabilityDomain(
        capacityReports(createSdkClient(core.ComputeClient, provider, where), task),
        task.shape,
        task.domains,
        (line) => console.error(line),
      );
    case "verify-model-artifact":
      return verifyModelArtifact(
        modelCatalog(createSdkClient(datascience.DataScienceClient, provider, where)),
        task.modelId,
        task.bytes,
      );
  }
}

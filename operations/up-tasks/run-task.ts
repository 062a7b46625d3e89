/**
 * What `pulumi up` runs through `@pulumi/command` local commands (`cli/oci-task.ts`): one task, signed
 * with the caller's OCI profile (the same config file and profile the OCI provider reads), against
 * the SDK clients the idempotent task logic (build-tasks.ts) needs.
 */
import * as core from "oci-core";
import * as datascience from "oci-datascience";
import * as identity from "oci-identity";
import * as limits from "oci-limits";
import * as objectstorage from "oci-objectstorage";
import {
  type CatalogModelRequest,
  createCatalogModel,
  type DataScienceApi,
  deleteCatalogModel,
  type ObjectHeadApi,
} from "./catalog-model";
import { createDeploymentClient, parseDeploymentUrl } from "../endpoint/deployment-client";
import { type EndpointProofRequest, proveEndpoint } from "./endpoint-proof";
import { configFileAuth, createAuthProvider, createSdkClient, unlessNotFound } from "../oci-client";
import {
  type Compute,
  type ObjectStore,
  type CapacityReports,
  pickAvailabilityDomain,
  type ServiceLimits,
  terminateInstance,
  type UploadArtifactArgs,
  uploadArtifact,
} from "./build-tasks";
import { type IdentityApi, type PolicyExpectation, waitForPolicies } from "./policy-propagation";

export type { EndpointProofRequest } from "./endpoint-proof";
export type { PolicyExpectation } from "./policy-propagation";
export type CatalogModelMetadata = CatalogModelRequest["metadata"];

export type OciTask =
  | { readonly task: "upload-artifact"; readonly upload: UploadArtifactArgs }
  | { readonly task: "terminate-instance"; readonly instanceId: string }
  | {
      readonly task: "pick-availability-domain";
      /**
       * Capacity reports are asked of the root compartment (CreateComputeCapacityReportDetails), and
       * so are the service limits, which are the tenancy's.
       */
      readonly tenancyId: string;
      readonly shape: string;
      readonly shapeConfig?: { readonly ocpus: number; readonly memoryInGbs: number };
      readonly domains: readonly string[];
    }
  | { readonly task: "create-catalog-model"; readonly model: Omit<CatalogModelRequest, "region"> }
  | { readonly task: "delete-catalog-model"; readonly modelId: string }
  | { readonly task: "wait-for-policies"; readonly policies: readonly PolicyExpectation[] }
  | {
      readonly task: "prove-endpoint";
      /** The deployment's predict URL (`/predict`, or `/predictWithResponseStream` to stream). */
      readonly url: string;
      readonly proof: EndpointProofRequest;
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

// GetResourceAvailability: the limit's availability in the tenancy (the root compartment) and one
// availability domain, required for a limit scoped to AD as every Compute core and GPU limit is
// (oci-limits lib/request/get-resource-availability-request.d.ts, availabilityDomain: "mandatory if
// the scopeType of the target resource limit is AD"). `available` is the count left, rounded down
// (lib/model/resource-availability.d.ts).
function serviceLimits(client: limits.LimitsClient, tenancyId: string): ServiceLimits {
  return {
    async available(availabilityDomain, limit) {
      const response = await client.getResourceAvailability({
        serviceName: limit.service,
        limitName: limit.name,
        compartmentId: tenancyId,
        availabilityDomain,
      });
      return response.resourceAvailability.available;
    },
  };
}

/** Runs one task; resolves to the line it reports (done, or nothing to do), rejects when it failed. */
export async function runOciTask(task: OciTask, target: OciTaskTarget): Promise<string> {
  const auth = configFileAuth(target.profile);
  const provider = await createAuthProvider(auth);
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
        serviceLimits(createSdkClient(limits.LimitsClient, provider, where), task.tenancyId),
        { shape: task.shape, shapeConfig: task.shapeConfig, domains: task.domains },
        (line) => console.error(line),
      );
    case "create-catalog-model": {
      // The SDK clients satisfy the slices the logic is written against (catalog-model.ts).
      const science: DataScienceApi = createSdkClient(datascience.DataScienceClient, provider, where);
      const objects: ObjectHeadApi = createSdkClient(objectstorage.ObjectStorageClient, provider, where);
      // Progress on stderr: stdout is the model's OCID alone, which the delete command receives.
      return createCatalogModel(science, objects, { ...task.model, region: target.region }, (line) =>
        console.error(line),
      );
    }
    case "delete-catalog-model":
      return deleteCatalogModel(
        createSdkClient(datascience.DataScienceClient, provider, where),
        task.modelId,
      );
    case "wait-for-policies": {
      const client: IdentityApi = createSdkClient(identity.IdentityClient, provider, where);
      return waitForPolicies(client, task.policies, target.region, (line) => console.error(line));
    }
    case "prove-endpoint": {
      // The lifecycle read that explains a failed call goes to the stack region's Data Science API,
      // as the SDK resolves it for that region.
      const controlPlaneEndpoint = createSdkClient(datascience.DataScienceClient, provider, where).endpoint;
      // On an OpenAI stack the URL ends with the chat route, which the client adds to every call.
      const client = createDeploymentClient(provider, auth, parseDeploymentUrl(task.url, "--url"), {
        controlPlaneEndpoint,
        ...(task.proof.api === undefined ? {} : { api: task.proof.api }),
      });
      // Progress on stderr: stdout is the proof alone, one JSON line the stack output parses.
      const proof = await proveEndpoint(client, task.proof, { log: (line) => console.error(line) });
      return JSON.stringify(proof);
    }
  }
}

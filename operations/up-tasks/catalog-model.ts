/**
 * The catalog model as `pulumi up` makes it (`cli/oci-task.ts create-catalog-model`, run by the
 * `CatalogModel` component's local command): a model created with NO artifact, the zip exported
 * into it from Object Storage, the export's work request waited for, and the artifact the catalog
 * then reports checked against the zip; and its deletion.
 *
 * Why not the provider's `Model` and `ModelArtifactExport`: the first requires an artifact and
 * uploads it at create, catalog artifacts are immutable, and the second reports success on any 409
 * (components/catalog-model.ts cites the provider's lines). Oracle's large-model sample
 * (oci-data-science-ai-samples model-deployment/containers/llama2/create-large-modelcatalog.py) and
 * ADS's LargeArtifactUploader do what this does.
 *
 * The SDK calls go through the slices below, written from oci-datascience 2.139.1 and
 * oci-objectstorage 2.139.1 (lib/client.d.ts, lib/request, lib/response, lib/model): the real
 * clients satisfy them as they are, and the tests stand in for the OCI API behind them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { CatalogModelSpec } from "../../components/deployment/oci-task-commands";
import { UserError } from "../errors";
import { errorMessage } from "../oci-client";

/** The `DataScienceClient` methods the catalog model needs, with the fields read here. */
export interface DataScienceApi {
  createModel(request: {
    createModelDetails: {
      compartmentId: string;
      projectId: string;
      displayName?: string;
      description?: string;
      freeformTags?: { [key: string]: string };
      customMetadataList?: { key?: string; value?: string; category?: string }[];
    };
  }): Promise<{ model: { id: string } }>;
  exportModelArtifact(request: {
    modelId: string;
    exportModelArtifactDetails: {
      artifactExportDetails: {
        artifactSourceType: string;
        namespace?: string;
        sourceBucket?: string;
        sourceObjectName?: string;
        sourceRegion?: string;
      };
    };
  }): Promise<{ opcWorkRequestId: string }>;
  getWorkRequest(request: { workRequestId: string }): Promise<{ workRequest: { status: string } }>;
  listWorkRequestErrors(request: {
    workRequestId: string;
  }): Promise<{ items: { code: string; message: string }[] }>;
  headModelArtifact(request: { modelId: string }): Promise<{ contentLength: number; contentMd5: string }>;
  deleteModel(request: { modelId: string }): Promise<unknown>;
}

/** The `ObjectStorageClient.headObject` the checksum comparison reads. */
export interface ObjectHeadApi {
  headObject(request: {
    namespaceName: string;
    bucketName: string;
    objectName: string;
  }): Promise<{ contentLength: number; contentMd5: string }>;
}

/**
 * What `create-catalog-model` is given: the spec the program put on its command line
 * (`createCatalogModelCommand`), less the profile, which signs the calls rather than shaping the model.
 */
export type CatalogModelRequest = Omit<CatalogModelSpec, "profile">;

export interface CatalogModelTiming {
  readonly pollMs: number;
  /** How long a refused export is retried while a new service policy propagates. */
  readonly policyWaitMs: number;
  readonly retryMs: number;
}

// A new policy takes minutes to take effect, more in a region other than the home region (IAM is
// written there and replicated): 15 minutes, then the refusal is final.
export const CATALOG_MODEL_TIMING: CatalogModelTiming = {
  pollMs: 10_000,
  policyWaitMs: 15 * 60_000,
  retryMs: 30_000,
};

// What a work request says when the service may not read the bucket (yet): Object Storage's
// NotAuthorizedOrNotFound, or an authorization failure in the export's own words.
const NOT_AUTHORIZED = /NotAuthorized|not authori[sz]ed|authori[sz]ation failed|permission/i;

const DONE = new Set(["SUCCEEDED", "FAILED", "CANCELED"]);

class ExportFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

async function exportOnce(
  api: DataScienceApi,
  modelId: string,
  request: CatalogModelRequest,
  timing: CatalogModelTiming,
  log: (line: string) => void,
): Promise<void> {
  const { artifact } = request;
  const { opcWorkRequestId } = await api.exportModelArtifact({
    modelId,
    exportModelArtifactDetails: {
      artifactExportDetails: {
        artifactSourceType: "ORACLE_OBJECT_STORAGE",
        namespace: artifact.namespace,
        sourceBucket: artifact.bucket,
        sourceObjectName: artifact.object,
        sourceRegion: request.region,
      },
    },
  });
  log(`exporting ${artifact.bucket}/${artifact.object} into ${modelId} (work request ${opcWorkRequestId})`);
  for (;;) {
    const { status } = (await api.getWorkRequest({ workRequestId: opcWorkRequestId })).workRequest;
    if (status === "SUCCEEDED") return;
    if (DONE.has(status)) {
      const errors = (await api.listWorkRequestErrors({ workRequestId: opcWorkRequestId })).items;
      const said = errors.map((e) => `${e.code}: ${e.message}`).join("; ") || "no error reported";
      throw new ExportFailed(
        `the export work request ${opcWorkRequestId} ${status}: ${said}`,
        NOT_AUTHORIZED.test(said),
      );
    }
    await sleep(timing.pollMs);
  }
}

/** The model's artifact against the zip: the size always, the MD5 when both sides report one. */
async function verifyArtifact(
  api: DataScienceApi,
  objects: ObjectHeadApi,
  modelId: string,
  artifact: CatalogModelRequest["artifact"],
): Promise<string> {
  const held = await api.headModelArtifact({ modelId });
  if (held.contentLength !== artifact.bytes) {
    throw new UserError(
      `the catalog model ${modelId} holds a ${held.contentLength}-byte artifact after the export, not the ${artifact.bytes}-byte zip ${artifact.bucket}/${artifact.object}`,
    );
  }
  // Object Storage reports Content-MD5 for objects uploaded in one part; a multipart object has
  // only opc-multipart-md5, which is not the MD5 of its bytes, so there is nothing to compare.
  const object = await objects.headObject({
    namespaceName: artifact.namespace,
    bucketName: artifact.bucket,
    objectName: artifact.object,
  });
  if (held.contentMd5 && object.contentMd5) {
    if (held.contentMd5 !== object.contentMd5) {
      throw new UserError(
        `the catalog model ${modelId}'s artifact has MD5 ${held.contentMd5}, the zip ${artifact.bucket}/${artifact.object} has ${object.contentMd5}`,
      );
    }
    return `${artifact.bytes} bytes, MD5 ${held.contentMd5} as in the bucket`;
  }
  return `${artifact.bytes} bytes (no MD5 on both sides to compare)`;
}

/**
 * Creates the model, exports the zip into it and checks it; resolves to the model's OCID. A model
 * that did not end up holding the zip is deleted again before the error is thrown, so a failed
 * create leaves nothing behind.
 */
export async function createCatalogModel(
  api: DataScienceApi,
  objects: ObjectHeadApi,
  request: CatalogModelRequest,
  log: (line: string) => void,
  timing: CatalogModelTiming = CATALOG_MODEL_TIMING,
): Promise<string> {
  const { model } = await api.createModel({
    createModelDetails: {
      compartmentId: request.compartmentId,
      projectId: request.projectId,
      displayName: request.displayName,
      description: request.description,
      freeformTags: { ...request.freeformTags },
      customMetadataList: request.metadata.map((entry) => ({ ...entry })),
    },
  });
  log(`created catalog model ${model.id} with no artifact`);
  try {
    const deadline = Date.now() + timing.policyWaitMs;
    for (;;) {
      try {
        await exportOnce(api, model.id, request, timing, log);
        break;
      } catch (error) {
        if (!(error instanceof ExportFailed) || !error.retryable || Date.now() >= deadline) throw error;
        log(`${error.message}: waiting for the service policy to take effect, then exporting again`);
        await sleep(timing.retryMs);
      }
    }
    log(`verified: ${await verifyArtifact(api, objects, model.id, request.artifact)}`);
    return model.id;
  } catch (error) {
    const cause = errorMessage(error);
    try {
      await api.deleteModel({ modelId: model.id });
    } catch (cleanup) {
      throw new UserError(
        `${cause}; the model ${model.id} could not be deleted (${errorMessage(cleanup)}): delete it with 'oci data-science model delete --model-id ${model.id}'`,
      );
    }
    throw new UserError(
      `${cause}; the model ${model.id} was deleted again and nothing was deployed. The export needs the service policies of docs/iam.md (iamStatements)`,
    );
  }
}

/**
 * Deletes the model. Gone already (404) is done; OCI's 409 means a model deployment still serves it,
 * which is an error: Pulumi keeps the model in state and tries again on the next `up`.
 */
export async function deleteCatalogModel(api: DataScienceApi, modelId: string): Promise<string> {
  if (modelId.trim() === "") return "no model was recorded: nothing to delete";
  try {
    await api.deleteModel({ modelId });
    return `deleted catalog model ${modelId}`;
  } catch (error) {
    // An `OciError`, or the plain `{ statusCode }` the SDK's retrier throws (oci-client.ts).
    const status =
      typeof error === "object" && error !== null ? (error as { statusCode?: number }).statusCode : undefined;
    if (status === 404) return `catalog model ${modelId} is already gone`;
    if (status === 409) {
      throw new UserError(
        `the catalog model ${modelId} still serves a model deployment, and OCI deletes no model a deployment uses: it stays. Fix: point the deployment at another model (pulumi up does, before it deletes the old one), or delete the deployment, then run pulumi up again (${errorMessage(error)})`,
      );
    }
    throw error;
  }
}

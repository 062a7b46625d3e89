// The catalog model as `pulumi up` makes it (operations/up-tasks/catalog-model.ts): created with no artifact,
// the zip exported from the bucket, the work request waited for, the artifact checked; deleted again
// when any of that fails; deleted idempotently. The OCI API is a stand-in written from the SDK's
// typings (oci-datascience 2.139.1: createModel, exportModelArtifact, getWorkRequest,
// listWorkRequestErrors, headModelArtifact, deleteModel; oci-objectstorage: headObject).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  type CatalogModelRequest,
  createCatalogModel,
  type DataScienceApi,
  deleteCatalogModel,
  type ObjectHeadApi,
} from "../operations/up-tasks/catalog-model";

const MODEL = "ocid1.datasciencemodel.oc1.iad.amaaaaaanewmodel";
const FAST = { pollMs: 1, policyWaitMs: 60_000, retryMs: 1 };
const DENIED = {
  code: "NotAuthorizedOrNotFound",
  message: "Authorization failed or requested resource not found.",
};

const REQUEST: CatalogModelRequest = {
  compartmentId: "ocid1.compartment.oc1..c",
  projectId: "ocid1.datascienceproject.oc1.iad.p",
  displayName: "triton-trtllm-oci-dev",
  description: "Triton TensorRT-LLM model repository, artifact sha256:abc",
  metadata: [{ key: "artifactSha256", value: "abc", category: "Other" }],
  freeformTags: { project: "triton-trtllm-oci", stack: "dev" },
  artifact: { namespace: "ns", bucket: "b", object: "artifacts/k/model.zip", bytes: 4096 },
  region: "eu-frankfurt-1",
};

interface Catalog {
  api: DataScienceApi;
  calls: string[];
  created: unknown[];
  exports: unknown[];
  deleted: string[];
}

/**
 * A catalog whose export work requests end as `outcomes` says, one per export (the last repeats),
 * and whose model then holds `held` (bytes and MD5).
 */
function catalog(
  outcomes: { status: string; errors?: { code: string; message: string }[] }[],
  held: { contentLength: number; contentMd5: string } = { contentLength: 4096, contentMd5: "md5==" },
  deleteFails?: { statusCode: number },
): Catalog {
  const calls: string[] = [];
  const created: unknown[] = [];
  const exports: unknown[] = [];
  const deleted: string[] = [];
  let exported = 0;
  const api: DataScienceApi = {
    async createModel(request) {
      calls.push("createModel");
      created.push(request);
      return { model: { id: MODEL } };
    },
    async exportModelArtifact(request) {
      calls.push("exportModelArtifact");
      exports.push(request);
      exported += 1;
      return { opcWorkRequestId: `wr${exported}` };
    },
    async getWorkRequest({ workRequestId }) {
      calls.push(`getWorkRequest ${workRequestId}`);
      const index = Math.min(Number(workRequestId.slice(2)) - 1, outcomes.length - 1);
      // Each work request is IN_PROGRESS once before it ends.
      const polls = calls.filter((c) => c === `getWorkRequest ${workRequestId}`).length;
      return { workRequest: { status: polls === 1 ? "IN_PROGRESS" : outcomes[index].status } };
    },
    async listWorkRequestErrors({ workRequestId }) {
      const index = Math.min(Number(workRequestId.slice(2)) - 1, outcomes.length - 1);
      return { items: outcomes[index].errors ?? [] };
    },
    async headModelArtifact() {
      calls.push("headModelArtifact");
      return held;
    },
    async deleteModel({ modelId }) {
      calls.push("deleteModel");
      if (deleteFails) throw Object.assign(new Error(`status ${deleteFails.statusCode}`), deleteFails);
      deleted.push(modelId);
      return {};
    },
  };
  return { api, calls, created, exports, deleted };
}

const bucketObject = (contentMd5 = "md5=="): ObjectHeadApi => ({
  async headObject() {
    return { contentLength: 4096, contentMd5 };
  },
});

describe("create-catalog-model", () => {
  test("creates the model with no artifact, exports the zip, waits, verifies and returns the OCID", async () => {
    const fake = catalog([{ status: "SUCCEEDED" }]);
    const log: string[] = [];
    const id = await createCatalogModel(fake.api, bucketObject(), REQUEST, (l) => log.push(l), FAST);
    assert.equal(id, MODEL);
    assert.deepEqual(fake.created, [
      {
        createModelDetails: {
          compartmentId: REQUEST.compartmentId,
          projectId: REQUEST.projectId,
          displayName: REQUEST.displayName,
          description: REQUEST.description,
          freeformTags: REQUEST.freeformTags,
          customMetadataList: REQUEST.metadata,
        },
      },
    ]);
    assert.deepEqual(fake.exports, [
      {
        modelId: MODEL,
        exportModelArtifactDetails: {
          artifactExportDetails: {
            artifactSourceType: "ORACLE_OBJECT_STORAGE",
            namespace: "ns",
            sourceBucket: "b",
            sourceObjectName: "artifacts/k/model.zip",
            sourceRegion: "eu-frankfurt-1",
          },
        },
      },
    ]);
    assert.deepEqual(fake.calls, [
      "createModel",
      "exportModelArtifact",
      "getWorkRequest wr1",
      "getWorkRequest wr1",
      "headModelArtifact",
    ]);
    assert.deepEqual(fake.deleted, []);
    assert.match(
      log.join("\n"),
      /with no artifact[\s\S]*work request wr1[\s\S]*verified: 4096 bytes, MD5 md5== as in the bucket/,
    );
  });

  test("a multipart object without Content-MD5: the size alone is checked, and the log says so", async () => {
    const log: string[] = [];
    await createCatalogModel(
      catalog([{ status: "SUCCEEDED" }]).api,
      bucketObject(""),
      REQUEST,
      (l) => log.push(l),
      FAST,
    );
    assert.match(log.join("\n"), /verified: 4096 bytes \(no MD5 on both sides to compare\)/);
  });

  test("an export refused while the service policy propagates is tried again, then passes", async () => {
    const fake = catalog([
      { status: "FAILED", errors: [DENIED] },
      { status: "FAILED", errors: [DENIED] },
      { status: "SUCCEEDED" },
    ]);
    const log: string[] = [];
    assert.equal(
      await createCatalogModel(fake.api, bucketObject(), REQUEST, (l) => log.push(l), FAST),
      MODEL,
    );
    assert.equal(fake.exports.length, 3, "one model, three exports into it");
    assert.equal(fake.created.length, 1);
    assert.equal(log.filter((l) => /waiting for the service policy/.test(l)).length, 2);
  });

  test("still refused after the policy wait: the model is deleted again and the error says what to check", async () => {
    const fake = catalog([{ status: "FAILED", errors: [DENIED] }]);
    await assert.rejects(
      createCatalogModel(fake.api, bucketObject(), REQUEST, () => undefined, { ...FAST, policyWaitMs: 5 }),
      /work request wr\d+ FAILED: NotAuthorizedOrNotFound: Authorization failed.*was deleted again and nothing was deployed.*docs\/iam\.md/s,
    );
    assert.deepEqual(fake.deleted, [MODEL]);
  });

  test("any other export failure is final at once", async () => {
    const fake = catalog([{ status: "FAILED", errors: [{ code: "InvalidArtifact", message: "not a zip" }] }]);
    await assert.rejects(
      createCatalogModel(fake.api, bucketObject(), REQUEST, () => undefined, FAST),
      /FAILED: InvalidArtifact: not a zip/,
    );
    assert.equal(fake.exports.length, 1);
    assert.deepEqual(fake.deleted, [MODEL]);
  });

  test("a catalog that reports another size or MD5 than the zip fails, and the model goes again", async () => {
    const short = catalog([{ status: "SUCCEEDED" }], { contentLength: 361, contentMd5: "md5==" });
    await assert.rejects(
      createCatalogModel(short.api, bucketObject(), REQUEST, () => undefined, FAST),
      /holds a 361-byte artifact after the export, not the 4096-byte zip b\/artifacts\/k\/model\.zip/,
    );
    assert.deepEqual(short.deleted, [MODEL]);
    const other = catalog([{ status: "SUCCEEDED" }], { contentLength: 4096, contentMd5: "other==" });
    await assert.rejects(
      createCatalogModel(other.api, bucketObject(), REQUEST, () => undefined, FAST),
      /artifact has MD5 other==, the zip b\/artifacts\/k\/model\.zip has md5==/,
    );
  });

  test("a model that cannot be deleted after a failure is named with the command that deletes it", async () => {
    const fake = catalog([{ status: "CANCELED" }], undefined, { statusCode: 500 });
    await assert.rejects(
      createCatalogModel(fake.api, bucketObject(), REQUEST, () => undefined, FAST),
      new RegExp(`CANCELED.*could not be deleted.*oci data-science model delete --model-id ${MODEL}`, "s"),
    );
  });
});

describe("delete-catalog-model", () => {
  test("deletes; an absent model (404) is already done; no recorded model is nothing to do", async () => {
    assert.match(await deleteCatalogModel(catalog([]).api, MODEL), /deleted catalog model/);
    assert.match(
      await deleteCatalogModel(catalog([], undefined, { statusCode: 404 }).api, MODEL),
      /already gone/,
    );
    const untouched = catalog([]);
    assert.match(await deleteCatalogModel(untouched.api, ""), /nothing to delete/);
    assert.deepEqual(untouched.calls, []);
  });

  test("a model a deployment still serves (409) is an error that says why and what to do", async () => {
    await assert.rejects(
      deleteCatalogModel(catalog([], undefined, { statusCode: 409 }).api, MODEL),
      /still serves a model deployment.*it stays\. Fix: point the deployment at another model/,
    );
  });

  test("any other failure is passed on", async () => {
    await assert.rejects(
      deleteCatalogModel(catalog([], undefined, { statusCode: 500 }).api, MODEL),
      /status 500/,
    );
  });
});

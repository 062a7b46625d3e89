// How the launch test and the launch benchmark run this project's `dev` stack: its committed config,
// plaintext stand-ins for the secrets the CLI would decrypt, canned answers for OCI data sources, and the
// shape the registered graph must have.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { imageRegistryInvokes, MIRRORED_IMAGE, type RegistryContents } from "./image-registry";
import {
  loadStackConfig,
  type InvokeHandler,
  type LaunchOptions,
  type LaunchResult,
  type RegisteredResource,
} from "./pulumi-host";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
export const PROJECT = "triton-trtllm-oci";
export const DEV_STACK = "dev";
export const STACK_TYPE = "pulumi:pulumi:Stack";
export const DEV_STACK_NAME = `${PROJECT}-${DEV_STACK}`;

/** Stand-ins for the `secure:` values `pulumi config set --secret` would store for the dev stack. */
export const DEV_SECRET_STAND_INS: Record<string, string> = {
  [`${PROJECT}:ocirUsername`]: "standinnamespace/standin.user@example.com",
  [`${PROJECT}:ocirAuthToken`]: "standin-auth-token",
};

/** What the artifact bucket holds when the program looks the engine cache up. */
export interface BucketContents {
  /** The bucket exists (a later run, or a destroy-then-up); absent on a new stack. */
  readonly exists: boolean;
  readonly accessType?: string;
  /** Object name → its text, for the manifests the lookup reads. */
  readonly objects?: Readonly<Record<string, string>>;
}

export const GPU_IMAGE_ID = "ocid1.image.oc1.iad.aaaaaaaastandingpuimagestandingpuimagestandin";
export const CPU_IMAGE_ID = "ocid1.image.oc1.iad.aaaaaaaastandincpuimagestandincpuimagestandin";

export const STANDIN_ALL_SERVICES_ID = "ocid1.service.oc1.iad.aaaaaaaastandinallservices";
const STANDIN_OBJECT_STORAGE_SERVICE_ID = "ocid1.service.oc1.iad.aaaaaaaastandinobjectstorage";

/** The tenancy's home region in the canned answers: the dev stack's own region. */
export const DEV_HOME_REGION = "us-ashburn-1";

/**
 * Data sources the program may call, answered like a small tenancy and its bucket: subscribed to
 * `homeRegion` (its home) and the dev stack's region, with (image.mirror oci) its OCIR repositories.
 */
export function devStackInvokes(
  bucket: BucketContents = { exists: false },
  tenancy: { homeRegion?: string; registry?: RegistryContents } = {},
): Record<string, InvokeHandler> {
  const { homeRegion = DEV_HOME_REGION, registry = MIRRORED_IMAGE } = tenancy;
  const objects = bucket.objects ?? {};
  return {
    ...imageRegistryInvokes(registry),
    // Shaped as the provider answers (@pulumi/oci types/output.d.ts GetRegionSubscriptionsRegionSubscription).
    "oci:Identity/getRegionSubscriptions:getRegionSubscriptions": (args) => ({
      id: "subscriptions",
      tenancyId: args["tenancyId"],
      regionSubscriptions: [...new Set([homeRegion, "us-ashburn-1"])].map((regionName) => ({
        regionName,
        regionKey: regionName === "us-ashburn-1" ? "IAD" : "PHX",
        isHomeRegion: regionName === homeRegion,
        state: "READY",
        tenancyId: args["tenancyId"],
      })),
    }),
    "oci:ObjectStorage/getNamespace:getNamespace": { namespace: "standinnamespace", id: "standinnamespace" },
    "oci:ObjectStorage/getBucketSummaries:getBucketSummaries": (args) => ({
      id: "buckets",
      compartmentId: args["compartmentId"],
      namespace: args["namespace"],
      bucketSummaries: bucket.exists
        ? [
            {
              name: ((args["filters"] as { values: string[] }[] | undefined)?.[0]?.values ?? [])[0],
              namespace: args["namespace"],
              accessType: bucket.accessType ?? "NoPublicAccess",
            },
          ]
        : [],
    }),
    "oci:ObjectStorage/getObjects:getObjects": (args) => {
      if (!bucket.exists) throw new Error("BucketNotFound: the bucket does not exist");
      const prefix = String(args["prefix"] ?? "");
      return {
        id: "objects",
        objects: Object.keys(objects)
          .filter((name) => name.startsWith(prefix))
          .map((name) => ({ name, size: String(objects[name].length) })),
      };
    },
    "oci:ObjectStorage/getObject:getObject": (args) => {
      const name = String(args["object"]);
      if (!(name in objects)) throw new Error(`ObjectNotFound: ${name}`);
      return { id: name, object: name, content: objects[name], contentLength: String(objects[name].length) };
    },
    "oci:Identity/getAvailabilityDomains:getAvailabilityDomains": {
      id: "ads",
      availabilityDomains: [
        { name: "Uocm:US-ASHBURN-AD-1", id: "ad1" },
        { name: "Uocm:US-ASHBURN-AD-2", id: "ad2" },
      ],
    },
    // As core.getServices answers in us-ashburn-1 (OCI docs, Service Gateway: the two services).
    "oci:Core/getServices:getServices": {
      id: "services",
      services: [
        {
          id: STANDIN_OBJECT_STORAGE_SERVICE_ID,
          name: "OCI IAD Object Storage",
          cidrBlock: "oci-iad-objectstorage",
          description: "OCI IAD Object Storage",
        },
        {
          id: STANDIN_ALL_SERVICES_ID,
          name: "All IAD Services In Oracle Services Network",
          cidrBlock: "all-iad-services-in-oracle-services-network",
          description: "All IAD Services In Oracle Services Network",
        },
      ],
    },
    "oci:Core/getImages:getImages": {
      id: "images",
      images: [
        { id: GPU_IMAGE_ID, displayName: "Oracle-Linux-8.10-Gen2-GPU-2025.10.31-0" },
        { id: CPU_IMAGE_ID, displayName: "Oracle-Linux-8.10-2025.10.31-0" },
        { id: "ocid1.image.oc1.iad.arm", displayName: "Oracle-Linux-8.10-aarch64-2025.10.31-0" },
      ],
    },
  };
}

/** Every data-source token the program may call, for the "every invoke is canned" check. */
export const DEV_STACK_INVOKES = devStackInvokes();

/**
 * A scratch folder standing in for what a user has on disk before `pulumi up`: an engine built by
 * hand (a small stand-in `rank0.engine` + `config.json`), a model snapshot whose weights must stay out
 * of the artifact, and the artifact cache.
 */
export interface DevStackWorkspace {
  readonly engineDir: string;
  readonly modelDir: string;
  readonly cacheDir: string;
}

export function devStackWorkspace(): DevStackWorkspace {
  const root = mkdtempSync(path.join(tmpdir(), "dev-stack-"));
  const engineDir = path.join(root, "engine");
  const modelDir = path.join(root, "model");
  mkdirSync(engineDir);
  mkdirSync(modelDir);
  writeFileSync(path.join(engineDir, "rank0.engine"), Buffer.alloc(64 * 1024, 7));
  writeFileSync(
    path.join(engineDir, "config.json"),
    JSON.stringify({
      version: "0.18.2",
      pretrained_config: {
        architecture: "FalconForCausalLM",
        dtype: "bfloat16",
        mapping: { world_size: 1, tp_size: 1, pp_size: 1 },
        quantization: { quant_algo: null, kv_cache_quant_algo: null },
      },
      build_config: { max_batch_size: 32, max_input_len: 1024, max_seq_len: 2048 },
    }),
  );
  writeFileSync(
    path.join(modelDir, "tokenizer.json"),
    JSON.stringify({ model: { vocab: { "<|endoftext|>": 11 } } }),
  );
  writeFileSync(path.join(modelDir, "tokenizer_config.json"), JSON.stringify({ eos_token: "<|endoftext|>" }));
  writeFileSync(path.join(modelDir, "model-00001-of-00002.safetensors"), Buffer.alloc(1024, 1));
  return { engineDir, modelDir, cacheDir: path.join(root, "cache") };
}

function withDirs(json: string | undefined, fields: Record<string, string>): string {
  return JSON.stringify({ ...(json ? (JSON.parse(json) as Record<string, unknown>) : {}), ...fields });
}

/** Config overrides that point the dev stack at a hand-built engine in a workspace. */
export function prebuiltEngineOverrides(
  config: Record<string, string>,
  workspace: DevStackWorkspace,
): Record<string, string> {
  const engineKey = `${PROJECT}:engine`;
  const modelKey = `${PROJECT}:model`;
  return {
    [engineKey]: withDirs(config[engineKey], { prebuiltDir: workspace.engineDir }),
    [modelKey]: withDirs(config[modelKey], { localDir: workspace.modelDir }),
  };
}

/** The dev stack's committed config, secrets as stand-ins: a build needs nothing more. */
export async function devStackConfig(): Promise<{ config: Record<string, string>; secretKeys: string[] }> {
  return loadStackConfig(PROJECT_DIR, DEV_STACK, DEV_SECRET_STAND_INS);
}

/**
 * Launch options for `pulumi preview` of the dev stack: its committed config, the bucket as given (none by default: a new stack, a cache miss), then the overrides.
 * With a workspace, the engine and model folders point at its hand-built engine.
 */
export async function devStackLaunchOptions(
  overrides: Record<string, string> = {},
  workspace?: DevStackWorkspace,
  bucket: BucketContents = { exists: false },
  registry: RegistryContents = MIRRORED_IMAGE,
): Promise<LaunchOptions & { projectDir: string }> {
  const { config, secretKeys } = await devStackConfig();
  const scratch = workspace ?? devStackWorkspace();
  return {
    projectDir: PROJECT_DIR,
    stack: DEV_STACK,
    config: {
      ...config,
      ...(workspace === undefined ? {} : prebuiltEngineOverrides(config, workspace)),
      ...overrides,
    },
    secretKeys,
    invokes: devStackInvokes(bucket, { registry }),
    env: { TRITON_TRTLLM_OCI_CACHE_DIR: scratch.cacheDir },
  };
}

/** The components every dev-stack preview registers, each directly under the stack. */
export const DEV_STACK_COMPONENTS = [
  "triton-trtllm-oci:ocir:OcirImage",
  "triton-trtllm-oci:storage:ArtifactBucket",
  "triton-trtllm-oci:artifact:ModelArtifact",
  "triton-trtllm-oci:iam:Iam",
  "triton-trtllm-oci:catalog:CatalogModel",
  "triton-trtllm-oci:deployment:TritonDeployment",
];

export function stackResource(result: LaunchResult): RegisteredResource | undefined {
  return result.resources.find((r) => r.type === STACK_TYPE);
}

/**
 * What a successful dev-stack preview must register. Kept to what holds today (the stack and its
 * outputs, every resource under it, every data source answered on purpose); tighten it here as
 * components land, e.g. require the project's component types and the resources each one owns.
 */
export function assertDevStackGraph(
  result: LaunchResult,
  options: { engineBuild: boolean } = { engineBuild: true },
): void {
  const stack = stackResource(result);
  assert.ok(stack, "the stack resource was registered");
  assert.ok(stack.outputs, "the stack registered its outputs");
  assert.ok(Object.keys(stack.outputs).length > 0, "the stack exports at least one output");

  const urns = new Set(result.resources.map((r) => r.urn));
  for (const r of result.resources) {
    if (r === stack) continue;
    assert.ok(urns.has(r.parent), `${r.urn} has a registered parent`);
    for (const dep of r.dependencies) assert.ok(urns.has(dep), `${r.urn} depends on registered ${dep}`);
  }
  const components = result.resources.filter((r) => !r.custom && r !== stack);
  assert.deepEqual(
    components.map((c) => c.type).sort(),
    [
      ...DEV_STACK_COMPONENTS,
      ...(options.engineBuild
        ? ["triton-trtllm-oci:build:EngineBuild", "triton-trtllm-oci:build:BuildNetwork"]
        : []),
    ].sort(),
    "the dev stack registers each component once",
  );
  for (const c of components) assert.equal(c.parent, stack.urn, `${c.urn} sits directly under the stack`);
  for (const c of components) {
    assert.ok(c.type.startsWith(`${PROJECT}:`), `component ${c.urn} uses the project's type namespace`);
    assert.ok(c.outputs, `component ${c.urn} registered its outputs`);
  }

  const uncanned = result.invokes.map((i) => i.token).filter((t) => !(t in DEV_STACK_INVOKES));
  assert.deepEqual(
    uncanned,
    [],
    "every data source the program calls has a canned answer in DEV_STACK_INVOKES",
  );
}

/**
 * What a finished build leaves as its manifest in the bucket (engine-build/lib/manifest.sh), for the
 * keys a preview exported and the serving image the build ran.
 */
export function standinBuildManifest(
  keys: { engineKey: string; artifactKey: string },
  imageRef: string,
): string {
  return JSON.stringify(standinManifest(keys, imageRef));
}

/** `standinBuildManifest` as the object it encodes. */
export function standinManifest(keys: { engineKey: string; artifactKey: string }, imageRef: string) {
  return {
    schema: 1,
    mode: "build",
    engineKey: keys.engineKey,
    artifactKey: keys.artifactKey,
    object: `artifacts/${keys.artifactKey}/model.zip`,
    sha256: "a".repeat(64),
    bytes: 14_987_654_321,
    entries: 14,
    imageRef,
    trtllmVersion: "0.18.2",
    gpu: "NVIDIA A10",
    finishedAt: "2026-11-25T12:00:00Z",
  };
}

/** The serving image a stand-in build ran, pinned in the stand-in registry's namespace. */
export const STANDIN_IMAGE_REF = `us-ashburn-1.ocir.io/standinnamespace/triton/triton-trtllm:25.04@sha256:${"1".repeat(64)}`;

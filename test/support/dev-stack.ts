// How the launch test and the launch benchmark run this project's `dev` stack: its committed config,
// plaintext stand-ins for the secrets the CLI would decrypt, canned answers for OCI data sources, and the
// shape the registered graph must have.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

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

const TENANCY = "ocid1.tenancy.oc1..aaaaaaaastandinstandinstandinstandinstandinstandinstandin";

/** Data sources the program may call during a preview, answered like a small single-region tenancy. */
export const DEV_STACK_INVOKES: Record<string, InvokeHandler> = {
  "oci:ObjectStorage/getNamespace:getNamespace": { namespace: "standinnamespace", id: "standinnamespace" },
  "oci:identity/getRegionSubscriptions:getRegionSubscriptions": (args) => ({
    id: "IdentityRegionSubscriptionsDataSource",
    tenancyId: args["tenancyId"] ?? TENANCY,
    regionSubscriptions: [
      {
        isHomeRegion: true,
        regionKey: "IAD",
        regionName: "us-ashburn-1",
        state: "READY",
        tenancyId: args["tenancyId"] ?? TENANCY,
      },
    ],
  }),
};

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

/**
 * Launch options for `pulumi preview` of the dev stack: its committed config with the engine and
 * model folders pointed at a workspace (a fresh one unless given), then the overrides.
 */
export async function devStackLaunchOptions(
  overrides: Record<string, string> = {},
  workspace: DevStackWorkspace = devStackWorkspace(),
): Promise<LaunchOptions & { projectDir: string }> {
  const { config, secretKeys } = await loadStackConfig(PROJECT_DIR, DEV_STACK, DEV_SECRET_STAND_INS);
  const engineKey = `${PROJECT}:engine`;
  const modelKey = `${PROJECT}:model`;
  return {
    projectDir: PROJECT_DIR,
    stack: DEV_STACK,
    config: {
      ...config,
      [engineKey]: withDirs(config[engineKey], { prebuiltDir: workspace.engineDir }),
      [modelKey]: withDirs(config[modelKey], { localDir: workspace.modelDir }),
      ...overrides,
    },
    secretKeys,
    invokes: DEV_STACK_INVOKES,
    env: { TRITON_TRTLLM_OCI_CACHE_DIR: workspace.cacheDir },
  };
}

/** The components a dev-stack preview registers, each directly under the stack. */
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
export function assertDevStackGraph(result: LaunchResult): void {
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
    [...DEV_STACK_COMPONENTS].sort(),
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

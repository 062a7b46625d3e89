// The URNs the dev stack registers in each of its four shapes (hand-built engine, cache miss, engine
// hit, artifact hit), as `pulumi preview` would send them to the engine. A URN is the identity the
// engine diffs state by: one that changes, through a renamed resource, a new component type or a new
// parent, shows as a delete plus a create (a replacement) in the preview of an existing stack unless
// the resource carries an alias. `test/fixtures/urns.json` holds the list captured before the layout
// of issue 16; `npm run -s capture:urns` writes it again on purpose.

import { rmSync } from "node:fs";

import {
  type BucketContents,
  devStackLaunchOptions,
  devStackWorkspace,
  type DevStackWorkspace,
  standinBuildManifest,
  STANDIN_IMAGE_REF,
} from "./dev-stack";
import { launchProgram, type LaunchResult } from "./pulumi-host";

/** One registered resource, reduced to what the engine identifies it by. */
export interface UrnEntry {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** Parent URN; empty for the stack. */
  readonly parent: string;
  /** Aliases the registration carried (the engine maps an old URN to the new one through them). */
  readonly aliases: number;
}

export const URN_SCENARIOS = ["hand-built engine", "cache miss", "engine hit", "artifact hit"] as const;
export type UrnScenario = (typeof URN_SCENARIOS)[number];

function stackOutputs(result: LaunchResult): Record<string, unknown> {
  const stack = result.resources.find((r) => r.type === "pulumi:pulumi:Stack");
  if (stack?.outputs === undefined) throw new Error(`the stack registered no outputs:\n${result.stderr}`);
  return stack.outputs;
}

function manifest(keys: { engineKey: string; artifactKey: string }): string {
  return standinBuildManifest(keys, STANDIN_IMAGE_REF);
}

async function previewOf(bucket: BucketContents, workspace?: DevStackWorkspace): Promise<LaunchResult> {
  const result = await launchProgram({
    // The captured graphs are those of today's image push through a Docker daemon, which
    // `image.mirror: local` keeps URN for URN; the default `oci` mirror replaces that component's
    // children by design (test/stack-image-mirror.test.ts).
    ...(await devStackLaunchOptions(LOCAL_IMAGE_MIRROR, workspace, bucket)),
    timeoutMs: 120_000,
  });
  if (result.exitCode !== 0) throw new Error(`preview failed (exit ${result.exitCode}):\n${result.stderr}`);
  return result;
}

const LOCAL_IMAGE_MIRROR = { "triton-trtllm-oci:image": JSON.stringify({ mirror: "local" }) };

export function urnEntries(result: LaunchResult): UrnEntry[] {
  return result.resources
    .map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, aliases: r.aliasCount }))
    .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}

/** Previews the dev stack in every shape and returns what each registered, URNs sorted. */
export async function captureUrns(): Promise<Record<UrnScenario, UrnEntry[]>> {
  const workspace = devStackWorkspace();
  try {
    const handBuilt = await previewOf({ exists: false }, workspace);
    const miss = await previewOf({ exists: false });
    const keys = stackOutputs(miss).engine as { engineKey: string; artifactKey: string };
    const engineHit = await previewOf({
      exists: true,
      objects: { [`engines/${keys.engineKey}/manifest.json`]: manifest(keys) },
    });
    const artifactHit = await previewOf({
      exists: true,
      objects: { [`artifacts/${keys.artifactKey}/manifest.json`]: manifest(keys) },
    });
    return {
      "hand-built engine": urnEntries(handBuilt),
      "cache miss": urnEntries(miss),
      "engine hit": urnEntries(engineHit),
      "artifact hit": urnEntries(artifactHit),
    };
  } finally {
    rmSync(workspace.cacheDir.replace(/\/cache$/, ""), { recursive: true, force: true });
  }
}

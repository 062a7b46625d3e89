// The stacks the scenarios run: the dev stack's committed configuration with a tenancy's OCIDs (as
// `pulumi config set` leaves them) and any overrides, answered by the lifecycle cloud.

import { readFileSync } from "node:fs";
import path from "node:path";

import { parse } from "yaml";

import { DEV_STACK, devStackLaunchOptions, PROJECT, PROJECT_DIR } from "../support/dev-stack";
import type { LaunchOptions } from "../support/pulumi-host";
import type { Cloud } from "./cloud";
import { destroy, type RunResult, type StackState, up } from "./engine";
import { cloudInvokes } from "./invokes";

export const TENANCY_OCIDS = {
  [`${PROJECT}:compartmentId`]: "ocid1.compartment.oc1..aaaaaaaastandincompartmentstandincompartment",
  [`${PROJECT}:tenancyId`]: "ocid1.tenancy.oc1..aaaaaaaastandintenancystandintenancystandin",
};

/** Config overrides of the dev stack, as objects (`engine`, `deployment`...) merged over the committed ones. */
export type Overrides = Record<string, Record<string, unknown>>;

export async function launchOptions(
  stack: string,
  overrides: Overrides,
  cloud: Cloud,
): Promise<LaunchOptions> {
  const base = await devStackLaunchOptions(TENANCY_OCIDS);
  const config = { ...base.config };
  for (const [key, value] of Object.entries(overrides)) {
    const name = `${PROJECT}:${key}`;
    const committed = config[name] === undefined ? {} : (JSON.parse(config[name]) as Record<string, unknown>);
    config[name] = JSON.stringify({ ...committed, ...value });
  }
  // One operator's machine: its cache (packed zips, staged host files) outlives each run, as
  // `.cache/` does, so a file staged by one run has the same path in the next.
  const env = { ...base.env, TRITON_TRTLLM_OCI_CACHE_DIR: cloud.operatorCacheDir };
  return { ...base, stack, config, env, invokes: cloudInvokes(cloud), timeoutMs: 120_000 };
}

/** Pulumi.yaml's `options.refresh`, as the CLI reads it: `always` refreshes every up, preview and destroy. */
export function projectRefreshes(): boolean {
  const project = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
    options?: { refresh?: string };
  };
  return project.options?.refresh === "always";
}

/** `pulumi up` of `stack` (the dev stack's settings) with these overrides. */
export function upDev(state: StackState, cloud: Cloud, overrides: Overrides = {}): Promise<RunResult> {
  return up(state, {
    cloud,
    refresh: projectRefreshes(),
    launch: (c) => launchOptions(state.name, overrides, c),
  });
}

/** `pulumi destroy` of the stack. */
export function destroyStack(state: StackState, cloud: Cloud): Promise<RunResult> {
  return destroy(state, cloud, { refresh: projectRefreshes() });
}

export { DEV_STACK };

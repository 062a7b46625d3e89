// The hourly reaper (operations/reap/reap.ts, as `npm run -s reap -- --yes` runs it) against the lifecycle
// tenancy: its stacks are the lifecycle stacks (outputs from their state, destroy through the
// model), its Resource Search and deletes read and change ./cloud.ts.

import { reap } from "../../operations/reap/reap";
import type { CloudResources, ReapedType, TaggedResource } from "../../operations/reap/build-resources";
import type { StackBackend } from "../../operations/stacks";
import type { Cloud } from "./cloud";
import { OciError, terminate } from "./commands";
import type { StackState } from "./engine";
import { destroyStack } from "./stacks";

// Provider type token -> Resource Search's type name (operations/reap/build-resources.ts BUILD_TYPES, IAM_TYPES).
const SEARCH_TYPES: Record<string, ReapedType> = {
  "oci:Bastion/bastion:Bastion": "Bastion",
  "oci:Core/subnet:Subnet": "Subnet",
  "oci:Core/routeTable:RouteTable": "RouteTable",
  "oci:Core/securityList:SecurityList": "SecurityList",
  "oci:Core/natGateway:NatGateway": "NatGateway",
  "oci:Core/serviceGateway:ServiceGateway": "ServiceGateway",
  "oci:Core/vcn:Vcn": "Vcn",
  "oci:Identity/dynamicGroup:DynamicGroup": "DynamicGroup",
  "oci:Identity/policy:Policy": "Policy",
};

function tagged(cloud: Cloud, iam: boolean): TaggedResource[] {
  const found: TaggedResource[] = [];
  if (!iam) {
    for (const instance of cloud.instances.values()) {
      found.push({
        resourceType: "Instance",
        identifier: instance.id,
        lifecycleState: instance.state,
        freeformTags: instance.tags,
        timeCreated: new Date(instance.createdAt),
      });
    }
  }
  for (const held of cloud.generic.values()) {
    const type = SEARCH_TYPES[held.type];
    if (type === undefined || (type === "DynamicGroup" || type === "Policy") !== iam) continue;
    found.push({
      resourceType: type,
      identifier: held.id,
      lifecycleState: held.deleted ? "DELETED" : "ACTIVE",
      freeformTags: held.inputs["freeformTags"] as Record<string, string>,
      timeCreated: new Date(held.createdAt),
    });
  }
  return found;
}

function cloudResources(cloud: Cloud): CloudResources {
  return {
    async search() {
      return tagged(cloud, false);
    },
    async homeRegion() {
      return "us-ashburn-1";
    },
    async identityResources() {
      return tagged(cloud, true);
    },
    async remove(type, id) {
      if (type === "Instance") return terminate(cloud, id);
      const held = cloud.generic.get(id);
      if (held === undefined) return;
      // A VCN goes only once nothing in it is left (OCI answers 409 Conflict).
      const inside = [...cloud.generic.values()].some(
        (other) => !other.deleted && other.inputs["vcnId"] === id,
      );
      if (type === "Vcn" && inside) throw new OciError(409, `VCN ${id} still holds resources`);
      held.deleted = true;
    },
  };
}

/** `reap --yes` at `at` (ms): returns whether it succeeded, what it printed, and the stacks' new state. */
export async function reapTenancy(cloud: Cloud, states: Map<string, StackState>, at: number) {
  if (at > cloud.now()) cloud.advanceMinutes((at - cloud.now()) / 60_000);
  const log: string[] = [];
  const backend: StackBackend = {
    async listStacks() {
      return [...states.keys()];
    },
    async outputs(stack) {
      const outputs = states.get(stack)?.outputs;
      if (outputs === undefined) throw new Error(`${stack} has no outputs`);
      return outputs;
    },
    async destroy(stack) {
      const state = states.get(stack);
      if (state === undefined) throw new Error(`no stack ${stack}`);
      const result = await destroyStack(state, cloud);
      states.set(stack, result.state);
      if (!result.ok) throw new Error(result.error);
    },
    async up() {
      throw new Error("the reaper never runs up");
    },
  };
  const ok = await reap(
    { dryRun: false, pattern: "*", auth: { method: "api_key" } },
    {
      output: { write: (text) => log.push(text.trimEnd()), error: (line) => log.push(`error: ${line}`) },
      backend,
      now: () => new Date(cloud.now()),
      connect: async () => cloudResources(cloud),
    },
  );
  return { ok, log, states };
}

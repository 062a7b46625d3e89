// The provider behaviour of an OCI resource with nothing modelled beyond existing (created, updated in
// place, deleted), and what a type adds to it: checks of what its create names, and of what its
// delete would leave dangling. ./providers.ts and ./production-providers.ts build on it.

import type { Cloud } from "./cloud";
import { OciError } from "./commands";
import type { ProviderBehaviour } from "./providers";

export function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The resource `id` exists, of `type`, and is not deleted. */
export function live(cloud: Cloud, id: string, type: string): boolean {
  const held = cloud.generic.get(id);
  return held !== undefined && !held.deleted && held.type === type;
}

export interface GenericChecks {
  /** What OCI checks at create; returns outputs the provider computes beyond the id. */
  readonly create?: (cloud: Cloud, inputs: Record<string, unknown>) => Record<string, unknown>;
  /** What OCI refuses a delete for (a resource still in use). */
  readonly delete?: (cloud: Cloud, id: string) => void;
}

export function generic(
  kind: string,
  type: string,
  replaceOn: readonly string[],
  checks: GenericChecks = {},
): ProviderBehaviour {
  return {
    replaceOn,
    async create({ cloud }, inputs) {
      const extra = checks.create?.(cloud, inputs) ?? {};
      const id = cloud.newId(kind);
      cloud.generic.set(id, { id, type, inputs, deleted: false, createdAt: cloud.now() });
      cloud.note(`${type} ${id} created`);
      return { id, outputs: { id, state: "ACTIVE", ...extra } };
    },
    async update({ cloud }, old, inputs) {
      const held = cloud.generic.get(old.id ?? "");
      if (held === undefined || held.deleted) throw new OciError(404, `${type} ${old.id} does not exist`);
      held.inputs = inputs;
      return old.outputs;
    },
    exists({ cloud }, old) {
      return live(cloud, old.id ?? "", type);
    },
    async delete({ cloud }, old) {
      const held = cloud.generic.get(old.id ?? "");
      // A 404 on delete voids the state (terraform-provider-oci internal/tfresource/errors.go
      // 186-226, handleMissingResourceError).
      if (held === undefined || held.deleted) return;
      checks.delete?.(cloud, held.id);
      held.deleted = true;
      cloud.note(`${type} ${held.id} deleted`);
    },
  };
}

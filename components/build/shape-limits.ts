/**
 * The Compute service limit each build shape draws on, as data. A capacity report only says whether
 * OCI has hosts for a shape in an availability domain; the tenancy's service limit for the shape's
 * family is counted per availability domain too, and a domain with hosts but no free limit fails the
 * launch all the same. The pick at `up` (operations/up-tasks/build-tasks.ts) asks both.
 *
 * The names are those of OCI's "Compute Quotas" page
 * (https://docs.oracle.com/en-us/iaas/Content/Quotas/Concepts/resourcequotas_topic-Compute_Quotas.htm,
 * "Core- and GPU-Based Quotas", every row scoped "Availability domain"): a compartment quota and the
 * service limit it narrows share one name, and the Limits API takes that name under the service
 * "compute" with the availability domain (oracle/terraform-provider-oci
 * examples/limits/service_limits/service_limits.tf, `oci_limits_resource_availability` with
 * `service_name` "compute" and `availability_domain`).
 */

/** The Limits API service every limit here belongs to. */
export const COMPUTE_LIMITS_SERVICE = "compute";

/**
 * A shape's limit: a fixed number of GPUs per instance, or the OCPUs a flexible shape is launched
 * with (its shape configuration says how many).
 */
export type ShapeLimit =
  | { readonly limitName: string; readonly unit: "GPU"; readonly perInstance: number }
  | { readonly limitName: string; readonly unit: "OCPU" };

/**
 * Shape -> limit. GPU counts per instance match components/config/catalog.ts (test/shape-limits
 * checks they agree). BM.GPU.H100.8 and BM.GPU.L40S.4 have no row: the Compute Quotas page lists no
 * H100 or L40S family (read in its 2024-09-19 and 2026-09 versions), so their limit name is not
 * known here and a pick for them checks host capacity only, saying so.
 */
export const SHAPE_LIMITS: Readonly<Record<string, ShapeLimit>> = {
  // "gpu-a10-count: Total number of GPUs for shapes in the VM.GPU.A10 and BM.GPU.A10 series".
  "VM.GPU.A10.1": { limitName: "gpu-a10-count", unit: "GPU", perInstance: 1 },
  "VM.GPU.A10.2": { limitName: "gpu-a10-count", unit: "GPU", perInstance: 2 },
  "BM.GPU.A10.4": { limitName: "gpu-a10-count", unit: "GPU", perInstance: 4 },
  // "gpu4-count: Total number of GPUs for shapes in the BM.GPU4 series" (A100 40 GB).
  "BM.GPU4.8": { limitName: "gpu4-count", unit: "GPU", perInstance: 8 },
  // "gpu-a100-v2-count: Total number of GPUs for shapes in the BM.GPU.A100 series" (A100 80 GB).
  "BM.GPU.A100-v2.8": { limitName: "gpu-a100-v2-count", unit: "GPU", perInstance: 8 },
  // The CPU host of the assemble and mirror modes (program/engine-build.ts gives it 2 OCPUs):
  // "standard-e4-core-count: Total number of OCPUs for ... the VM.Standard.E4 and BM.Standard.E4 series".
  "VM.Standard.E4.Flex": { limitName: "standard-e4-core-count", unit: "OCPU" },
};

/** What one launch of the shape takes from its limit. */
export interface LimitNeed {
  readonly service: string;
  readonly limitName: string;
  readonly unit: "GPU" | "OCPU";
  readonly amount: number;
}

/**
 * The limit one instance of `shape` draws on and how much of it, or undefined for a shape with no
 * known limit name. A flexible shape's OCPUs come from its shape configuration.
 */
export function limitNeed(shape: string, shapeConfig?: { readonly ocpus: number }): LimitNeed | undefined {
  if (!Object.hasOwn(SHAPE_LIMITS, shape)) return undefined;
  const limit = SHAPE_LIMITS[shape];
  if (limit.unit === "GPU") {
    return {
      service: COMPUTE_LIMITS_SERVICE,
      limitName: limit.limitName,
      unit: "GPU",
      amount: limit.perInstance,
    };
  }
  if (shapeConfig === undefined) {
    throw new Error(
      `${shape} is a flexible shape: its OCPUs are needed to check the ${limit.limitName} limit; pass the shape configuration (--ocpus and --memory-gbs)`,
    );
  }
  return {
    service: COMPUTE_LIMITS_SERVICE,
    limitName: limit.limitName,
    unit: "OCPU",
    amount: shapeConfig.ocpus,
  };
}

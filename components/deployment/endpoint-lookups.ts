/**
 * What a production endpoint can only know from the tenancy, judged as pure functions: whether the
 * private subnet is one the deployment can use (its region and compartment), and whether the
 * deployment's most instances fit the tenancy's Data Science limit for the shape. The program reads
 * the facts at preview (program/endpoint-lookups.ts); `check`, offline, judges what the OCIDs alone
 * say. Every problem names its key, the value and the fix, like the configuration's own errors.
 */
import { OCI_REGIONS } from "../config/oci-regions";
import type { ConfigError } from "../config/schema";

const SUBNET_KEY = "deployment.privateSubnetId";

/**
 * The region an OCID names by its identifier (`ocid1.subnet.oc1.us-ashburn-1.<unique>`); undefined
 * when it names none or only a region key (`...oc1.iad...`), which this project does not map.
 */
export function ocidRegion(ocid: string): string | undefined {
  const segment = ocid.split(".")[3];
  return segment !== undefined && OCI_REGIONS.includes(segment) ? segment : undefined;
}

/** Offline: a subnet whose OCID names another region than the stack's. */
export function subnetRegionProblem(subnetId: string, region: string): ConfigError | undefined {
  const named = ocidRegion(subnetId);
  if (named === undefined || named === region) return undefined;
  return {
    key: SUBNET_KEY,
    value: subnetId,
    message: `is a subnet of ${named}; the deployment and its private endpoint are in ${region}, and a private endpoint takes a subnet of its own region`,
    fix: `use a subnet of a VCN in ${region}: pulumi config set --path ${SUBNET_KEY} <subnet OCID>`,
  };
}

/** What `core.getSubnet` answered in the stack's region, or that it found nothing. */
export type SubnetLookup =
  | { readonly found: false; readonly reason: string }
  | { readonly found: true; readonly compartmentId: string; readonly state: string };

/**
 * At preview: the subnet must exist in the stack's region (the lookup runs through the stack's own
 * provider, so a subnet of another region is not found there) and sit in the stack's compartment,
 * where the private endpoint is created, so one compartment's policies govern both.
 */
export function subnetLookupProblems(
  subnetId: string,
  lookup: SubnetLookup,
  stack: { readonly compartmentId: string; readonly region: string },
): ConfigError[] {
  if (!lookup.found) {
    return [
      {
        key: SUBNET_KEY,
        value: subnetId,
        message: `is not a subnet the deployer can read in ${stack.region} (${lookup.reason})`,
        fix: `use a subnet of a VCN in ${stack.region} that the deploying user may read (use virtual-network-family): pulumi config set --path ${SUBNET_KEY} <subnet OCID>`,
      },
    ];
  }
  const problems: ConfigError[] = [];
  if (lookup.compartmentId !== stack.compartmentId) {
    problems.push({
      key: SUBNET_KEY,
      value: subnetId,
      message: `is in compartment ${lookup.compartmentId}, not the stack's compartmentId ${stack.compartmentId}`,
      fix: `use a subnet of the stack's compartment, or deploy the stack to the subnet's: pulumi config set --path ${SUBNET_KEY} <subnet OCID>`,
    });
  }
  if (lookup.state !== "AVAILABLE") {
    problems.push({
      key: SUBNET_KEY,
      value: subnetId,
      message: `is ${lookup.state}, not AVAILABLE`,
      fix: `wait for it, or use another subnet: pulumi config set --path ${SUBNET_KEY} <subnet OCID>`,
    });
  }
  return problems;
}

/** The Limits API service of model deployments. */
export const DATA_SCIENCE_LIMITS_SERVICE = "data-science";

/**
 * The Data Science service limit a deployment shape draws on, as Oracle's own tools name it:
 * `ds-gpu-a10-count` for VM.GPU.A10.1 and VM.GPU.A10.2, `ds-gpu4-count` for BM.GPU4.8
 * (oracle/accelerated-data-science tests/unitary/with_extras/aqua/test_ui.py, TestDataset's
 * DEPLOYMENT_SHAPE_NAMES and LIMIT_NAMES, which its AquaUIApp reads through the Limits API under
 * the service "data-science"). Counted in GPUs, as the Compute limits of the same families are
 * (components/build/shape-limits.ts): *inference* from those names. Other shapes have no known
 * limit name: their quota is not known here and nothing is refused for them.
 */
export const DEPLOYMENT_SHAPE_LIMITS: Readonly<Record<string, { limitName: string; gpus: number }>> = {
  "VM.GPU.A10.1": { limitName: "ds-gpu-a10-count", gpus: 1 },
  "VM.GPU.A10.2": { limitName: "ds-gpu-a10-count", gpus: 2 },
  "BM.GPU.A10.4": { limitName: "ds-gpu-a10-count", gpus: 4 },
  "BM.GPU4.8": { limitName: "ds-gpu4-count", gpus: 8 },
};

/**
 * The deployment's most instances against the limit: the limit's whole quota (what is used plus
 * what is available, this deployment's own instances included) must hold them, or OCI refuses the
 * scale-out that would pass it.
 */
export function quotaProblem(input: {
  readonly shape: string;
  readonly key: string;
  readonly instances: number;
  readonly used: number;
  readonly available: number;
}): ConfigError | undefined {
  const limit = DEPLOYMENT_SHAPE_LIMITS[input.shape];
  if (limit === undefined) return undefined;
  const quota = input.used + input.available;
  const needed = input.instances * limit.gpus;
  if (needed <= quota) return undefined;
  return {
    key: input.key,
    value: input.instances,
    message: `needs ${needed} GPU(s) of ${input.shape} at most, and the tenancy's Data Science limit ${limit.limitName} is ${quota} in this region (${input.used} in use)`,
    fix: `set it to at most ${Math.floor(quota / limit.gpus)}, or raise the limit (Console: Governance, Limits, Quotas and Usage; service Data Science; ${limit.limitName})`,
  };
}

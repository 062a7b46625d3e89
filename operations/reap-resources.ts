/**
 * The second half of `reap`: the build hosts' cloud resources (instances, bastions, and the
 * networks they ran in) whose `expires-at` tag has passed, whatever became of their stack. A build
 * instance keeps billing a GPU when its stack never reaches `reap` (a prod stack, which has no
 * `expiresAt` output, or a crashed `pulumi up`); the tags its creator put on it say whose it is and
 * until when. Nothing without this project's `project` tag and a past `expires-at` is touched.
 *
 * Found with OCI Resource Search (oci-resourcesearch 2.139.1, `searchResources` with a structured
 * query; the query language: Oracle's "Search Language Syntax" and "Sample Queries" pages, "query
 * for all resources that have a specific freeform tag"). Search results are eventually consistent
 * and the deletions depend on each other (a subnet goes once its instance's VNIC has, a VCN once its
 * subnets, gateways, route tables and security lists have): each run deletes in that order and
 * leaves what is still in use to the next run, an hour later in CI.
 */
import { minimatch } from "minimatch";
import * as bastion from "oci-bastion";
import type * as common from "oci-common";
import * as core from "oci-core";
import * as resourcesearch from "oci-resourcesearch";
import { EXPIRES_AT_TAG } from "../components/deployment/expiry";
import { PROJECT } from "../components/config/schema";
import { type ClientTarget, createSdkClient, errorMessage, unlessNotFound } from "./oci-client";

/** Resource Search's type names of what a build creates, in the order they can be deleted. */
export const REAPED_TYPES = [
  "Instance",
  "Bastion",
  "Subnet",
  "RouteTable",
  "SecurityList",
  "InternetGateway",
  "NatGateway",
  "ServiceGateway",
  "Vcn",
] as const;
export type ReapedType = (typeof REAPED_TYPES)[number];

/** One search result, the fields of the SDK's `ResourceSummary` read here. */
export interface TaggedResource {
  readonly resourceType: string;
  readonly identifier: string;
  readonly displayName?: string;
  readonly lifecycleState?: string;
  readonly freeformTags?: { [key: string]: string };
}

export interface CloudResources {
  /** Every result of the structured query, all pages. */
  search(query: string): Promise<TaggedResource[]>;
  /** Deletes (or terminates) one resource; 404 counts as done. */
  remove(type: ReapedType, id: string): Promise<void>;
}

/** The structured query: this project's resources of the reaped types, by freeform tag. */
export function reapQuery(): string {
  const types = REAPED_TYPES.map((type) => type.toLowerCase()).join(", ");
  return `query ${types} resources where (freeformTags.key = 'project' && freeformTags.value = '${PROJECT}')`;
}

/** HTTP status of a failed SDK call: an `OciError`, or the plain `{ statusCode }` its retrier throws. */
function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null
    ? (error as { statusCode?: number }).statusCode
    : undefined;
}

// Gone or going: nothing to delete.
const ENDED = new Set(["TERMINATED", "TERMINATING", "DELETED", "DELETING"]);

export type ResourceAction = "deleted" | "would delete" | "kept" | "in use" | "delete failed";

export interface ResourceDecision {
  readonly type: string;
  readonly id: string;
  readonly name: string;
  readonly stack: string;
  readonly action: ResourceAction;
  readonly reason: string;
}

function expired(resource: TaggedResource, now: Date): { expired: boolean; reason: string } {
  const value = resource.freeformTags?.[EXPIRES_AT_TAG];
  if (value === undefined || value === "")
    return { expired: false, reason: `no ${EXPIRES_AT_TAG} tag: never reaped` };
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    return { expired: false, reason: `${EXPIRES_AT_TAG} ${JSON.stringify(value)} is not a date: left alone` };
  return at.getTime() <= now.getTime()
    ? { expired: true, reason: `expired at ${value}` }
    : { expired: false, reason: `expires at ${value}` };
}

export interface ReapResourcesOptions {
  readonly dryRun: boolean;
  /** Only resources whose `stack` tag matches. */
  readonly pattern: string;
  readonly now: Date;
}

export async function reapResources(
  cloud: CloudResources,
  options: ReapResourcesOptions,
): Promise<ResourceDecision[]> {
  const found = (await cloud.search(reapQuery())).filter(
    (r) =>
      r.freeformTags?.project === PROJECT &&
      (REAPED_TYPES as readonly string[]).includes(r.resourceType) &&
      !ENDED.has(r.lifecycleState ?? "") &&
      minimatch(r.freeformTags?.stack ?? "", options.pattern),
  );
  const order = (r: TaggedResource) => (REAPED_TYPES as readonly string[]).indexOf(r.resourceType);
  const decisions: ResourceDecision[] = [];
  for (const resource of [...found].sort((a, b) => order(a) - order(b))) {
    const base = {
      type: resource.resourceType,
      id: resource.identifier,
      name: resource.displayName ?? "",
      stack: resource.freeformTags?.stack ?? "",
    };
    const { expired: due, reason } = expired(resource, options.now);
    if (!due) {
      decisions.push({ ...base, action: "kept", reason });
      continue;
    }
    if (options.dryRun) {
      decisions.push({ ...base, action: "would delete", reason });
      continue;
    }
    try {
      await cloud.remove(resource.resourceType as ReapedType, resource.identifier);
      decisions.push({ ...base, action: "deleted", reason });
    } catch (error) {
      // 409: something not yet deleted still uses it (a VNIC of an instance still terminating, a
      // subnet in a VCN); the next run deletes it once that has gone.
      const inUse = statusOf(error) === 409;
      decisions.push({
        ...base,
        action: inUse ? "in use" : "delete failed",
        reason: `${reason}; ${inUse ? "still in use, deleted on a later run" : errorMessage(error).split("\n")[0]}`,
      });
    }
  }
  return decisions;
}

/**
 * The OCI side: Resource Search's `searchResources` (all pages), and the delete call of each type
 * (oci-core ComputeClient / VirtualNetworkClient, oci-bastion BastionClient; an instance is
 * terminated with its boot volume). A 404 is done: the resource is already gone.
 */
export function ociCloudResources(
  provider: common.AuthenticationDetailsProvider,
  target: ClientTarget,
): CloudResources {
  const search = createSdkClient(resourcesearch.ResourceSearchClient, provider, target);
  const compute = createSdkClient(core.ComputeClient, provider, target);
  const network = createSdkClient(core.VirtualNetworkClient, provider, target);
  const bastions = createSdkClient(bastion.BastionClient, provider, target);
  const removers: Record<ReapedType, (id: string) => Promise<unknown>> = {
    Instance: (instanceId) => compute.terminateInstance({ instanceId, preserveBootVolume: false }),
    Bastion: (bastionId) => bastions.deleteBastion({ bastionId }),
    Subnet: (subnetId) => network.deleteSubnet({ subnetId }),
    RouteTable: (rtId) => network.deleteRouteTable({ rtId }),
    SecurityList: (securityListId) => network.deleteSecurityList({ securityListId }),
    InternetGateway: (igId) => network.deleteInternetGateway({ igId }),
    NatGateway: (natGatewayId) => network.deleteNatGateway({ natGatewayId }),
    ServiceGateway: (serviceGatewayId) => network.deleteServiceGateway({ serviceGatewayId }),
    Vcn: (vcnId) => network.deleteVcn({ vcnId }),
  };
  return {
    async search(query) {
      const found: TaggedResource[] = [];
      let page: string | undefined;
      do {
        const answer = await search.searchResources({
          searchDetails: { type: "Structured", query },
          page,
        });
        found.push(...(answer.resourceSummaryCollection.items ?? []));
        page = answer.opcNextPage || undefined;
      } while (page !== undefined);
      return found;
    },
    async remove(type, id) {
      await unlessNotFound(() => removers[type](id));
    },
  };
}

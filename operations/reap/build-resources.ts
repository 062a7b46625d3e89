/**
 * The second half of `reap`: the build hosts' cloud resources (instances, bastions, the networks
 * they ran in, and the dynamic group and policy that let the instance write the bucket) whose
 * `expires-at` tag has passed, whatever became of their stack. A build instance keeps billing a GPU
 * when its stack never reaches `reap` (a prod stack, which has no `expiresAt` output, or a crashed
 * `pulumi up`); the tags its creator put on it say whose it is and until when. Nothing without this
 * project's `project` tag and a past `expires-at` is touched.
 *
 * Found with OCI Resource Search (oci-resourcesearch 2.139.1, `searchResources` with a structured
 * query; the query language: Oracle's "Search Language Syntax" and "Sample Queries" pages, "query
 * for all resources that have a specific freeform tag"). Search results are eventually consistent
 * and the deletions depend on each other (a subnet goes once its instance's VNIC has, a VCN once its
 * subnets, gateways, route tables and security lists have): each run deletes in that order and
 * leaves what is still in use to the next run, an hour later in CI.
 *
 * IAM is defined in the tenancy's home region and can only be changed there (Oracle's "Managing
 * Regions", https://docs.oracle.com/iaas/Content/Identity/Tasks/managingregions.htm, "Resources
 * that you can create and update only in the home region": policies, dynamic groups), whatever
 * region `--region` names: the IAM is read and deleted through clients of the home region, which
 * `ListRegionSubscriptions` marks with `isHomeRegion` (components/deployment/home-region.ts).
 */
import { minimatch } from "minimatch";
import * as bastion from "oci-bastion";
import type * as common from "oci-common";
import * as core from "oci-core";
import * as identity from "oci-identity";
import * as resourcesearch from "oci-resourcesearch";
import { homeRegionOf } from "../../components/deployment/home-region";
import { BUILD_TTL_HOURS, EXPIRES_AT_TAG } from "../../components/deployment/expiry";
import { PROJECT } from "../../components/config/schema";
import { UserError } from "../errors";
import { type ClientTarget, createSdkClient, errorMessage, unlessNotFound } from "../oci-client";

/**
 * The build instance's IAM, in the order it can be deleted: the policy's statements name the
 * dynamic group, so the group goes after it. Both go before the instance, so an expired instance
 * that fails to terminate has already lost its write access to the bucket.
 */
export const IAM_TYPES = ["Policy", "DynamicGroup"] as const;
type IamType = (typeof IAM_TYPES)[number];

/** Resource Search's type names of the build's cloud resources, in the order they can be deleted. */
export const BUILD_TYPES = [
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
type BuildType = (typeof BUILD_TYPES)[number];

/** Everything reaped, in deletion order. */
export const REAPED_TYPES = [...IAM_TYPES, ...BUILD_TYPES] as const;
export type ReapedType = (typeof REAPED_TYPES)[number];

const isIam = (type: string): type is IamType => (IAM_TYPES as readonly string[]).includes(type);

/** One search result, the fields of the SDK's `ResourceSummary` read here. */
export interface TaggedResource {
  readonly resourceType: string;
  readonly identifier: string;
  readonly displayName?: string;
  readonly lifecycleState?: string;
  readonly freeformTags?: { [key: string]: string };
  /** When OCI created it (ResourceSummary.timeCreated; DynamicGroup.timeCreated). */
  readonly timeCreated?: Date | string;
}

export interface CloudResources {
  /** Every result of the structured query in the reaped region, all pages. */
  search(query: string): Promise<TaggedResource[]>;
  /** The tenancy's home region, the only one where IAM can be changed. */
  homeRegion(): Promise<string>;
  /** This project's dynamic groups and policies, read in `region` (the home region). */
  identityResources(region: string): Promise<TaggedResource[]>;
  /**
   * Deletes (or terminates) one resource; 404 counts as done. `region`: where the call goes (the
   * home region, for IAM); unset, the reaped region.
   */
  remove(type: ReapedType, id: string, region?: string): Promise<void>;
}

const PROJECT_TAG = `(freeformTags.key = 'project' && freeformTags.value = '${PROJECT}')`;

/** The structured query: this project's build resources of the reaped region, by freeform tag. */
export function reapQuery(): string {
  const types = BUILD_TYPES.map((type) => type.toLowerCase()).join(", ");
  return `query ${types} resources where ${PROJECT_TAG}`;
}

/**
 * The structured query for this project's policies, run in the home region: type `Policy` is how
 * Oracle's CIS report reads a tenancy's policies (oci-landing-zones/oci-cis-landingzone-quickstart
 * 3.2.1, scripts/cis_reports.py:2019-2022 and :2002-2007). Dynamic groups are listed through IAM
 * instead (`ociCloudResources`), as that script does.
 */
export function iamPolicyQuery(): string {
  return `query policy resources where ${PROJECT_TAG}`;
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

/** What a run decided, and why the IAM was not looked at when it was not. */
export interface ResourceReap {
  readonly decisions: ResourceDecision[];
  /** Set when the home region or its IAM could not be read: the build resources were still reaped. */
  readonly iamUnchecked?: string;
}

function expired(resource: TaggedResource, now: Date): { expired: boolean; reason: string } {
  const value = resource.freeformTags?.[EXPIRES_AT_TAG];
  if (value === undefined || value === "")
    return { expired: false, reason: `no ${EXPIRES_AT_TAG} tag: never reaped` };
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    return { expired: false, reason: `${EXPIRES_AT_TAG} ${JSON.stringify(value)} is not a date: left alone` };
  if (at.getTime() > now.getTime()) return { expired: false, reason: `expires at ${value}` };
  // The tag is computed once per artifact key and kept in the stack's state, so a host launched
  // again for the same key (its predecessor reaped, then the build retried) starts with the old,
  // passed expiry: it is judged by its own age instead, the same TTL from its creation.
  const created = resource.timeCreated === undefined ? Number.NaN : new Date(resource.timeCreated).getTime();
  if (now.getTime() - created < BUILD_TTL_HOURS * 3_600_000) {
    return {
      expired: false,
      reason: `expired at ${value}, but created ${new Date(created).toISOString()}, less than ${BUILD_TTL_HOURS} h ago`,
    };
  }
  return { expired: true, reason: `expired at ${value}` };
}

export interface ReapResourcesOptions {
  readonly dryRun: boolean;
  /** Only resources whose `stack` tag matches. */
  readonly pattern: string;
  readonly now: Date;
}

/** The home region and this project's IAM there, or why they could not be read. */
async function identityResources(
  cloud: CloudResources,
): Promise<{ home?: string; found: TaggedResource[]; unchecked?: string }> {
  try {
    const home = await cloud.homeRegion();
    return { home, found: await cloud.identityResources(home) };
  } catch (error) {
    return { found: [], unchecked: errorMessage(error).split("\n")[0] };
  }
}

export async function reapResources(
  cloud: CloudResources,
  options: ReapResourcesOptions,
): Promise<ResourceReap> {
  const build = await cloud.search(reapQuery());
  const iam = await identityResources(cloud);
  const found = [...build, ...iam.found].filter(
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
      const type = resource.resourceType as ReapedType;
      await cloud.remove(type, resource.identifier, isIam(type) ? iam.home : undefined);
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
  return { decisions, iamUnchecked: iam.unchecked };
}

/**
 * The tenancy the profile signs for: API key and session token providers name it
 * (oci-common 2.139.1 lib/auth/config-file-auth.d.ts:48 `getTenantId`; session-auth-details-provider.d.ts:3
 * extends it). An instance principal's provider exposes none (lib/auth/
 * instance-principals-authentication-detail-provider.d.ts:13-28), nor does the provider interface.
 */
function tenancyOf(provider: common.AuthenticationDetailsProvider): string {
  const named = provider as { getTenantId?: () => string };
  if (typeof named.getTenantId === "function") return named.getTenantId();
  throw new UserError(
    "this authentication method names no tenancy, so the tenancy's home region (where the build's dynamic group and policy live) is unknown. Fix: run reap with --auth api_key or --auth security_token",
  );
}

async function allPages<T>(page: (token: string | undefined) => Promise<{ items: T[]; next?: string }>) {
  const found: T[] = [];
  let token: string | undefined;
  do {
    const answer = await page(token);
    found.push(...answer.items);
    token = answer.next || undefined;
  } while (token !== undefined);
  return found;
}

/**
 * The OCI side: Resource Search's `searchResources` (all pages), and the delete call of each type
 * (oci-core ComputeClient / VirtualNetworkClient, oci-bastion BastionClient, oci-identity 2.139.1
 * IdentityClient deletePolicy / deleteDynamicGroup; an instance is terminated with its boot volume).
 * A 404 is done: the resource is already gone. Dynamic groups live in the tenancy (root compartment)
 * and are listed there with `listDynamicGroups` in the home region, as Oracle's CIS report does
 * (scripts/cis_reports.py:2071-2073, cited above); policies live in the stack's compartment, which
 * the reaper does not know, so they are searched, in the home region too.
 */
export function ociCloudResources(
  provider: common.AuthenticationDetailsProvider,
  target: ClientTarget,
): CloudResources {
  const search = createSdkClient(resourcesearch.ResourceSearchClient, provider, target);
  const compute = createSdkClient(core.ComputeClient, provider, target);
  const network = createSdkClient(core.VirtualNetworkClient, provider, target);
  const bastions = createSdkClient(bastion.BastionClient, provider, target);
  const iamIn = (region: string) => createSdkClient(identity.IdentityClient, provider, { region });
  const searchIn = (client: resourcesearch.ResourceSearchClient, query: string) =>
    allPages(async (page) => {
      const answer = await client.searchResources({ searchDetails: { type: "Structured", query }, page });
      return { items: answer.resourceSummaryCollection.items ?? [], next: answer.opcNextPage };
    });
  const removers: Record<BuildType, (id: string) => Promise<unknown>> = {
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
    search: (query) => searchIn(search, query),
    async homeRegion() {
      // Region subscriptions are readable from any region: the program reads them through the
      // stack's own provider, whatever its region (program/identity-provider.ts:17-21).
      const answer = await createSdkClient(identity.IdentityClient, provider, target).listRegionSubscriptions(
        {
          tenancyId: tenancyOf(provider),
        },
      );
      return homeRegionOf(answer.items);
    },
    async identityResources(region) {
      const iam = iamIn(region);
      const tenancy = tenancyOf(provider);
      const groups = await allPages(async (page) => {
        const answer = await iam.listDynamicGroups({ compartmentId: tenancy, page });
        return { items: answer.items, next: answer.opcNextPage };
      });
      const homeSearch = createSdkClient(resourcesearch.ResourceSearchClient, provider, { region });
      const policies = await searchIn(homeSearch, iamPolicyQuery());
      return [
        ...groups.map((group) => ({
          resourceType: "DynamicGroup",
          identifier: group.id,
          displayName: group.name,
          lifecycleState: group.lifecycleState,
          freeformTags: group.freeformTags,
          timeCreated: group.timeCreated,
        })),
        ...policies,
      ];
    },
    async remove(type, id, region) {
      if (!isIam(type)) {
        await unlessNotFound(() => removers[type](id));
        return;
      }
      // A caller bug, not a user's: any other region would refuse the write (see the header).
      if (region === undefined)
        throw new Error(`${type} ${id}: IAM is deleted in the home region, none given`);
      const iam = iamIn(region);
      await unlessNotFound(() =>
        type === "Policy"
          ? iam.deletePolicy({ policyId: id })
          : iam.deleteDynamicGroup({ dynamicGroupId: id }),
      );
    },
  };
}

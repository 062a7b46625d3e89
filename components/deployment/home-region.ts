/**
 * Where IAM is written. OCI accepts dynamic groups and policies only in the tenancy's home region,
 * which `identity.getRegionSubscriptions` marks with `isHomeRegion` (oci-identity
 * lib/model/region-subscription.d.ts; OCI's IAM docs on the home region); the stack's
 * own region may be any other. The identity resources then go through a provider for the home region
 * that authenticates exactly as the stack's default OCI provider does.
 */
import type * as oci from "@pulumi/oci";
import { OCI_PROVIDER_KEYS } from "../config/namespaces";

/** One row of `identity.getRegionSubscriptions`, the fields read here. */
export interface RegionSubscription {
  readonly regionName: string;
  readonly isHomeRegion: boolean;
}

export function homeRegionOf(subscriptions: readonly RegionSubscription[]): string {
  const homes = subscriptions.filter((subscription) => subscription.isHomeRegion);
  if (homes.length !== 1) {
    throw new Error(
      `the tenancy's region subscriptions name ${homes.length} home regions, not one (${subscriptions.map((s) => s.regionName).join(", ") || "no subscription readable"}): set iam.homeRegion to the tenancy's home region`,
    );
  }
  return homes[0].regionName;
}

// The provider settings that are not text (@pulumi/oci provider.js JSON-encodes them); the rest
// pass as the stack configuration holds them.
const FLAGS = new Set([
  "disableAutoRetries",
  "dualStackEndpointEnabled",
  "realmSpecificServiceEndpointTemplateEnabled",
]);
const NUMBERS = new Set(["retryDurationSeconds"]);
const LISTS = new Set(["ignoreDefinedTags"]);

/**
 * The home-region provider's arguments: every `oci:` setting of the stack (authentication method,
 * profile, key, retries...) but the region, which is the home region's. `ociConfig` maps the
 * `oci:` keys' names (without the namespace) to their text, as Pulumi hands configuration over.
 */
export function homeRegionProviderArgs(
  ociConfig: Readonly<Record<string, string>>,
  homeRegion: string,
): oci.ProviderArgs {
  const args: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(ociConfig)) {
    if (name === "region" || !OCI_PROVIDER_KEYS.includes(name)) continue;
    if (FLAGS.has(name)) args[name] = text === "true";
    else if (NUMBERS.has(name)) args[name] = Number(text);
    else if (LISTS.has(name)) args[name] = JSON.parse(text) as string[];
    else args[name] = text;
  }
  return { ...args, region: homeRegion };
}

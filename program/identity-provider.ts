import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../components/config/config";
import { homeRegionOf, homeRegionProviderArgs } from "../components/deployment/home-region";

/**
 * The provider the identity resources (the deployment's and the build host's dynamic groups and
 * policies) go through: undefined, i.e. the default provider, where the stack's region is the
 * tenancy's home region. Existing stacks there keep the provider their IAM was created with: a
 * resource moved from the default provider to an explicit one is replaced unless the new provider's
 * DiffConfig says otherwise, and before pulumi/pulumi#18509 (2025-02) always
 * (pkg/resource/deploy/step_generator.go, providerChanged), while a replaced dynamic group of the same
 * name fails (OCI names are unique in the tenancy). Elsewhere IAM writes need the home region.
 */
export async function identityProvider(config: StackConfig): Promise<oci.Provider | undefined> {
  if (!config.iam.create || config.tenancyId === undefined) return undefined;
  const home =
    config.iam.homeRegion ??
    homeRegionOf(
      (await oci.identity.getRegionSubscriptions({ tenancyId: config.tenancyId })).regionSubscriptions,
    );
  if (home === config.region) return undefined;
  pulumi.log.info(`IAM: written in the tenancy's home region ${home}, the stack runs in ${config.region}`);
  const ociConfig = Object.fromEntries(
    Object.entries(pulumi.runtime.allConfig())
      .filter(([key]) => key.startsWith("oci:"))
      .map(([key, text]) => [key.slice("oci:".length), text]),
  );
  return new oci.Provider("home-region", homeRegionProviderArgs(ociConfig, home));
}

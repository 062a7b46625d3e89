/**
 * BuildNetwork: where the engine build instance lives during a cache miss, and the only way in. A
 * private subnet (no public address can be attached to a VNIC in it), a NAT gateway and a service
 * gateway for the host's outbound traffic, and an OCI Bastion on the subnet through which
 * `pulumi up` opens SSH sessions: no address of the machine running `pulumi up` is needed, so a
 * CI runner builds as a laptop does. With `build.subnetId` the user's subnet is used as it is (it
 * must reach the internet through a NAT gateway and admit SSH from inside its VCN) and only the
 * Bastion is created on it. Registered only on a cache miss: the run after a build drops it all.
 */
import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import {
  allRegionalServices,
  BUILD_SUBNET_CIDR,
  BUILD_VCN_CIDR,
  buildRouteRules,
  buildSecurityRules,
} from "./build/network-plan";
import { SESSION_TTL_SECONDS } from "./build/bastion-plan";
import { expiryCommand, EXPIRES_AT_TAG } from "./deployment/expiry";

export interface BuildNetworkArgs {
  readonly compartmentId: pulumi.Input<string>;
  /** An existing subnet that reaches the internet through NAT; a private VCN is created when absent. */
  readonly subnetId?: pulumi.Input<string>;
  /** The Bastion's name: letters and digits only, unique in the compartment (`bastionName`). */
  readonly bastionName: string;
  readonly freeformTags: Record<string, string>;
  /**
   * Every resource's `expires-at` tag: its creation plus this many hours, so that `reap` deletes a
   * network whose stack never ran again (a crashed or abandoned build), as it does the instance.
   */
  readonly expiresInHours: number;
  /**
   * What the clock starts again for: the build's artifact key. A network kept from an earlier build
   * would otherwise carry that build's expiry into a later one, and the reaper would delete the
   * network under it.
   */
  readonly expiryKey: string;
}

// Who may open a TCP connection to the Bastion's public endpoint. Every address: a GitHub-hosted
// runner's address is not known in advance (GitHub publishes thousands of ranges, more than an
// allow list holds), and the endpoint is not what guards the host. A connection only gets through
// with the private key of an active session; sessions are created only by a principal allowed to
// `manage bastion-session`, live at most three hours, and forward to one private address and
// port. The instance itself has no public address and accepts SSH from inside the VCN only.
const BASTION_CLIENT_CIDRS = ["0.0.0.0/0"];

export class BuildNetwork extends pulumi.ComponentResource {
  public readonly subnetId: pulumi.Output<string>;
  public readonly bastionId: pulumi.Output<string>;

  constructor(name: string, args: BuildNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:build:BuildNetwork", name, {}, opts);
    const child = { parent: this };
    const expiresAt = new command.local.Command(
      `${name}-expiry`,
      { create: expiryCommand(args.expiresInHours), triggers: [args.expiryKey] },
      child,
    ).stdout.apply((out) => out.trim());
    const freeformTags = expiresAt.apply((at): Record<string, string> => ({
      ...args.freeformTags,
      [EXPIRES_AT_TAG]: at,
    }));
    this.subnetId =
      args.subnetId === undefined
        ? this.privateSubnet(name, args.compartmentId, freeformTags)
        : pulumi.output(args.subnetId);

    const bastion = new oci.bastion.Bastion(
      `${name}-bastion`,
      {
        bastionType: "STANDARD",
        compartmentId: args.compartmentId,
        targetSubnetId: this.subnetId,
        name: args.bastionName,
        clientCidrBlockAllowLists: BASTION_CLIENT_CIDRS,
        maxSessionTtlInSeconds: SESSION_TTL_SECONDS,
        freeformTags,
      },
      child,
    );
    this.bastionId = bastion.id;
    this.registerOutputs({ subnetId: this.subnetId, bastionId: this.bastionId });
  }

  private privateSubnet(
    name: string,
    compartmentId: pulumi.Input<string>,
    freeformTags: pulumi.Output<Record<string, string>>,
  ): pulumi.Output<string> {
    const child = { parent: this };
    const common = { compartmentId, freeformTags };
    const vcn = new oci.core.Vcn(
      `${name}-vcn`,
      { ...common, cidrBlocks: [BUILD_VCN_CIDR], displayName: `${name}-vcn` },
      child,
    );
    const nat = new oci.core.NatGateway(
      `${name}-nat`,
      { ...common, vcnId: vcn.id, displayName: `${name}-nat` },
      child,
    );
    const service = oci.core
      .getServicesOutput({}, child)
      .apply((result) => allRegionalServices(result.services));
    const serviceGateway = new oci.core.ServiceGateway(
      `${name}-sgw`,
      { ...common, vcnId: vcn.id, displayName: `${name}-sgw`, services: [{ serviceId: service.id }] },
      child,
    );
    const routes = new oci.core.RouteTable(
      `${name}-routes`,
      {
        ...common,
        vcnId: vcn.id,
        displayName: `${name}-routes`,
        routeRules: pulumi
          .all([nat.id, serviceGateway.id, service.cidrBlock])
          .apply(([natId, gatewayId, cidrBlock]) => buildRouteRules(natId, { id: gatewayId, cidrBlock })),
      },
      child,
    );
    const security = new oci.core.SecurityList(
      `${name}-security`,
      { ...common, vcnId: vcn.id, displayName: `${name}-security`, ...buildSecurityRules(BUILD_VCN_CIDR) },
      child,
    );
    const subnet = new oci.core.Subnet(
      `${name}-subnet`,
      {
        ...common,
        vcnId: vcn.id,
        cidrBlock: BUILD_SUBNET_CIDR,
        displayName: `${name}-subnet`,
        routeTableId: routes.id,
        securityListIds: [security.id],
        prohibitPublicIpOnVnic: true,
        prohibitInternetIngress: true,
      },
      child,
    );
    return subnet.id;
  }
}

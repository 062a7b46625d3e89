/**
 * The build host's private network, as plain values: a VCN whose subnet admits no public address,
 * a NAT gateway for what lives on the internet (Hugging Face, NGC, the Docker and NVIDIA package
 * repositories), a service gateway for what lives in Oracle's network (Object Storage, OCIR, the
 * Bastion service's own traffic), and SSH accepted only from inside the VCN, which is where the
 * Bastion's private endpoint sits. `components/build-network.ts` turns these into resources.
 */

export const BUILD_VCN_CIDR = "10.77.0.0/16";
export const BUILD_SUBNET_CIDR = "10.77.0.0/24";

/** One entry of `core.getServices` (terraform-provider-oci core_services_data_source.go). */
export interface OracleService {
  readonly id: string;
  readonly name: string;
  readonly cidrBlock: string;
}

// The service whose CIDR label covers every service of the region, OCIR included; Object Storage
// alone would leave the image pull going out through the NAT gateway. Its name is "All <region key>
// Services In Oracle Services Network" (OCI docs, Service Gateway, "Overview of Service Gateways").
const ALL_SERVICES = /^All [A-Z0-9-]+ Services In Oracle Services Network$/i;

/** The region's "All ... Services In Oracle Services Network" entry of `core.getServices`. */
export function allRegionalServices(services: readonly OracleService[]): OracleService {
  const match = services.find((service) => ALL_SERVICES.test(service.name));
  if (match === undefined) {
    const names = services.map((service) => service.name).join(", ") || "none";
    throw new Error(
      `core.getServices lists no "All <region> Services In Oracle Services Network" service (it lists: ${names}): the build subnet's service gateway needs it; check oci:region`,
    );
  }
  return match;
}

export interface BuildRouteRule<Id> {
  readonly destination: string;
  readonly destinationType: "CIDR_BLOCK" | "SERVICE_CIDR_BLOCK";
  readonly networkEntityId: Id;
  readonly description: string;
}

/**
 * Oracle's services through the service gateway, everything else through the NAT gateway. OCI picks
 * the most specific rule, and a service CIDR label is more specific than 0.0.0.0/0 (OCI docs,
 * "Route Tables", routing to a service gateway alongside a NAT gateway).
 */
export function buildRouteRules<Id>(
  natGatewayId: Id,
  service: { id: Id; cidrBlock: string },
): BuildRouteRule<Id>[] {
  return [
    {
      destination: "0.0.0.0/0",
      destinationType: "CIDR_BLOCK",
      networkEntityId: natGatewayId,
      description: "the internet (Hugging Face, NGC, package repositories) through the NAT gateway",
    },
    {
      destination: service.cidrBlock,
      destinationType: "SERVICE_CIDR_BLOCK",
      networkEntityId: service.id,
      description: "Object Storage, OCIR and the other services of the region through the service gateway",
    },
  ];
}

/** Outbound anywhere (through the gateways above); inbound SSH from inside the VCN only. */
export function buildSecurityRules(vcnCidr: string) {
  return {
    egressSecurityRules: [{ destination: "0.0.0.0/0", protocol: "all", stateless: false }],
    ingressSecurityRules: [
      {
        source: vcnCidr,
        protocol: "6",
        stateless: false,
        tcpOptions: { min: 22, max: 22 },
        description: "SSH from inside the VCN: the Bastion's private endpoint in the build subnet",
      },
    ],
  };
}

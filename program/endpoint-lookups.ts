import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import type { ConfigError, StackConfig } from "../components/config/config";
import {
  DATA_SCIENCE_LIMITS_SERVICE,
  DEPLOYMENT_SHAPE_LIMITS,
  quotaProblem,
  type SubnetLookup,
  subnetLookupProblems,
} from "../components/deployment/endpoint-lookups";
import { fail } from "./validation";

/**
 * What only the tenancy knows about a production endpoint, read at preview through the OCI
 * provider's data sources before any resource is registered: the private subnet (in the stack's
 * region and compartment) and the Data Science limit of the deployment's shape against its most
 * instances. Every problem is refused at once, naming its key; a limit that cannot be read (no
 * `inspect resource-availability`, a placeholder tenancy) is only not known, and said so.
 */
export async function checkEndpointFacts(config: StackConfig): Promise<void> {
  const errors: ConfigError[] = [];
  const { access, privateSubnetId, autoscaling, shape } = config.deployment;
  if (access === "private" && privateSubnetId !== undefined) {
    errors.push(...subnetLookupProblems(privateSubnetId, await lookUpSubnet(privateSubnetId), config));
  }
  const limit = DEPLOYMENT_SHAPE_LIMITS[shape];
  if (autoscaling !== undefined && limit !== undefined && config.tenancyId !== undefined) {
    try {
      const availability = await oci.limits.getResourceAvailability({
        compartmentId: config.tenancyId,
        serviceName: DATA_SCIENCE_LIMITS_SERVICE,
        limitName: limit.limitName,
      });
      const problem = quotaProblem({
        shape,
        key: "deployment.autoscaling.maxInstances",
        instances: autoscaling.maxInstances,
        used: Number(availability.used),
        available: Number(availability.available),
      });
      if (problem !== undefined) errors.push(problem);
    } catch (error) {
      pulumi.log.warn(
        `deployment.autoscaling.maxInstances: the Data Science limit ${limit.limitName} could not be read, so the most instances are not checked against it (${message(error)})`,
      );
    }
  }
  if (errors.length > 0) fail(errors);
}

async function lookUpSubnet(subnetId: string): Promise<SubnetLookup> {
  try {
    const subnet = await oci.core.getSubnet({ subnetId });
    return { found: true, compartmentId: subnet.compartmentId, state: subnet.state };
  } catch (error) {
    return { found: false, reason: message(error) };
  }
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

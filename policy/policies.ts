/**
 * The stack's guardrails as CrossGuard resource policies. Each one is typed by the @pulumi/oci
 * resource class it checks (so a renamed property fails `tsc`), and each violation names the
 * resource and the fix. The checks on values are plain functions below the policies.
 */
import * as oci from "@pulumi/oci";
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";

import { EXPIRES_AT_TAG } from "../components/deployment/expiry";
import { DEFAULT_INSTANCE_CAPS, instanceCapProblem, type InstanceCaps } from "./instances";
import { decodeUserData, findSecretsInText, secretReason } from "./secrets";

/** Stacks that may run GPUs without an expiry; the rest are evaluation stacks. */
export const DEFAULT_PRODUCTION_STACKS: readonly string[] = ["prod", "production"];

interface ExpiryConfig {
  readonly productionStacks?: string[];
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` (the engine's URN format). */
export function stackFromUrn(urn: string): string {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!match) throw new Error(`'${urn}' is not a Pulumi resource URN (urn:pulumi:<stack>::...)`);
  return match[1];
}

/** `ModelDeployment 'triton-md' (stack dev)`: how every message names the resource. */
export function describeResource(args: Pick<ResourceValidationArgs, "type" | "name" | "urn">): string {
  const kind = args.type.slice(args.type.lastIndexOf(":") + 1);
  return `${kind} '${args.name}' (stack ${stackFromUrn(args.urn)})`;
}

// GPU shapes all carry `.GPU` in their name: VM.GPU.A10.1, BM.GPU4.8, VM.GPU3.1, BM.GPU.H100.8.
export function isGpuShape(shape: string | undefined): boolean {
  return shape !== undefined && /\.GPU/i.test(shape);
}

/** Why the `expires-at` tag is missing or unusable, or undefined when it holds a date. */
export function expiryProblem(tags: Record<string, string> | undefined): string | undefined {
  const value = tags?.[EXPIRES_AT_TAG];
  if (value === undefined) return `has no '${EXPIRES_AT_TAG}' freeform tag`;
  if (Number.isNaN(Date.parse(value))) return `has '${EXPIRES_AT_TAG}: ${value}', which is not a date`;
  return undefined;
}

function isProductionStack(urn: string, config: ExpiryConfig): boolean {
  return (config.productionStacks ?? DEFAULT_PRODUCTION_STACKS).includes(stackFromUrn(urn));
}

function expiryFix(urn: string): string {
  const stack = stackFromUrn(urn);
  return (
    `Fix: set evaluation.ttlHours in Pulumi.${stack}.yaml (the program then tags GPU resources ` +
    `with ${EXPIRES_AT_TAG}), or, if '${stack}' is a production stack, list it in this policy's ` +
    `productionStacks config.`
  );
}

const productionStacksSchema = {
  properties: {
    productionStacks: {
      type: "array" as const,
      items: { type: "string" as const },
      default: [...DEFAULT_PRODUCTION_STACKS],
      description: "Stacks allowed to run GPU resources without an expires-at tag.",
    },
  },
};

// A CIDR that matches every address: 0.0.0.0/0, ::/0 (any prefix length 0).
export function isAnywhere(cidr: string | undefined): boolean {
  return cidr !== undefined && /\/0$/.test(cidr.trim());
}

/** OCI protocol numbers (IANA): 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6; "all" is every protocol. */
const ICMP_PROTOCOLS = new Set(["1", "58"]);

interface PortRange {
  readonly min?: number;
  readonly max?: number;
}

/** What an ingress rule from anywhere opens, in words, or undefined when it opens no port (ICMP). */
export function openedPorts(protocol: string, ports: PortRange | undefined): string | undefined {
  if (ICMP_PROTOCOLS.has(protocol)) return undefined;
  const name = protocol === "6" ? "TCP" : protocol === "17" ? "UDP" : `protocol ${protocol}`;
  if (ports?.min === undefined && ports?.max === undefined) {
    if (protocol === "all") return "every protocol and port (SSH included)";
    return protocol === "6" ? "every TCP port (SSH included)" : `every ${name} port`;
  }
  const min = ports.min ?? 1;
  const max = ports.max ?? 65535;
  const range = min === max ? `port ${min}` : `ports ${min}-${max}`;
  const ssh = protocol === "6" && min <= 22 && 22 <= max ? " (SSH)" : "";
  return `${name} ${range}${ssh}`;
}

function ingressFix(resource: string): string {
  return (
    `Fix: narrow the source of ${resource} to the CIDR that needs it (for SSH, the VCN's own CIDR, ` +
    `where an OCI Bastion's private endpoint sits: the stack's build instance is reached that way).`
  );
}

const IMAGE_DIGEST = /@sha256:[0-9a-f]{64}$/;

export const policies: ResourceValidationPolicy[] = [
  {
    name: "ocir-repository-private",
    description: "OCIR repositories are private: the image is pulled by the deployment's resource principal.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(oci.artifacts.ContainerRepository, (repo, args, report) => {
      if (repo.isPublic === true) {
        report(
          `${describeResource(args)} is public: anyone can pull the image. ` +
            `Fix: set isPublic: false; the deployment pulls through its dynamic group's 'read repos' policy.`,
        );
      }
    }),
  },
  {
    name: "bucket-private",
    description: "Object Storage buckets allow no public access.",
    enforcementLevel: "mandatory",
    // Unset accessType means NoPublicAccess (@pulumi/oci objectstorage/bucket.d.ts, BucketArgs.accessType).
    validateResource: validateResourceOfType(oci.objectstorage.Bucket, (bucket, args, report) => {
      if (bucket.accessType !== undefined && bucket.accessType !== "NoPublicAccess") {
        report(
          `${describeResource(args)} has accessType ${bucket.accessType}: its objects are readable without ` +
            `credentials. Fix: set accessType: "NoPublicAccess" and share objects with pre-authenticated requests.`,
        );
      }
    }),
  },
  {
    name: "bucket-versioned",
    description:
      "Object Storage buckets keep versions, so an overwritten or deleted artifact can be restored.",
    enforcementLevel: "mandatory",
    // Unset versioning means Disabled (@pulumi/oci objectstorage/bucket.d.ts, BucketArgs.versioning).
    validateResource: validateResourceOfType(oci.objectstorage.Bucket, (bucket, args, report) => {
      if (bucket.versioning !== "Enabled") {
        report(
          `${describeResource(args)} has versioning ${bucket.versioning ?? "unset (Disabled)"}. ` +
            `Fix: set versioning: "Enabled".`,
        );
      }
    }),
  },
  {
    name: "gpu-instance-expires",
    description:
      "GPU instances in evaluation (non-production) stacks carry an expires-at tag for the reaper.",
    enforcementLevel: "mandatory",
    configSchema: productionStacksSchema,
    validateResource: validateResourceOfType(oci.core.Instance, (instance, args, report) => {
      if (!isGpuShape(instance.shape) || isProductionStack(args.urn, args.getConfig<ExpiryConfig>())) return;
      const problem = expiryProblem(instance.freeformTags);
      if (problem) {
        report(
          `${describeResource(args)} runs GPU shape ${instance.shape} and ${problem}. ${expiryFix(args.urn)}`,
        );
      }
    }),
  },
  {
    name: "model-deployment-expires",
    description:
      "Model deployments in evaluation (non-production) stacks carry an expires-at tag for the reaper.",
    enforcementLevel: "mandatory",
    configSchema: productionStacksSchema,
    validateResource: validateResourceOfType(oci.datascience.ModelDeployment, (deployment, args, report) => {
      if (isProductionStack(args.urn, args.getConfig<ExpiryConfig>())) return;
      const problem = expiryProblem(deployment.freeformTags);
      if (problem) report(`${describeResource(args)} ${problem}. ${expiryFix(args.urn)}`);
    }),
  },
  {
    name: "model-deployment-max-instances",
    description:
      "Model deployments run at most the instances their environment allows (instanceCount, or autoscaling's maximum).",
    enforcementLevel: "mandatory",
    configSchema: {
      properties: {
        instanceCaps: {
          type: "object" as const,
          additionalProperties: { type: "integer" as const, minimum: 1 },
          default: { ...DEFAULT_INSTANCE_CAPS },
          description: "Most instances per stack name; '*' for every stack not named.",
        },
      },
    },
    validateResource: validateResourceOfType(oci.datascience.ModelDeployment, (deployment, args, report) => {
      const { instanceCaps } = args.getConfig<{ instanceCaps?: InstanceCaps }>();
      const policy = deployment.modelDeploymentConfigurationDetails.modelConfigurationDetails?.scalingPolicy;
      const problem = instanceCapProblem(stackFromUrn(args.urn), policy, instanceCaps);
      if (problem) report(`${describeResource(args)} ${problem}`);
    }),
  },
  {
    name: "model-deployment-logs",
    description: "Model deployments write access and predict logs.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(oci.datascience.ModelDeployment, (deployment, args, report) => {
      const logs = deployment.categoryLogDetails;
      const missing = (["access", "predict"] as const).filter((category) => !logs?.[category]?.logId);
      if (missing.length > 0) {
        report(
          `${describeResource(args)} has no ${missing.join(" or ")} log: a failed or slow request leaves ` +
            `no trace. Fix: set categoryLogDetails.${missing[0]} to { logGroupId, logId } of an OCI Logging ` +
            `custom log (TritonDeployment creates both).`,
        );
      }
    }),
  },
  {
    name: "model-deployment-image-digest",
    description: "Model deployments run a container image pinned by digest.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(oci.datascience.ModelDeployment, (deployment, args, report) => {
      const environment = deployment.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
      if (environment?.environmentConfigurationType !== "OCIR_CONTAINER") return;
      const image = environment.image ?? "";
      if (!IMAGE_DIGEST.test(image)) {
        report(
          `${describeResource(args)} runs image '${image}', which is not pinned by digest: a re-pushed tag ` +
            `changes what runs without a diff. Fix: use <region>.ocir.io/<namespace>/<repo>@sha256:<digest> ` +
            `(OcirImage.imageRef).`,
        );
      } else if (environment.imageDigest && !image.endsWith(`@${environment.imageDigest}`)) {
        report(
          `${describeResource(args)} pins image '${image}' but declares imageDigest ${environment.imageDigest}. ` +
            `Fix: derive both from the same pushed image (OcirImage.imageRef and OcirImage.digest).`,
        );
      }
    }),
  },
  {
    name: "model-deployment-no-secret-env",
    description: "No secret-looking values in model deployment environment variables.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(oci.datascience.ModelDeployment, (deployment, args, report) => {
      const environment = deployment.modelDeploymentConfigurationDetails.environmentConfigurationDetails;
      for (const [name, value] of Object.entries(environment?.environmentVariables ?? {})) {
        const reason = secretReason(name, String(value));
        if (reason) {
          report(
            `${describeResource(args)}: environment variable ${name} looks like a secret (${reason}); ` +
              `deployment variables are readable by anyone who can read the deployment. Fix: drop it from ` +
              `deployment.environment and read the secret at run time from OCI Vault with the resource principal.`,
          );
        }
      }
    }),
  },
  {
    name: "instance-no-secret-metadata",
    description: "No secret-looking values in instance metadata or user data.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(oci.core.Instance, (instance, args, report) => {
      const fix =
        `Fix: instance metadata is readable by every process on the host and by anyone who can read the ` +
        `instance; fetch the secret at boot from OCI Vault with the instance principal instead.`;
      const metadata = { ...instance.extendedMetadata, ...instance.metadata };
      for (const [key, raw] of Object.entries(metadata)) {
        const value = typeof raw === "string" ? raw : JSON.stringify(raw);
        if (key === "user_data") {
          for (const finding of findSecretsInText(decodeUserData(value))) {
            report(
              `${describeResource(args)}: user data line ${finding.line} looks like a secret (${finding.reason}). ${fix}`,
            );
          }
          continue;
        }
        const reason = secretReason(key, value);
        if (reason)
          report(`${describeResource(args)}: metadata key ${key} looks like a secret (${reason}). ${fix}`);
      }
    }),
  },
  {
    name: "security-list-no-open-ingress",
    description: "No security list rule opens SSH or any port to 0.0.0.0/0.",
    enforcementLevel: "mandatory",
    validateResource: [
      validateResourceOfType(oci.core.SecurityList, (list, args, report) => {
        for (const rule of list.ingressSecurityRules ?? []) reportOpenIngress(rule, args, report);
      }),
      validateResourceOfType(oci.core.DefaultSecurityList, (list, args, report) => {
        for (const rule of list.ingressSecurityRules ?? []) reportOpenIngress(rule, args, report);
      }),
    ],
  },
  {
    name: "nsg-rule-no-open-ingress",
    description: "No network security group rule opens SSH or any port to 0.0.0.0/0.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(
      oci.core.NetworkSecurityGroupSecurityRule,
      (rule, args, report) => {
        if (rule.direction !== "INGRESS") return;
        reportOpenIngress(
          {
            protocol: rule.protocol,
            source: rule.source,
            sourceType: rule.sourceType,
            tcpOptions: rule.tcpOptions?.destinationPortRange,
            udpOptions: rule.udpOptions?.destinationPortRange,
          },
          args,
          report,
        );
      },
    ),
  },
];

interface IngressRule {
  readonly protocol: string;
  readonly source?: string;
  readonly sourceType?: string;
  readonly tcpOptions?: PortRange;
  readonly udpOptions?: PortRange;
}

function reportOpenIngress(
  rule: IngressRule,
  args: ResourceValidationArgs,
  report: (message: string) => void,
): void {
  if (rule.sourceType !== undefined && rule.sourceType !== "CIDR_BLOCK") return;
  if (!isAnywhere(rule.source)) return;
  const opened = openedPorts(rule.protocol, rule.protocol === "17" ? rule.udpOptions : rule.tcpOptions);
  if (opened) {
    report(
      `${describeResource(args)} lets ${rule.source} reach ${opened}. ${ingressFix(describeResource(args))}`,
    );
  }
}

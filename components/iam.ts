/**
 * Iam: who may do what for the deployment, and nothing more. The model deployment runs as a
 * resource principal matched by a dynamic group; it pulls the image, writes its logs and reads the
 * artifact bucket. Data Science and Object Storage themselves need to manage objects in that one
 * bucket to export a large artifact into the model catalog (Oracle's Data Science policies page,
 * docs.oracle.com/en-us/iaas/data-science/using/policies.htm).
 *
 * Tenancies where the deploying user may not touch IAM set `create: false`: nothing is created and
 * the exact statements are exported for an administrator (see docs/iam.md).
 */
import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { iamStatements, type IamStatements } from "./deployment/iam-statements";
import { waitForPoliciesCommand } from "./deployment/oci-task-commands";

export interface IamArgs {
  /** Create the dynamic group and policies; `false` only exports the statements. */
  readonly create: boolean;
  /** Compartment of the deployments, the repository and the bucket; the policies live here. */
  readonly compartmentId: pulumi.Input<string>;
  /** The tenancy (root compartment), where OCI keeps dynamic groups. Required when `create`. */
  readonly tenancyId?: pulumi.Input<string>;
  /** Unique in the tenancy; also the prefix of the policy names. */
  readonly dynamicGroupName: pulumi.Input<string>;
  readonly bucketName: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  readonly freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The home region's OCI provider, where the stack's region is another (IAM is written there only). */
  readonly provider?: pulumi.ProviderResource;
  /** OCI CLI profile of the local command that waits for the policies, as the provider uses it. */
  readonly ociProfile?: string;
  /** The deployment autoscales: a third policy lets its alarms manage and read what they need. */
  readonly autoscaling?: boolean;
}

export class Iam extends pulumi.ComponentResource {
  /** The dynamic group rule and every statement, created here or to be created by an administrator. */
  public readonly statements: pulumi.Output<IamStatements>;
  /** What the deployment and the artifact export must wait for; empty when `create` is false. */
  public readonly resources: pulumi.Resource[];

  constructor(name: string, args: IamArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything registers, so a refused configuration leaves nothing behind.
    const tenancyId = args.create ? args.tenancyId : undefined;
    if (args.create && tenancyId === undefined) {
      throw new Error(
        `${name}: tenancyId is required to create the dynamic group (OCI keeps them in the tenancy)`,
      );
    }
    super("triton-trtllm-oci:iam:Iam", name, {}, opts);

    this.statements = pulumi
      .all([args.compartmentId, args.dynamicGroupName, args.bucketName, args.region])
      .apply(([compartmentId, dynamicGroupName, bucketName, region]) =>
        iamStatements({ compartmentId, dynamicGroupName, bucketName, region, autoscaling: args.autoscaling }),
      );

    if (tenancyId === undefined) {
      this.resources = [];
      this.registerOutputs({ statements: this.statements });
      return;
    }

    const dynamicGroup = new oci.identity.DynamicGroup(
      `${name}-dg`,
      {
        compartmentId: tenancyId,
        name: args.dynamicGroupName,
        description: "OCI Data Science model deployments serving Triton TensorRT-LLM",
        matchingRule: this.statements.apply((s) => s.dynamicGroupMatchingRule),
        freeformTags: args.freeformTags,
      },
      { parent: this, provider: args.provider },
    );

    // OCI rejects a policy that names a dynamic group which does not exist yet.
    const deploymentPolicy = new oci.identity.Policy(
      `${name}-deployment`,
      {
        compartmentId: args.compartmentId,
        name: pulumi.interpolate`${args.dynamicGroupName}-deployment`,
        description: "Model deployments: pull the image, write logs, read the artifact bucket",
        statements: this.statements.apply((s) => s.policyStatements),
        freeformTags: args.freeformTags,
      },
      { parent: this, provider: args.provider, dependsOn: [dynamicGroup] },
    );

    const servicePolicy = new oci.identity.Policy(
      `${name}-services`,
      {
        compartmentId: args.compartmentId,
        name: pulumi.interpolate`${args.dynamicGroupName}-services`,
        description: "Data Science and Object Storage: export the model artifact from its bucket",
        statements: this.statements.apply((s) => s.servicePolicyStatements),
        freeformTags: args.freeformTags,
      },
      { parent: this, provider: args.provider },
    );

    // Only an autoscaling stack has it: the others keep the policies (and the URNs) they had.
    const autoscalingPolicy = args.autoscaling
      ? new oci.identity.Policy(
          `${name}-autoscaling`,
          {
            compartmentId: args.compartmentId,
            name: pulumi.interpolate`${args.dynamicGroupName}-autoscaling`,
            description: "Model deployments: the alarms their autoscaling evaluates",
            statements: this.statements.apply((s) => s.autoscalingStatements ?? []),
            freeformTags: args.freeformTags,
          },
          { parent: this, provider: args.provider, dependsOn: [dynamicGroup] },
        )
      : undefined;
    const policies = [
      deploymentPolicy,
      servicePolicy,
      ...(autoscalingPolicy === undefined ? [] : [autoscalingPolicy]),
    ];

    // New grants take minutes to be in force, longer outside the home region: what depends on them
    // (the export, the image pull) waits until the stack's region serves them, for minutes at most.
    const propagated = new command.local.Command(
      `${name}-propagated`,
      {
        create: pulumi
          .all([
            pulumi.all(policies.map((policy) => pulumi.all([policy.id, policy.statements]))),
            args.region,
          ])
          .apply(([written, region]) =>
            waitForPoliciesCommand({
              policies: written.map(([id, statements]) => ({ id, statements })),
              region,
              profile: args.ociProfile,
            }),
          ),
      },
      { parent: this, customTimeouts: { create: "20m", update: "20m" } },
    );

    this.resources = [dynamicGroup, ...policies, propagated];
    this.registerOutputs({ statements: this.statements });
  }
}

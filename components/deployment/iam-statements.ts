/**
 * Who may do what for the deployment, as OCI policy statements: created by the `Iam` component, or
 * exported for an administrator when the deploying user may not touch IAM (docs/iam.md).
 */

export interface IamStatementsInput {
  readonly compartmentId: string;
  readonly dynamicGroupName: string;
  readonly bucketName: string;
  /** Region identifier, e.g. `us-ashburn-1`: Object Storage acts as `objectstorage-<region>`. */
  readonly region: string;
  /** The deployment autoscales: its own alarms on its metrics (`autoscalingStatements`). */
  readonly autoscaling?: boolean;
}

export interface IamStatements {
  readonly dynamicGroupName: string;
  readonly dynamicGroupMatchingRule: string;
  /** Grants to the deployments' dynamic group. */
  readonly policyStatements: string[];
  /** Grants to the OCI services that export the artifact from the bucket into the catalog. */
  readonly servicePolicyStatements: string[];
  /** With autoscaling: grants to the deployments' dynamic group for the alarms it scales by. */
  readonly autoscalingStatements?: string[];
}

/**
 * Autoscaling evaluates the scaling queries as Monitoring alarms on the deployment's metrics, made
 * for the deployment (@pulumi/oci 4.20 types/input.d.ts, the rule's query: "The Monitoring Query
 * Language (MQL) expression to evaluate for the alarm"), and OCI's "Model Deployment Autoscaling"
 * page requires a policy for it. The deployments' resource principal gets what those alarms need in
 * the compartment: to manage the alarms and read the metrics they evaluate. *Inference* from how the
 * autoscaling works, not a statement copied from OCI: docs/live-acceptance.md checks it.
 */
function autoscalingGrants(group: string, inCompartment: string): string[] {
  return [
    `allow dynamic-group ${group} to manage alarms ${inCompartment}`,
    `allow dynamic-group ${group} to read metrics ${inCompartment}`,
  ];
}

export function iamStatements(input: IamStatementsInput): IamStatements {
  const { compartmentId, dynamicGroupName: group, bucketName, region } = input;
  const inCompartment = `in compartment id ${compartmentId}`;
  const inBucket = `${inCompartment} where ALL {target.bucket.name='${bucketName}'}`;
  return {
    dynamicGroupName: group,
    dynamicGroupMatchingRule: `ALL {resource.type='datasciencemodeldeployment', resource.compartment.id='${compartmentId}'}`,
    policyStatements: [
      `allow dynamic-group ${group} to read repos ${inCompartment}`,
      `allow dynamic-group ${group} to use log-content ${inCompartment}`,
      `allow dynamic-group ${group} to read objects ${inBucket}`,
    ],
    servicePolicyStatements: [
      `allow service datascience to manage object-family ${inBucket}`,
      `allow service objectstorage-${region} to manage object-family ${inBucket}`,
    ],
    ...(input.autoscaling === true ? { autoscalingStatements: autoscalingGrants(group, inCompartment) } : {}),
  };
}

/** The statements as an administrator creates them: the dynamic group, then each policy's lines. */
export function formatIamStatements(statements: IamStatements): string {
  return [
    `dynamic group ${statements.dynamicGroupName} (in the tenancy), matching rule:`,
    `  ${statements.dynamicGroupMatchingRule}`,
    "policy for the deployments (in the compartment):",
    ...statements.policyStatements.map((line) => `  ${line}`),
    "policy for the artifact export (in the compartment):",
    ...statements.servicePolicyStatements.map((line) => `  ${line}`),
    ...(statements.autoscalingStatements === undefined
      ? []
      : [
          "policy for the autoscaling (in the compartment):",
          ...statements.autoscalingStatements.map((line) => `  ${line}`),
        ]),
  ].join("\n");
}

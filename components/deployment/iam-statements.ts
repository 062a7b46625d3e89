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
}

export interface IamStatements {
  readonly dynamicGroupName: string;
  readonly dynamicGroupMatchingRule: string;
  /** Grants to the deployments' dynamic group. */
  readonly policyStatements: string[];
  /** Grants to the OCI services that export the artifact from the bucket into the catalog. */
  readonly servicePolicyStatements: string[];
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
  ].join("\n");
}

/**
 * How many instances a model deployment may run, per environment: the most a fixed deployment
 * runs (`instanceCount`) or an autoscaling one may reach (`maximumInstanceCount`), against a cap
 * the policy pack's config sets per stack. Evaluation stacks get few, production more; a cap set
 * for a stack by name wins over the one for every other stack (`*`).
 */

/** Caps by stack name; `*` for every stack not named. */
export type InstanceCaps = Readonly<Record<string, number>>;

export const DEFAULT_INSTANCE_CAPS: InstanceCaps = { "*": 2, prod: 8, production: 8 };

/** The deployment's scaling policy as the provider's inputs hold it. */
export interface ScalingPolicyProps {
  readonly policyType?: string;
  readonly instanceCount?: number;
  readonly autoScalingPolicies?: readonly { readonly maximumInstanceCount?: number }[];
}

/** The most instances a scaling policy lets the deployment run; undefined while unknown. */
export function mostInstances(policy: ScalingPolicyProps | undefined): number | undefined {
  if (policy === undefined) return undefined;
  if (policy.policyType?.toUpperCase() === "AUTOSCALING") {
    const maxima = (policy.autoScalingPolicies ?? []).map((p) => p.maximumInstanceCount);
    if (maxima.length === 0 || maxima.some((max) => typeof max !== "number")) return undefined;
    return Math.max(...(maxima as number[]));
  }
  return typeof policy.instanceCount === "number" ? policy.instanceCount : undefined;
}

export function instanceCapFor(
  stack: string,
  caps: InstanceCaps = DEFAULT_INSTANCE_CAPS,
): number | undefined {
  return caps[stack] ?? caps["*"];
}

/** Why the deployment runs too many instances for its stack, or undefined. */
export function instanceCapProblem(
  stack: string,
  policy: ScalingPolicyProps | undefined,
  caps: InstanceCaps = DEFAULT_INSTANCE_CAPS,
): string | undefined {
  const most = mostInstances(policy);
  const cap = instanceCapFor(stack, caps);
  if (most === undefined || cap === undefined || most <= cap) return undefined;
  const key =
    policy?.policyType?.toUpperCase() === "AUTOSCALING"
      ? "deployment.autoscaling.maxInstances"
      : "deployment.instanceCount";
  return (
    `may run ${most} instances, above the ${cap} this policy allows stack '${stack}'. ` +
    `Fix: set ${key} to at most ${cap} in Pulumi.${stack}.yaml, or raise the cap for '${stack}' in this policy's instanceCaps config.`
  );
}

/**
 * `cli/oci-task.ts wait-for-policies`: waits until the stack's region serves the new policies with
 * their statements. OCI writes IAM in the tenancy's home region and replicates it to the others; a
 * model deployment created before its `read repos` grant has arrived fails its image pull only after
 * OCI's 20-minute pull limit. Reading the policy through the stack's regional identity endpoint is the
 * signal available to a client; that a policy readable there is also enforced there is inference.
 *
 * The identity call goes through the slice below, written from oci-identity 2.139.1
 * (lib/client.d.ts `getPolicy`, lib/model/policy.d.ts); the real client satisfies it as it is.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors";
import { unlessNotFound } from "../oci-client";

export interface IdentityApi {
  getPolicy(request: {
    policyId: string;
  }): Promise<{ policy: { statements: string[]; lifecycleState: string } }>;
}

export interface PolicyExpectation {
  readonly id: string;
  readonly statements: readonly string[];
}

export interface PropagationTiming {
  readonly pollMs: number;
  readonly timeoutMs: number;
}

export const POLICY_PROPAGATION: PropagationTiming = { pollMs: 15_000, timeoutMs: 15 * 60_000 };

async function served(identity: IdentityApi, expected: PolicyExpectation): Promise<boolean> {
  const answer = await unlessNotFound(() => identity.getPolicy({ policyId: expected.id }));
  if (answer === undefined || answer.policy.lifecycleState !== "ACTIVE") return false;
  const held = new Set(answer.policy.statements);
  return expected.statements.every((statement) => held.has(statement));
}

export async function waitForPolicies(
  identity: IdentityApi,
  policies: readonly PolicyExpectation[],
  region: string,
  log: (line: string) => void,
  timing: PropagationTiming = POLICY_PROPAGATION,
): Promise<string> {
  const started = Date.now();
  let waiting = [...policies];
  for (;;) {
    const results = await Promise.all(waiting.map((policy) => served(identity, policy)));
    waiting = waiting.filter((_, index) => !results[index]);
    if (waiting.length === 0)
      return `${policies.length} policies in force in ${region} after ${Math.round((Date.now() - started) / 1000)} s`;
    if (Date.now() - started >= timing.timeoutMs) {
      throw new UserError(
        `${waiting.map((p) => p.id).join(", ")} not served in ${region} with their statements after ${timing.timeoutMs / 60_000} minutes: check them in the tenancy's home region (docs/iam.md), then run pulumi up again`,
      );
    }
    log(`waiting for ${waiting.length} policies to reach ${region} ...`);
    await sleep(timing.pollMs);
  }
}

// The wait before the export and the deployment: until the stack's region serves each new policy with
// its statements (operations/up-tasks/policy-propagation.ts), against a stand-in identity API written from
// oci-identity 2.139.1 (`getPolicy`, lib/model/policy.d.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { type IdentityApi, waitForPolicies } from "../operations/up-tasks/policy-propagation";

const DEPLOYMENT = {
  id: "ocid1.policy.oc1..d",
  statements: ["allow dynamic-group g to read repos in compartment id c"],
};
const SERVICES = {
  id: "ocid1.policy.oc1..s",
  statements: ["allow service datascience to manage object-family in compartment id c"],
};

/** A region that serves each policy from its `arrivesAt`-th read on (404 before that). */
function region(arrivesAt: Record<string, number>, statements: Record<string, string[]> = {}) {
  const reads: Record<string, number> = {};
  const api: IdentityApi = {
    async getPolicy({ policyId }) {
      reads[policyId] = (reads[policyId] ?? 0) + 1;
      if (reads[policyId] < arrivesAt[policyId])
        throw Object.assign(new Error("NotAuthorizedOrNotFound"), { statusCode: 404 });
      const held =
        statements[policyId] ?? [DEPLOYMENT, SERVICES].find((p) => p.id === policyId)?.statements ?? [];
      return { policy: { statements: held, lifecycleState: "ACTIVE" } };
    },
  };
  return { api, reads };
}

describe("wait-for-policies", () => {
  test("returns once both policies are served with their statements, reading each until it is", async () => {
    const { api, reads } = region({ [DEPLOYMENT.id]: 3, [SERVICES.id]: 1 });
    const log: string[] = [];
    const done = await waitForPolicies(api, [DEPLOYMENT, SERVICES], "eu-frankfurt-1", (l) => log.push(l), {
      pollMs: 1,
      timeoutMs: 60_000,
    });
    assert.match(done, /^2 policies in force in eu-frankfurt-1 after \d+ s$/);
    assert.deepEqual(reads, { [DEPLOYMENT.id]: 3, [SERVICES.id]: 1 });
    assert.deepEqual(log, [
      "waiting for 1 policies to reach eu-frankfurt-1 ...",
      "waiting for 1 policies to reach eu-frankfurt-1 ...",
    ]);
  });

  test("an older version of the statements is not yet the policy", async () => {
    const { api } = region(
      { [DEPLOYMENT.id]: 1 },
      { [DEPLOYMENT.id]: ["allow dynamic-group g to read objects in compartment id c"] },
    );
    await assert.rejects(
      waitForPolicies(api, [DEPLOYMENT], "eu-frankfurt-1", () => undefined, { pollMs: 1, timeoutMs: 5 }),
      /ocid1\.policy\.oc1\.\.d not served in eu-frankfurt-1 with their statements after .* minutes: check them in the tenancy's home region/,
    );
  });

  test("a read refused for another reason than 404 is passed on", async () => {
    const api: IdentityApi = {
      async getPolicy() {
        throw Object.assign(new Error("status 500"), { statusCode: 500 });
      },
    };
    await assert.rejects(
      waitForPolicies(api, [DEPLOYMENT], "r", () => undefined, { pollMs: 1, timeoutMs: 5 }),
      /status 500/,
    );
  });
});

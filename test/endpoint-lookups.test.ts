// What a production endpoint learns from the tenancy, judged as plain functions
// (components/deployment/endpoint-lookups.ts), and the URL a private deployment answers on.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ocidRegion,
  quotaProblem,
  subnetLookupProblems,
  subnetRegionProblem,
} from "../components/deployment/endpoint-lookups";
import { privateDeploymentUrl } from "../components/deployment/model-deployment";
import { explainInvokeError } from "../operations/endpoint/deployment-client";
import { expectError } from "./support/stack-fixtures";

const COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaastackstackstackstackstack";
const STACK = { compartmentId: COMPARTMENT, region: "us-ashburn-1" };
const SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaasubnetsubnetsubnetsubnet";
const KEY = "deployment.privateSubnetId";

describe("the private subnet", () => {
  test("an OCID names its region by identifier or by key; only the identifier is known here", () => {
    assert.equal(ocidRegion("ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaax"), "eu-frankfurt-1");
    assert.equal(ocidRegion(SUBNET), undefined);
    assert.equal(subnetRegionProblem(SUBNET, "us-ashburn-1"), undefined);
    assert.equal(subnetRegionProblem("ocid1.subnet.oc1.us-ashburn-1.aaaaaaaax", "us-ashburn-1"), undefined);
    const problem = subnetRegionProblem("ocid1.subnet.oc1.eu-frankfurt-1.aaaaaaaax", "us-ashburn-1");
    assert.ok(problem);
    expectError([problem], KEY, { message: [/eu-frankfurt-1/, /us-ashburn-1/] });
  });

  test("at preview: a subnet the stack's region does not have, one of another compartment, one not AVAILABLE", () => {
    expectError(
      subnetLookupProblems(SUBNET, { found: false, reason: "404 NotAuthorizedOrNotFound" }, STACK),
      KEY,
      {
        value: SUBNET,
        message: [/us-ashburn-1/, /404/],
      },
    );
    const other = "ocid1.compartment.oc1..aaaaaaaanetworknetworknetworknetwork";
    expectError(
      subnetLookupProblems(SUBNET, { found: true, compartmentId: other, state: "AVAILABLE" }, STACK),
      KEY,
      {
        message: [new RegExp(other), /compartmentId/],
      },
    );
    expectError(
      subnetLookupProblems(SUBNET, { found: true, compartmentId: COMPARTMENT, state: "TERMINATING" }, STACK),
      KEY,
      { message: [/TERMINATING/] },
    );
    assert.deepEqual(
      subnetLookupProblems(SUBNET, { found: true, compartmentId: COMPARTMENT, state: "AVAILABLE" }, STACK),
      [],
    );
  });

  test("a private deployment answers on its endpoint's FQDN, its own path kept", () => {
    const id = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaax";
    assert.equal(
      privateDeploymentUrl(
        `https://modeldeployment.us-ashburn-1.oci.customer-oci.com/${id}`,
        "md.private.example.com",
      ),
      `https://md.private.example.com/${id}`,
    );
    assert.equal(
      privateDeploymentUrl(`https://md.private.example.com/${id}/`, "md.private.example.com"),
      `https://md.private.example.com/${id}`,
      "a URL already on the private host stays as it is",
    );
  });
});

test("a call that reaches no host says a private deployment answers only from inside its VCN", () => {
  const id = "ocid1.datasciencemodeldeployment.oc1.iad.amaaaaaax";
  const text = explainInvokeError(
    { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND md-1.private.example" },
    {
      target: { endpoint: "https://md-1.private.example", modelDeploymentId: id },
      bodyBytes: 64,
      auth: { method: "api_key" },
      attempts: 1,
    },
  );
  assert.match(text, /^cannot reach https:\/\/md-1\.private\.example: getaddrinfo ENOTFOUND/);
  assert.match(text, /only from inside its VCN/);
  assert.match(text, /docs\/production\.md#private-access/);
});

describe("the Data Science limit of the shape", () => {
  const key = "deployment.autoscaling.maxInstances";

  test("four one-GPU instances fit a limit of four, five do not, naming the limit and what is used", () => {
    assert.equal(
      quotaProblem({ shape: "VM.GPU.A10.1", key, instances: 4, used: 2, available: 2 }),
      undefined,
    );
    const problem = quotaProblem({ shape: "VM.GPU.A10.1", key, instances: 5, used: 2, available: 2 });
    assert.ok(problem);
    expectError([problem], key, {
      value: 5,
      message: [/ds-gpu-a10-count is 4/, /2 in use/],
      fix: [/at most 4/],
    });
  });

  test("a two-GPU shape counts twice; a shape with no known limit name is not judged", () => {
    const problem = quotaProblem({ shape: "VM.GPU.A10.2", key, instances: 3, used: 0, available: 4 });
    assert.ok(problem);
    assert.match(problem.fix, /at most 2/);
    assert.equal(
      quotaProblem({ shape: "BM.GPU.H100.8", key, instances: 10, used: 0, available: 0 }),
      undefined,
    );
  });
});

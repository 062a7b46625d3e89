// A preview of an existing stack must show no replacement after a refactoring: every shape of the
// dev stack registers exactly the URNs (type, name, parent) captured in test/fixtures/urns.json
// before the layout of issue 16 moved any file, and no resource needs an alias to keep them. The
// build's resources (cache miss, engine hit) moved by design in issue 19: the network under its own
// component, the instance named by the artifact key (so its name follows the rendered repository:
// issue 17's Python models renamed it); they exist only while a build runs. Issue 18 made
// the catalog model one command resource (model-model) in place of the provider's Model,
// ModelArtifactExport and the verify command, and added the wait for the policies to be in force
// (iam-propagated). Issue 25 added the endpoint proof `up` ends with (triton-proof, a local command
// under the TritonDeployment) and a Bastion session of its own for the build's first link
// (engine-session-1): new resources, no URN moved; issue 27's tensorrt_llm_bls renamed the build
// instance again (its name follows the artifact key, by design).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";

import { captureUrns, URN_SCENARIOS, type UrnEntry, type UrnScenario } from "./support/urn-graph";

const FIXTURE = path.join(__dirname, "fixtures", "urns.json");

describe("URNs of existing stacks", { timeout: 600_000 }, () => {
  const expected = JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<UrnScenario, UrnEntry[]>;
  let actual: Record<UrnScenario, UrnEntry[]>;
  before(async () => {
    actual = await captureUrns();
  });

  test("the fixture covers every shape and holds the components of each", () => {
    assert.deepEqual(Object.keys(expected).sort(), [...URN_SCENARIOS].sort());
    for (const scenario of URN_SCENARIOS) {
      const types = new Set(expected[scenario].map((entry) => entry.type));
      assert.ok(types.has("triton-trtllm-oci:deployment:TritonDeployment"), scenario);
    }
    assert.ok(
      expected["cache miss"].some((entry) => entry.type === "triton-trtllm-oci:build:EngineBuild"),
      "the cache-miss graph holds the engine build",
    );
  });

  for (const scenario of URN_SCENARIOS) {
    test(`${scenario}: the same URNs under the same parents`, () => {
      assert.deepEqual(actual[scenario], expected[scenario]);
    });
  }
});

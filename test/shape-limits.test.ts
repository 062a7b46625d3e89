// The Compute service limit each build shape draws on (components/build/shape-limits.ts): the table
// agrees with the shape catalogue, every shape a build can run on is decided, and a flexible shape
// counts the OCPUs it is launched with.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { domainFits } from "../components/build/inputs";
import { limitNeed, SHAPE_LIMITS } from "../components/build/shape-limits";
import { GPU_SHAPES } from "../components/config/catalog";

// The CPU host the assemble and mirror modes run on (program/engine-build.ts).
const CPU_HOST = { name: "VM.Standard.E4.Flex", ocpus: 2 };

describe("shape limits", () => {
  test("a GPU shape's limit counts the GPUs the catalogue gives it", () => {
    for (const [shape, limit] of Object.entries(SHAPE_LIMITS)) {
      if (limit.unit !== "GPU") continue;
      const catalogued = GPU_SHAPES.find((gpu) => gpu.name === shape);
      assert.ok(catalogued, `${shape} is in the limit table but not in components/config/catalog.ts`);
      assert.equal(limit.perInstance, catalogued.gpuCount, shape);
    }
  });

  test("every shape a build runs on has a limit, except those OCI documents none for", () => {
    const buildShapes = [...GPU_SHAPES.map((gpu) => gpu.name), CPU_HOST.name];
    const without = buildShapes.filter((shape) => limitNeed(shape, { ocpus: 1 }) === undefined);
    assert.deepEqual(without, ["BM.GPU.L40S.4", "BM.GPU.H100.8"]);
  });

  test("one VM.GPU.A10.1 takes one GPU of gpu-a10-count, of the compute service", () => {
    assert.deepEqual(limitNeed("VM.GPU.A10.1"), {
      service: "compute",
      limitName: "gpu-a10-count",
      unit: "GPU",
      amount: 1,
    });
    assert.equal(limitNeed("BM.GPU.A100-v2.8")?.limitName, "gpu-a100-v2-count");
    assert.equal(limitNeed("BM.GPU4.8")?.limitName, "gpu4-count");
  });

  test("the assemble host takes the OCPUs it is launched with from standard-e4-core-count", () => {
    assert.deepEqual(limitNeed(CPU_HOST.name, { ocpus: CPU_HOST.ocpus }), {
      service: "compute",
      limitName: "standard-e4-core-count",
      unit: "OCPU",
      amount: CPU_HOST.ocpus,
    });
    assert.throws(() => limitNeed("VM.Standard.E4.Flex"), /flexible shape: .*--ocpus and --memory-gbs/);
  });

  test("a name that is no shape is not a limit (no prototype keys)", () => {
    assert.equal(limitNeed("constructor"), undefined);
    assert.equal(limitNeed("toString"), undefined);
  });
});

describe("a domain fits", () => {
  const limit = (available: number | undefined, needed: number) => ({
    name: "gpu-a10-count",
    unit: "GPU",
    available,
    needed,
  });

  test("with capacity and at least the limit one instance needs", () => {
    assert.equal(
      domainFits({ availabilityDomain: "AD-1", statuses: ["AVAILABLE"], limit: limit(2, 2) }),
      true,
    );
    assert.equal(
      domainFits({ availabilityDomain: "AD-1", statuses: ["AVAILABLE"], limit: limit(1, 2) }),
      false,
    );
    assert.equal(
      domainFits({ availabilityDomain: "AD-1", statuses: ["AVAILABLE"], limit: limit(0, 1) }),
      false,
    );
  });

  test("never without capacity, whatever the limit", () => {
    assert.equal(
      domainFits({ availabilityDomain: "AD-1", statuses: ["OUT_OF_HOST_CAPACITY"], limit: limit(8, 1) }),
      false,
    );
  });

  test("a limit not asked or not reported does not hold it back", () => {
    assert.equal(domainFits({ availabilityDomain: "AD-1", statuses: ["AVAILABLE"] }), true);
    assert.equal(
      domainFits({ availabilityDomain: "AD-1", statuses: ["AVAILABLE"], limit: limit(undefined, 1) }),
      true,
    );
  });
});

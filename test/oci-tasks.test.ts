// What `pulumi up` does through the OCI SDK (cli/oci-task.ts), with the SDK clients replaced by
// in-memory stand-ins for the OCI API only: the upload that skips what the bucket has, the
// termination that accepts every instance state, the command line of every task; and the bounded
// pack cache those uploads read from.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";

import { pruneArtifactCache } from "../components/artifact/pack-cache";
import { pickAvailabilityDomainCommand } from "../components/deployment/oci-task-commands";
import {
  Compute,
  findCachedZip,
  ObjectStore,
  pickAvailabilityDomain,
  terminateInstance,
  uploadArtifact,
} from "../operations/up-tasks/build-tasks";
import { PROJECT_DIR } from "./support/dev-stack";

const SHA = "c".repeat(64);

function bucket(
  initial: Record<string, number> = {},
): ObjectStore & { objects: Record<string, number>; uploads: string[] } {
  const objects = { ...initial };
  const uploads: string[] = [];
  return {
    objects,
    uploads,
    async headObject({ name }) {
      return objects[name];
    },
    async uploadFile({ name }, file) {
      uploads.push(file);
      objects[name] = (await import("node:fs")).statSync(file).size;
    },
  };
}

function cacheWithZip(bytes: number): { dir: string; zip: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "pack-cache-"));
  const zip = path.join(dir, "f1.zip");
  writeFileSync(zip, Buffer.alloc(bytes, 1));
  writeFileSync(
    path.join(dir, "f1.json"),
    JSON.stringify({ sha256: SHA, bytes, entries: 3, zipBytes: bytes }),
  );
  return { dir, zip };
}

const ARGS = {
  namespace: "ns",
  bucket: "b",
  object: `artifacts/triton-${SHA}.zip`,
  sha256: SHA,
  bytes: 4096,
};

describe("upload-artifact", () => {
  test("an object of the same name and size is not uploaded again (destroy then up, a teammate's run)", async () => {
    const store = bucket({ [ARGS.object]: 4096 });
    const message = await uploadArtifact(store, { ...ARGS, cacheDir: "/nonexistent" });
    assert.match(message, /already in the bucket \(4096 bytes\): not uploaded again/);
    assert.deepEqual(store.uploads, []);
  });

  test("a missing object is uploaded from the pack cache, found by its sha256, and checked after", async () => {
    const { dir, zip } = cacheWithZip(4096);
    const store = bucket();
    assert.match(await uploadArtifact(store, { ...ARGS, cacheDir: dir }), /uploaded .*f1\.zip/);
    assert.deepEqual(store.uploads, [zip]);
  });

  test("a torn object (other size) is uploaded again", async () => {
    const { dir } = cacheWithZip(4096);
    const store = bucket({ [ARGS.object]: 17 });
    await uploadArtifact(store, { ...ARGS, cacheDir: dir });
    assert.equal(store.objects[ARGS.object], 4096);
  });

  test("neither in the bucket nor on this machine: a clear error, nothing uploaded", async () => {
    await assert.rejects(
      uploadArtifact(bucket(), { ...ARGS, cacheDir: mkdtempSync(path.join(tmpdir(), "empty-")) }),
      /is not in the bucket and the zip with sha256 c{64} is not in .*: run 'pulumi up' on a machine that has engine\.prebuiltDir/,
    );
  });

  test("a zip whose index disagrees on size is not taken", () => {
    const { dir } = cacheWithZip(4096);
    writeFileSync(path.join(dir, "f1.json"), JSON.stringify({ sha256: SHA, zipBytes: 5 }));
    assert.equal(findCachedZip(dir, SHA), undefined);
  });
});

function compute(states: (string | undefined)[]): Compute & { terminated: string[] } {
  const terminated: string[] = [];
  let call = 0;
  return {
    terminated,
    async instanceState() {
      return states[Math.min(call++, states.length - 1)];
    },
    async terminate(id) {
      terminated.push(id);
    },
  };
}

describe("terminate-instance", () => {
  const fast = { pollMs: 1, timeoutMs: 1000 };

  test("a running instance is terminated and waited for", async () => {
    const c = compute(["RUNNING", "TERMINATING", "TERMINATED"]);
    assert.match(await terminateInstance(c, "i1", fast), /i1 terminated/);
    assert.deepEqual(c.terminated, ["i1"]);
  });

  test("already terminated, terminating or gone: nothing to call (the next run after a build)", async () => {
    for (const states of [["TERMINATED"], [undefined], ["TERMINATING", "TERMINATED"]]) {
      const c = compute(states);
      await terminateInstance(c, "i1", fast);
      assert.deepEqual(c.terminated, [], JSON.stringify(states));
    }
  });

  test("an instance that does not go away is reported, not waited on forever", async () => {
    await assert.rejects(
      terminateInstance(compute(["RUNNING"]), "i1", { pollMs: 1, timeoutMs: 5 }),
      /still RUNNING/,
    );
  });
});

describe("pick-availability-domain", () => {
  // As CreateComputeCapacityReport answers (oci-core model/capacity-report-shape-availability.d.ts).
  function reports(answers: Record<string, string[]>) {
    const asked: string[] = [];
    return {
      asked,
      async statuses(domain: string) {
        asked.push(domain);
        return answers[domain] ?? [];
      },
    };
  }

  // As GetResourceAvailability answers: `available` per domain (oci-limits
  // model/resource-availability.d.ts), undefined where OCI reports no figure.
  function limits(available: Record<string, number | undefined>) {
    const asked: string[] = [];
    return {
      asked,
      async available(domain: string, limit: { service: string; name: string }) {
        asked.push(`${domain} ${limit.service}/${limit.name}`);
        return available[domain];
      },
    };
  }

  // An SDK error as the client throws it: a message and the HTTP status (oci-common OciError).
  function failing(statusCode: number, message: string) {
    return {
      async available(): Promise<number | undefined> {
        throw Object.assign(new Error(message), { statusCode });
      },
    };
  }

  const A10 = { shape: "VM.GPU.A10.1", domains: ["AD-1", "AD-2", "AD-3"] };

  test("the first domain with room and limit, asking no further; each answer is said, and the choice", async () => {
    const capacity = reports({
      "AD-1": ["OUT_OF_HOST_CAPACITY"],
      "AD-2": ["AVAILABLE"],
      "AD-3": ["AVAILABLE"],
    });
    const limit = limits({ "AD-1": 4, "AD-2": 2, "AD-3": 2 });
    const said: string[] = [];
    const chosen = await pickAvailabilityDomain(capacity, limit, A10, (line) => said.push(line));
    assert.equal(chosen, "AD-2");
    assert.deepEqual(capacity.asked, ["AD-1", "AD-2"]);
    assert.deepEqual(limit.asked, ["AD-2 compute/gpu-a10-count"], "no limit asked where no host is free");
    assert.deepEqual(said, [
      "AD-1: VM.GPU.A10.1 OUT_OF_HOST_CAPACITY: skipped, no host capacity",
      "AD-2: VM.GPU.A10.1 AVAILABLE; gpu-a10-count 2 available, 1 GPU needed",
      "chose AD-2 for VM.GPU.A10.1",
    ]);
  });

  test("a domain with hosts but a GPU limit of 0 is passed over, saying why", async () => {
    const capacity = reports({ "AD-1": ["AVAILABLE"], "AD-2": ["AVAILABLE"] });
    const said: string[] = [];
    const chosen = await pickAvailabilityDomain(
      capacity,
      limits({ "AD-1": 0, "AD-2": 1 }),
      { shape: "VM.GPU.A10.1", domains: ["AD-1", "AD-2"] },
      (line) => said.push(line),
    );
    assert.equal(chosen, "AD-2");
    assert.equal(
      said[0],
      "AD-1: VM.GPU.A10.1 AVAILABLE; gpu-a10-count 0 available, 1 GPU needed: skipped, too little of the service limit left",
    );
  });

  test("a limit with fewer GPUs left than the shape takes holds the domain back", async () => {
    const limit = limits({ "AD-1": 1, "AD-2": 2 });
    const chosen = await pickAvailabilityDomain(
      reports({ "AD-1": ["AVAILABLE"], "AD-2": ["AVAILABLE"] }),
      limit,
      { shape: "VM.GPU.A10.2", domains: ["AD-1", "AD-2"] },
      () => undefined,
    );
    assert.equal(chosen, "AD-2", "VM.GPU.A10.2 takes 2 of gpu-a10-count");
  });

  test("the flexible assemble host is held to its OCPUs against the E4 core limit", async () => {
    const limit = limits({ "AD-1": 1, "AD-2": 2 });
    const said: string[] = [];
    const chosen = await pickAvailabilityDomain(
      reports({ "AD-1": ["AVAILABLE"], "AD-2": ["AVAILABLE"] }),
      limit,
      { shape: "VM.Standard.E4.Flex", shapeConfig: { ocpus: 2, memoryInGbs: 32 }, domains: ["AD-1", "AD-2"] },
      (line) => said.push(line),
    );
    assert.equal(chosen, "AD-2");
    assert.deepEqual(limit.asked, [
      "AD-1 compute/standard-e4-core-count",
      "AD-2 compute/standard-e4-core-count",
    ]);
    assert.match(said[0], /standard-e4-core-count 1 available, 2 OCPU needed: skipped/);
  });

  test("a flexible shape without its configuration is refused before any call", async () => {
    const capacity = reports({ "AD-1": ["AVAILABLE"] });
    await assert.rejects(
      pickAvailabilityDomain(
        capacity,
        limits({}),
        { shape: "VM.Standard.E4.Flex", domains: ["AD-1"] },
        () => undefined,
      ),
      /VM\.Standard\.E4\.Flex is a flexible shape: .*--ocpus and --memory-gbs/,
    );
    assert.deepEqual(capacity.asked, []);
  });

  test("a limit OCI keeps no figure for does not hold a domain back, and is said", async () => {
    const said: string[] = [];
    const chosen = await pickAvailabilityDomain(
      reports({ "AD-1": ["AVAILABLE"] }),
      limits({ "AD-1": undefined }),
      { shape: "VM.GPU.A10.1", domains: ["AD-1"] },
      (line) => said.push(line),
    );
    assert.equal(chosen, "AD-1");
    assert.match(said[0], /gpu-a10-count not reported \(not held against it\)/);
  });

  test("a shape with no known limit name is picked on capacity alone, saying so", async () => {
    const limit = limits({});
    const said: string[] = [];
    const chosen = await pickAvailabilityDomain(
      reports({ "AD-1": ["AVAILABLE"] }),
      limit,
      { shape: "BM.GPU.H100.8", domains: ["AD-1"] },
      (line) => said.push(line),
    );
    assert.equal(chosen, "AD-1");
    assert.deepEqual(limit.asked, []);
    assert.match(
      said[0],
      /BM\.GPU\.H100\.8: no Compute service limit name is known .*only host capacity is checked/,
    );
  });

  test("a refused limits call fails naming the IAM statement and the key that avoids it", async () => {
    for (const status of [401, 403, 404]) {
      await assert.rejects(
        pickAvailabilityDomain(
          reports({ "AD-1": ["AVAILABLE"] }),
          failing(status, "NotAuthorizedOrNotFound"),
          A10,
          () => undefined,
        ),
        new RegExp(
          `compute/gpu-a10-count in AD-1 could not be read \\(NotAuthorizedOrNotFound, HTTP ${status}\\): .*allow group <deployers> to inspect resource-availability in tenancy .*build\\.availabilityDomain`,
        ),
      );
    }
  });

  test("a limits call that fails otherwise names the failure, not a grant", async () => {
    await assert.rejects(
      pickAvailabilityDomain(
        reports({ "AD-1": ["AVAILABLE"] }),
        failing(500, "InternalError"),
        A10,
        () => undefined,
      ),
      (error: Error) => {
        assert.match(error.message, /could not be read \(InternalError, HTTP 500\): run 'pulumi up' again/);
        assert.doesNotMatch(error.message, /inspect resource-availability/);
        return true;
      },
    );
  });

  test("a refused report fails naming the grant and the key that avoids it", async () => {
    const refusing = {
      async statuses(): Promise<string[]> {
        throw new Error("NotAuthorizedOrNotFound");
      },
    };
    await assert.rejects(
      pickAvailabilityDomain(
        refusing,
        limits({}),
        { shape: "VM.GPU.A10.1", domains: ["AD-1"] },
        () => undefined,
      ),
      /AD-1 failed \(NotAuthorizedOrNotFound\): allow .* compute-capacity-reports .* build\.availabilityDomain/,
    );
  });

  test("no room anywhere fails naming each domain's answer and build.availabilityDomain", async () => {
    await assert.rejects(
      pickAvailabilityDomain(
        reports({ "AD-1": ["OUT_OF_HOST_CAPACITY"], "AD-2": [] }),
        limits({}),
        { shape: "VM.GPU.A10.1", domains: ["AD-1", "AD-2"] },
        () => undefined,
      ),
      /AD-1: OUT_OF_HOST_CAPACITY; AD-2: no answer\).*build\.availabilityDomain/,
    );
  });

  test("hosts but no limit anywhere fails naming each domain's limit and the limit increase", async () => {
    await assert.rejects(
      pickAvailabilityDomain(
        reports({ "AD-1": ["AVAILABLE"], "AD-2": ["OUT_OF_HOST_CAPACITY"] }),
        limits({ "AD-1": 0 }),
        { shape: "VM.GPU.A10.1", domains: ["AD-1", "AD-2"] },
        () => undefined,
      ),
      /no availability domain has both capacity and service limit for VM\.GPU\.A10\.1 now \(AD-1: AVAILABLE, gpu-a10-count 0 available, 1 GPU needed; AD-2: OUT_OF_HOST_CAPACITY\): ask for a service limit increase .*build\.availabilityDomain/,
    );
  });
});

describe("oci-task CLI", () => {
  const run = (...args: string[]) => runWith({}, ...args);
  const runWith = (env: Record<string, string>, ...args: string[]) => {
    try {
      execFileSync(process.execPath, ["--import", "tsx", "cli/oci-task.ts", ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { code: 0, stderr: "" };
    } catch (error) {
      const e = error as { status: number; stderr: string };
      return { code: e.status, stderr: e.stderr };
    }
  };

  test("usage mistakes exit 2 naming the argument", () => {
    const missing = run("create-catalog-model", "--region", "us-ashburn-1", "--bytes", "5");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--compartment-id is required/);
    const noPolicy = run("wait-for-policies", "--region", "us-ashburn-1");
    assert.equal(noPolicy.code, 2);
    assert.match(noPolicy.stderr, /--policy is required/);
    assert.match(
      run("wait-for-policies", "--region", "r", "--policy", "{id").stderr,
      /--policy must be JSON/,
    );
    assert.equal(run("upload-artifact", "--region", "r", "--bytes", "many").code, 2);
    assert.match(run("frobnicate", "--region", "r").stderr, /unknown task 'frobnicate'/);
    const pick = [
      "pick-availability-domain",
      "--region",
      "r",
      "--tenancy-id",
      "t",
      "--shape",
      "VM.GPU.A10.1",
    ];
    assert.match(run(...pick).stderr, /--availability-domain is required/);
    assert.equal(run(...pick).code, 2);
    assert.match(
      run(...pick, "--availability-domain", "AD-1", "--ocpus", "2").stderr,
      /--ocpus and --memory-gbs go together/,
    );
  });

  test("the command the build component runs parses: an absent profile is its only problem", () => {
    const config = path.join(mkdtempSync(path.join(tmpdir(), "oci-config-")), "absent");
    const command = pickAvailabilityDomainCommand({
      shape: "VM.Standard.E4.Flex",
      shapeConfig: { ocpus: 2, memoryInGbs: 32 },
      domains: ["Uocm:US-ASHBURN-AD-1", "Uocm:US-ASHBURN-AD-2"],
      region: "us-ashburn-1",
    });
    try {
      execFileSync("bash", ["-c", command], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, TENANCY_ID: "ocid1.tenancy.oc1..x", OCI_CLI_CONFIG_FILE: config },
        stdio: ["ignore", "pipe", "pipe"],
      });
      assert.fail("no profile, no capacity report");
    } catch (error) {
      const e = error as { status: number; stderr: string };
      assert.equal(e.status, 1, e.stderr);
      assert.match(e.stderr, /cannot be used: File does not exists/);
    }
  });

  test("an unusable OCI profile exits 1 before any call, naming the file, the profile and the stack setting", () => {
    const config = path.join(mkdtempSync(path.join(tmpdir(), "oci-config-")), "absent");
    const result = runWith(
      { OCI_CLI_CONFIG_FILE: config },
      "terminate-instance",
      "--instance-id",
      "ocid1.instance.oc1..x",
      "--region",
      "us-ashburn-1",
      "--profile",
      "BUILD",
    );
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `oci-task: OCI profile 'BUILD' in ${config} cannot be used: File does not exists at ${config}. Fix: run 'oci setup config', or set oci:configFileProfile (and OCI_CLI_CONFIG_FILE) to a profile with user, fingerprint, key_file, tenancy and region\n`,
    );
  });
});

describe("pack cache bound", () => {
  function entry(dir: string, name: string, bytes: number, usedAt: number): string {
    const zip = path.join(dir, `${name}.zip`);
    writeFileSync(zip, Buffer.alloc(bytes));
    const index = path.join(dir, `${name}.json`);
    writeFileSync(index, JSON.stringify({ zipBytes: bytes }));
    utimesSync(index, usedAt, usedAt);
    return zip;
  }

  test("least recently used zips go first until the bound holds; the one in use stays; torn zips go", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "prune-"));
    mkdirSync(path.join(dir, "staging"));
    const old = entry(dir, "old", 400, 1000);
    const mid = entry(dir, "mid", 400, 2000);
    const current = entry(dir, "current", 400, 500);
    writeFileSync(path.join(dir, "torn.zip"), Buffer.alloc(10));
    const removed = pruneArtifactCache(dir, 900, current);
    assert.deepEqual(removed.map((p) => path.basename(p)).sort(), ["old.zip", "torn.zip"]);
    assert.ok(existsSync(mid) && existsSync(current) && !existsSync(old));
    assert.ok(existsSync(path.join(dir, "staging")), "the staging folder is not the cache's to prune");
    assert.deepEqual(
      pruneArtifactCache(dir, 10, current).map((p) => path.basename(p)),
      ["mid.zip"],
    );
    assert.ok(existsSync(current), "the zip in use survives even over the bound");
  });
});

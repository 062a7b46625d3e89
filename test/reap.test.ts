import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AuthOptions } from "../operations/oci-client";
import { commandExitCode, parseCommandLine } from "../cli/args";
import { reapCommand, reapMain, reapOptions } from "../cli/reap";
import { expiry, reap, type ReapOptions } from "../operations/reap/reap";
import {
  type CloudResources,
  iamPolicyQuery,
  reapQuery,
  type TaggedResource,
} from "../operations/reap/build-resources";
import { pulumiFailure } from "../operations/stacks";
import { captureIo } from "./support/capture-io";
import { scratchDir } from "./support/scratch";
import { FakeStacks, type FakeStacksOptions } from "./support/fake-stacks";

const NOW = new Date("2026-03-01T12:00:00Z");

const STACKS: FakeStacksOptions["stacks"] = {
  "eval-a10": { expiresAt: "2026-03-01T11:59:59Z", estimatedUsdPerHour: 2, predictUrl: "https://x/predict" },
  "eval-h100": { expiresAt: "2026-02-28T08:00:00Z", estimatedUsdPerHour: 80 },
  "eval-later": { expiresAt: "2026-03-01T12:00:01Z", estimatedUsdPerHour: 2 },
  prod: { estimatedUsdPerHour: 4, predictUrl: "https://x/predict" },
};

/**
 * Resource Search, the IAM reads and the delete calls, standing in for the OCI API: results shaped
 * as the SDK's `ResourceSummary` (oci-resourcesearch 2.139.1 lib/model/resource-summary.d.ts);
 * `failures` maps an id to the HTTP status its delete answers; `iam` is what the home region holds,
 * `home` the home region (or why it cannot be read). A delete sent to another region than the
 * reaped one is recorded with ` @<region>`.
 */
class FakeCloud implements CloudResources {
  readonly queries: string[] = [];
  readonly removed: string[] = [];
  /** The regions the IAM was read in. */
  readonly iamReads: string[] = [];
  constructor(
    readonly resources: TaggedResource[],
    readonly failures: Record<string, number> = {},
    readonly options: { iam?: TaggedResource[]; home?: string | Error } = {},
  ) {}
  async search(query: string) {
    this.queries.push(query);
    return this.resources;
  }
  async homeRegion() {
    const home = this.options.home ?? "eu-frankfurt-1";
    if (home instanceof Error) throw home;
    return home;
  }
  async identityResources(region: string) {
    this.iamReads.push(region);
    return this.options.iam ?? [];
  }
  async remove(type: string, id: string, region?: string) {
    if (id in this.failures)
      throw Object.assign(new Error(`status ${this.failures[id]}`), { statusCode: this.failures[id] });
    this.removed.push(region === undefined ? `${type} ${id}` : `${type} ${id} @${region}`);
  }
}

const tagged = (stack: string, expiresAt?: string, project = "triton-trtllm-oci") => ({
  project,
  stack,
  "managed-by": "pulumi",
  ...(expiresAt === undefined ? {} : { "expires-at": expiresAt }),
});

const BUILD_RESOURCES: TaggedResource[] = [
  {
    resourceType: "Vcn",
    identifier: "vcn1",
    displayName: "engine-vcn",
    lifecycleState: "AVAILABLE",
    freeformTags: tagged("prod", "2026-03-01T09:00:00Z"),
  },
  {
    resourceType: "Subnet",
    identifier: "sn1",
    displayName: "engine-subnet",
    lifecycleState: "AVAILABLE",
    freeformTags: tagged("prod", "2026-03-01T09:00:00Z"),
  },
  {
    resourceType: "Instance",
    identifier: "i1",
    displayName: "engine",
    lifecycleState: "RUNNING",
    freeformTags: tagged("prod", "2026-03-01T09:00:00Z"),
  },
  {
    resourceType: "Bastion",
    identifier: "b1",
    displayName: "engine-bastion",
    lifecycleState: "ACTIVE",
    freeformTags: tagged("prod", "2026-03-01T09:00:00Z"),
  },
  {
    resourceType: "Instance",
    identifier: "i2",
    displayName: "engine",
    lifecycleState: "RUNNING",
    freeformTags: tagged("eval-later", "2026-03-01T18:00:00Z"),
  },
  {
    resourceType: "Instance",
    identifier: "i3",
    displayName: "engine",
    lifecycleState: "RUNNING",
    freeformTags: tagged("dev"),
  },
  {
    resourceType: "Instance",
    identifier: "i4",
    displayName: "engine",
    lifecycleState: "TERMINATED",
    freeformTags: tagged("dev", "2026-02-01T00:00:00Z"),
  },
  {
    resourceType: "Instance",
    identifier: "x1",
    displayName: "other",
    lifecycleState: "RUNNING",
    freeformTags: tagged("dev", "2026-02-01T00:00:00Z", "someone-else"),
  },
];

/**
 * The build instance's IAM in the home region (components/engine-build.ts: a dynamic group in the
 * tenancy and a policy of the same name in the stack's compartment), as `identityResources` hands it
 * over: the dynamic group from IAM's list call, the policy from Resource Search.
 */
const BUILD_IAM: TaggedResource[] = [
  {
    resourceType: "DynamicGroup",
    identifier: "dg1",
    displayName: "triton-trtllm-oci-prod-engine-abcdefgh",
    lifecycleState: "ACTIVE",
    freeformTags: tagged("prod", "2026-03-01T09:00:00Z"),
  },
  {
    resourceType: "Policy",
    identifier: "p1",
    displayName: "triton-trtllm-oci-prod-engine-abcdefgh",
    lifecycleState: "ACTIVE",
    freeformTags: tagged("prod", "2026-03-01T09:00:00Z"),
  },
  {
    resourceType: "DynamicGroup",
    identifier: "dg2",
    displayName: "triton-trtllm-oci-eval-later-engine-12345678",
    lifecycleState: "ACTIVE",
    freeformTags: tagged("eval-later", "2026-03-01T18:00:00Z"),
  },
  {
    resourceType: "DynamicGroup",
    identifier: "dg3",
    displayName: "someone-elses-group",
    lifecycleState: "ACTIVE",
    freeformTags: tagged("prod", "2026-02-01T00:00:00Z", "someone-else"),
  },
];

/** What `--yes` makes of the options: act. */
const YES = { dryRun: false } as const;

/** The operation as cli/reap.ts calls it, with the flags' defaults: a dry run. */
async function runReap(
  overrides: Partial<ReapOptions>,
  options: Partial<FakeStacksOptions> = {},
  cloud: FakeCloud = new FakeCloud([]),
  connections: { auth: AuthOptions; region: string | undefined }[] = [],
) {
  const stacks = new FakeStacks({ stacks: STACKS, ...options });
  const io = captureIo(process.cwd());
  const succeeded = await reap(
    { dryRun: true, pattern: "*", auth: { method: "api_key" }, ...overrides },
    {
      output: io,
      backend: stacks,
      now: () => NOW,
      connect: async (auth, region) => {
        connections.push({ auth, region });
        return cloud;
      },
    },
  );
  return { succeeded, out: io.out(), err: io.err(), calls: stacks.calls };
}

describe("reap", () => {
  it("with --yes: destroys expired stacks, keeps unexpired ones and never touches stacks without expiresAt", async () => {
    const run = await runReap(YES);
    assert.equal(run.succeeded, true, run.err);
    assert.deepEqual(
      run.calls.filter((call) => call.startsWith("destroy")),
      ["destroy eval-a10", "destroy eval-h100"],
    );
    assert.match(run.out, /^destroyed {6}eval-a10: expired at 2026-03-01T11:59:59Z \(2 USD\/h\)$/m);
    assert.match(run.out, /^destroyed {6}eval-h100: expired at 2026-02-28T08:00:00Z \(80 USD\/h\)$/m);
    assert.match(run.out, /^kept {11}eval-later: expires at 2026-03-01T12:00:01Z$/m);
    assert.match(run.out, /^kept {11}prod: no expiresAt output \(no evaluation.ttlHours\): never reaped$/m);
    assert.match(run.out, /^destroyed 2 stack\(s\), stopping 82 USD\/h$/m);
  });

  it("by default lists what would go, destroys nothing and says --yes acts", async () => {
    const run = await runReap({});
    assert.equal(run.succeeded, true);
    assert.equal(run.calls.filter((call) => call.startsWith("destroy")).length, 0);
    assert.match(run.out, /^would destroy {2}eval-a10: expired at .* \(2 USD\/h\)$/m);
    assert.match(run.out, /^dry run: 2 stack\(s\) would be destroyed, nothing was \(--yes destroys them\)$/m);
  });

  it("--stacks limits the stacks considered to a glob", async () => {
    const run = await runReap({ ...YES, pattern: "*-h100" });
    assert.deepEqual(run.calls, ["list", "outputs eval-h100", "destroy eval-h100"]);
  });

  it("a destroy that fails exits 1 naming the stack still running and its cost", async () => {
    const run = await runReap({ ...YES, pattern: "eval-a10" }, { destroyFailures: 1 });
    assert.equal(run.succeeded, false);
    assert.match(
      run.out,
      /^destroy failed {1}eval-a10: expired at .*; error: the model deployment is being updated/m,
    );
    assert.equal(
      run.err,
      "error: eval-a10 is still running (2 USD/h). Fix: pulumi destroy --stack eval-a10\n",
    );
  });

  it("an unreadable or malformed expiresAt is left alone", () => {
    assert.deepEqual(expiry({ expiresAt: "next tuesday" }, NOW), {
      expired: false,
      reason: 'expiresAt "next tuesday" is not a date: left alone',
    });
    assert.equal(expiry({ expiresAt: 1 }, NOW).expired, false);
    assert.equal(
      expiry({ expiresAt: "2026-03-01T12:00:00Z" }, NOW).expired,
      true,
      "expiry at now has passed",
    );
  });
});

describe("reap: the command line (cli/reap.ts)", () => {
  const commandLine = async (argv: string[]) => {
    const io = captureIo(process.cwd());
    const code = await commandExitCode(reapCommand, reapMain, argv, io);
    return { code, out: io.out(), err: io.err() };
  };

  it("usage mistakes exit 2 before any stack is read; --help prints the usage and exits 0", async () => {
    for (const argv of [
      ["--dryrun"],
      ["extra"],
      ["--auth", "password"],
      ["--yes", "--dry-run"],
      ["--yes=no"],
    ]) {
      const run = await commandLine(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.match(run.err, /usage: npm run -s reap/);
      assert.equal(run.out, "");
    }
    assert.match((await commandLine(["extra"])).err, /^unexpected argument 'extra'\n/);
    assert.match(
      (await commandLine(["--dry-run", "--yes"])).err,
      /^--yes and --dry-run contradict each other: pass --yes to act, nothing for a dry run\n/,
    );
    const help = await commandLine(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /^usage: npm run -s reap -- \[--yes\] \[--stacks <glob>\]/);
    assert.match(
      help.out,
      /^ {2}\(default\) {10}a dry run: list what would be destroyed and deleted, touch nothing$/m,
    );
  });

  const parse = (argv: string[]) => {
    const parsed = parseCommandLine(reapCommand, argv);
    assert.ok(parsed);
    return reapOptions(parsed, "/home/me/work");
  };

  it("only --yes acts: no flag and --dry-run are dry runs", () => {
    assert.equal(parse([]).dryRun, true);
    assert.equal(parse(["--dry-run"]).dryRun, true);
    assert.equal(parse(["--yes"]).dryRun, false);
  });

  it("a bare command line destroys and deletes nothing, though everything has expired", async () => {
    const stacks = new FakeStacks({ stacks: STACKS });
    const cloud = new FakeCloud(BUILD_RESOURCES, {}, { iam: BUILD_IAM });
    const io = captureIo(process.cwd());
    const succeeded = await reap(parse([]), {
      output: io,
      backend: stacks,
      now: () => NOW,
      connect: async () => cloud,
    });
    assert.equal(succeeded, true, io.err());
    assert.deepEqual(
      stacks.calls.filter((call) => call.startsWith("destroy")),
      [],
    );
    assert.deepEqual(cloud.removed, []);
    assert.match(io.out(), /^would delete {3}Policy /m);
    assert.match(
      io.out(),
      /^dry run: 6 build resource\(s\) would be deleted, nothing was \(--yes deletes them\)$/m,
    );
  });

  it("the flags become the operation's options: the search goes where they say", () => {
    const options = parse(["--yes", "--stacks", "eval-*", "--region", "eu-frankfurt-1", "--profile", "CI"]);
    assert.equal(options.dryRun, false);
    assert.equal(options.pattern, "eval-*");
    assert.equal(options.region, "eu-frankfurt-1");
    assert.equal(options.auth.profile, "CI");
    assert.equal(options.auth.method, "api_key");
    const defaults = parse([]);
    assert.equal(defaults.dryRun, true, "a dry run unless --yes");
    assert.equal(defaults.pattern, "*", "every stack of the project");
    assert.equal(defaults.region, undefined);
  });
});

describe("reap: the build hosts' resources", () => {
  it("judges a host launched again for the same key by its age: a carried-over expiry does not reap it", async () => {
    const relaunched: TaggedResource = {
      resourceType: "Instance",
      identifier: "i9",
      displayName: "engine",
      lifecycleState: "RUNNING",
      freeformTags: tagged("dev", "2026-03-01T09:00:00Z"),
      timeCreated: "2026-03-01T11:00:00Z",
    };
    const old = { ...relaunched, identifier: "i8", timeCreated: new Date("2026-02-28T21:00:00Z") };
    const cloud = new FakeCloud([relaunched, old]);
    const run = await runReap(YES, {}, cloud);
    assert.equal(run.succeeded, true, run.err);
    assert.deepEqual(cloud.removed, ["Instance i8"]);
    assert.match(
      run.out,
      /^kept {11}Instance engine \(i9\), stack dev: expired at 2026-03-01T09:00:00Z, but created 2026-03-01T11:00:00.000Z, less than 12 h ago$/m,
    );
  });

  it("deletes what expired by its own tag, prod stacks included, instances first and the VCN last", async () => {
    const cloud = new FakeCloud(BUILD_RESOURCES);
    const run = await runReap({ ...YES, pattern: "none" }, {}, cloud);
    assert.equal(run.succeeded, true, run.err);
    assert.deepEqual(cloud.queries, [reapQuery()]);
    assert.deepEqual(cloud.removed, []);
    const all = await runReap(YES, {}, cloud);
    assert.equal(all.succeeded, true, all.err);
    assert.deepEqual(cloud.removed, ["Instance i1", "Bastion b1", "Subnet sn1", "Vcn vcn1"]);
    assert.match(
      all.out,
      /^deleted {8}Instance engine \(i1\), stack prod: expired at 2026-03-01T09:00:00Z$/m,
    );
    assert.match(
      all.out,
      /^kept {11}Instance engine \(i2\), stack eval-later: expires at 2026-03-01T18:00:00Z$/m,
    );
    assert.match(all.out, /^kept {11}Instance engine \(i3\), stack dev: no expires-at tag: never reaped$/m);
    assert.doesNotMatch(all.out, /i4|x1/, "terminated ones and other projects' are not listed");
    assert.match(all.out, /^deleted 4 build resource\(s\); 0 still in use, for a later run$/m);
  });

  it("the query asks Resource Search for the project's tag over every reaped type", () => {
    assert.equal(
      reapQuery(),
      "query instance, bastion, subnet, routetable, securitylist, internetgateway, natgateway, servicegateway, vcn resources where (freeformTags.key = 'project' && freeformTags.value = 'triton-trtllm-oci')",
    );
  });

  it("a dry run deletes nothing and says what would go; --stacks limits it by the stack tag", async () => {
    const cloud = new FakeCloud(BUILD_RESOURCES);
    const run = await runReap({ dryRun: true }, {}, cloud);
    assert.equal(run.succeeded, true);
    assert.deepEqual(cloud.removed, []);
    assert.match(run.out, /^would delete {3}Bastion engine-bastion \(b1\), stack prod: expired at/m);
    assert.match(
      run.out,
      /^dry run: 4 build resource\(s\) would be deleted, nothing was \(--yes deletes them\)$/m,
    );
    const limited = await runReap({ dryRun: true, pattern: "eval-*" }, {}, cloud);
    assert.match(limited.out, /^dry run: 0 build resource\(s\) would be deleted/m);
  });

  it("a resource still in use (409) waits for a later run; any other failure exits 1 naming it", async () => {
    const busy = await runReap(YES, {}, new FakeCloud(BUILD_RESOURCES, { sn1: 409, vcn1: 409 }));
    assert.equal(busy.succeeded, true, busy.err);
    assert.match(
      busy.out,
      /^in use {9}Subnet engine-subnet \(sn1\), stack prod: expired at .*; still in use, deleted on a later run$/m,
    );
    assert.match(busy.out, /^deleted 2 build resource\(s\); 2 still in use, for a later run$/m);
    const broken = await runReap(YES, {}, new FakeCloud(BUILD_RESOURCES, { i1: 500 }));
    assert.equal(broken.succeeded, false);
    assert.match(broken.err, /^error: Instance i1 was not deleted: expired at .*; status 500$/m);
  });

  it("the search goes where the flags say; without a usable profile the stacks are still reaped", async () => {
    const connections: { auth: AuthOptions; region: string | undefined }[] = [];
    const auth = { method: "api_key", profile: "CI" } as const;
    await runReap({ dryRun: true, region: "eu-frankfurt-1", auth }, {}, undefined, connections);
    assert.equal(connections[0].region, "eu-frankfurt-1");
    assert.equal(connections[0].auth, auth);
    const stacks = new FakeStacks({ stacks: STACKS });
    const io = captureIo(process.cwd());
    const succeeded = await reap(
      { dryRun: false, pattern: "*", auth: { method: "api_key" } },
      {
        output: io,
        backend: stacks,
        now: () => NOW,
        connect: async () => {
          throw new Error("OCI profile 'DEFAULT' in ~/.oci/config cannot be used");
        },
      },
    );
    assert.equal(succeeded, false);
    assert.ok(stacks.calls.includes("destroy eval-a10"));
    assert.match(io.err(), /^error: build resources were not checked: OCI profile 'DEFAULT'/m);
  });
});

describe("reap: the build instance's dynamic group and policy", () => {
  it("go first, the policy before the group it names, in the home region whatever --region says", async () => {
    const cloud = new FakeCloud(BUILD_RESOURCES, {}, { iam: BUILD_IAM, home: "eu-frankfurt-1" });
    const connections: { auth: AuthOptions; region: string | undefined }[] = [];
    const run = await runReap({ ...YES, region: "us-ashburn-1" }, {}, cloud, connections);
    assert.equal(run.succeeded, true, run.err);
    assert.equal(
      connections[0].region,
      "us-ashburn-1",
      "the build resources are searched where --region says",
    );
    assert.deepEqual(cloud.iamReads, ["eu-frankfurt-1"], "the IAM is read in the home region");
    assert.deepEqual(cloud.removed, [
      "Policy p1 @eu-frankfurt-1",
      "DynamicGroup dg1 @eu-frankfurt-1",
      "Instance i1",
      "Bastion b1",
      "Subnet sn1",
      "Vcn vcn1",
    ]);
    assert.match(
      run.out,
      /^deleted {8}DynamicGroup triton-trtllm-oci-prod-engine-abcdefgh \(dg1\), stack prod: expired at 2026-03-01T09:00:00Z$/m,
    );
    assert.match(
      run.out,
      /^kept {11}DynamicGroup .* \(dg2\), stack eval-later: expires at 2026-03-01T18:00:00Z$/m,
    );
    assert.doesNotMatch(run.out, /dg3/, "another project's group is not listed");
    assert.match(run.out, /^deleted 6 build resource\(s\); 0 still in use, for a later run$/m);
  });

  it("Resource Search is asked for the project's policies by their type name", () => {
    assert.equal(
      iamPolicyQuery(),
      "query policy resources where (freeformTags.key = 'project' && freeformTags.value = 'triton-trtllm-oci')",
    );
  });

  it("an IAM delete that fails exits 1 naming it; the build resources are still deleted", async () => {
    const cloud = new FakeCloud(BUILD_RESOURCES, { p1: 500 }, { iam: BUILD_IAM });
    const run = await runReap(YES, {}, cloud);
    assert.equal(run.succeeded, false);
    assert.match(run.err, /^error: Policy p1 was not deleted: expired at .*; status 500$/m);
    assert.deepEqual(cloud.removed, [
      "DynamicGroup dg1 @eu-frankfurt-1",
      "Instance i1",
      "Bastion b1",
      "Subnet sn1",
      "Vcn vcn1",
    ]);
  });

  it("an unknown home region fails the run naming why, after the build resources were reaped", async () => {
    const why = new Error(
      "this authentication method names no tenancy, so the tenancy's home region (where the build's dynamic group and policy live) is unknown. Fix: run reap with --auth api_key or --auth security_token",
    );
    const cloud = new FakeCloud(BUILD_RESOURCES, {}, { iam: BUILD_IAM, home: why });
    const run = await runReap(YES, {}, cloud);
    assert.equal(run.succeeded, false);
    assert.deepEqual(cloud.iamReads, []);
    assert.deepEqual(cloud.removed, ["Instance i1", "Bastion b1", "Subnet sn1", "Vcn vcn1"]);
    assert.equal(
      run.err,
      `error: the builds' dynamic groups and policies were not checked: ${why.message}\n`,
    );
  });
});

describe("reap edge cases", () => {
  it("a stack whose outputs cannot be read is skipped, not destroyed", async () => {
    const stacks = new FakeStacks({ stacks: { broken: {} } });
    stacks.outputs = async () => {
      throw new Error("error: could not decrypt configuration value");
    };
    const io = captureIo(process.cwd());
    const succeeded = await reap(
      { dryRun: false, pattern: "*", auth: { method: "api_key" } },
      { output: io, backend: stacks, now: () => NOW, connect: async () => new FakeCloud([]) },
    );
    assert.equal(succeeded, true);
    assert.match(
      io.out(),
      /^skipped {8}broken: outputs unreadable: error: could not decrypt configuration value$/m,
    );
    assert.deepEqual(stacks.calls, ["list"]);
  });
});

describe("the Automation API backend", () => {
  it("without the Pulumi CLI, reap says to install it in one line", async () => {
    const path = process.env.PATH;
    process.env.PATH = scratchDir("no-pulumi-");
    try {
      const io = captureIo(process.cwd());
      const code = await commandExitCode(reapCommand, reapMain, [], io);
      assert.equal(code, 1);
      assert.equal(
        io.err(),
        "error: pulumi stack ls failed: the Pulumi CLI is not installed or not on PATH (the Automation API runs it). Fix: install it, https://www.pulumi.com/docs/install/\n",
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it("a failed CLI run is reduced to its stderr", () => {
    const message =
      "code: 255\n stdout: \n stderr: error: no stack named 'dev' found\n\n err?: Error: Command failed with exit code 255\n";
    assert.equal(pulumiFailure(new Error(message)), "error: no stack named 'dev' found");
    assert.equal(pulumiFailure(new Error("plain")), "plain");
  });
});

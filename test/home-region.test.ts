// IAM in the tenancy's home region: which region `identity.getRegionSubscriptions` marks as home, the
// provider the identity resources then go through (the stack's OCI settings, the home region), and
// what the dev stack registers when its region is the home region (no new provider: existing stacks
// keep theirs) or another (every dynamic group and policy, and nothing else, through the new one).

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import { homeRegionOf, homeRegionProviderArgs } from "../components/deployment/home-region";
import { devStackInvokes, devStackLaunchOptions, PROJECT } from "./support/dev-stack";
import { launchProgram, type LaunchResult, type RegisteredResource } from "./support/pulumi-host";

const TIMEOUT_MS = 120_000;
const IDENTITY = ["oci:Identity/dynamicGroup:DynamicGroup", "oci:Identity/policy:Policy"];
const PROVIDER = "pulumi:providers:oci";
const SUBSCRIPTIONS = "oci:Identity/getRegionSubscriptions:getRegionSubscriptions";

describe("homeRegionOf", () => {
  test("the one subscription marked home", () => {
    assert.equal(
      homeRegionOf([
        { regionName: "us-ashburn-1", isHomeRegion: false },
        { regionName: "eu-frankfurt-1", isHomeRegion: true },
      ]),
      "eu-frankfurt-1",
    );
  });

  test("none readable, or no home: an error that names the setting to use", () => {
    assert.throws(() => homeRegionOf([]), /0 home regions.*no subscription readable.*set iam\.homeRegion/);
    assert.throws(
      () => homeRegionOf([{ regionName: "us-ashburn-1", isHomeRegion: false }]),
      /0 home regions, not one \(us-ashburn-1\)/,
    );
  });
});

describe("homeRegionProviderArgs", () => {
  test("the stack's OCI settings, typed as the provider takes them, with the home region", () => {
    const args = homeRegionProviderArgs(
      {
        region: "us-ashburn-1",
        auth: "SecurityToken",
        configFileProfile: "build-team",
        privateKeyPath: "~/.oci/key.pem",
        retryDurationSeconds: "120",
        disableAutoRetries: "false",
        ignoreDefinedTags: '["Oracle-Tags.CreatedBy"]',
      },
      "us-phoenix-1",
    );
    assert.deepEqual(args, {
      region: "us-phoenix-1",
      auth: "SecurityToken",
      configFileProfile: "build-team",
      privateKeyPath: "~/.oci/key.pem",
      retryDurationSeconds: 120,
      disableAutoRetries: false,
      ignoreDefinedTags: ["Oracle-Tags.CreatedBy"],
    });
  });

  test("a key the provider does not have is not passed on", () => {
    assert.deepEqual(homeRegionProviderArgs({ regoin: "x" }, "us-phoenix-1"), { region: "us-phoenix-1" });
  });
});

function identityResources(result: LaunchResult): RegisteredResource[] {
  return result.resources.filter((r) => IDENTITY.includes(r.type));
}

async function preview(homeRegion: string, overrides: Record<string, string> = {}) {
  const options = await devStackLaunchOptions(overrides);
  const result = await launchProgram({
    ...options,
    invokes: devStackInvokes({ exists: false }, { homeRegion }),
    timeoutMs: TIMEOUT_MS,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  return result;
}

describe("the dev stack's IAM", { timeout: TIMEOUT_MS * 4 }, () => {
  let home: LaunchResult;
  let elsewhere: LaunchResult;
  before(async () => {
    home = await preview("us-ashburn-1");
    elsewhere = await preview("us-phoenix-1", { "oci:configFileProfile": "build-team" });
  });

  test("in the home region: the default provider, as before, for all of it", () => {
    assert.deepEqual(
      home.resources.filter((r) => r.type === PROVIDER && r.name === "home-region"),
      [],
    );
    const identity = identityResources(home);
    assert.equal(identity.length, 5, identity.map((r) => r.name).join(", "));
    const bucket = home.resources.find((r) => r.type === "oci:ObjectStorage/bucket:Bucket");
    assert.ok(bucket);
    for (const r of identity) assert.equal(r.provider, bucket.provider, `${r.name} keeps its provider`);
    assert.ok(home.invokes.some((i) => i.token === SUBSCRIPTIONS));
  });

  test("outside it: one provider for the home region, with the stack's OCI settings", () => {
    const providers = elsewhere.resources.filter((r) => r.type === PROVIDER && r.name === "home-region");
    assert.equal(providers.length, 1);
    assert.equal(providers[0].inputs.region, "us-phoenix-1");
    assert.equal(providers[0].inputs.configFileProfile, "build-team");
    const logs = elsewhere.logs.map((l) => l.message).join("\n");
    assert.match(
      logs,
      /IAM: written in the tenancy's home region us-phoenix-1, the stack runs in us-ashburn-1/,
    );
  });

  test("outside it: every dynamic group and policy goes through it, nothing else does", () => {
    const provider = elsewhere.resources.find((r) => r.type === PROVIDER && r.name === "home-region");
    assert.ok(provider);
    const identity = identityResources(elsewhere);
    assert.deepEqual(identity.map((r) => r.name).sort(), [
      "engine-dg",
      "engine-policy",
      "iam-deployment",
      "iam-dg",
      "iam-services",
    ]);
    for (const r of identity)
      assert.ok(r.provider.startsWith(`${provider.urn}::`), `${r.name}: ${r.provider}`);
    for (const r of elsewhere.resources.filter((r) => r.custom && !IDENTITY.includes(r.type)))
      assert.ok(!r.provider.startsWith(provider.urn), `${r.urn} stays in the stack's region`);
  });

  test("iam.homeRegion names it without the lookup", async () => {
    const result = await preview("us-ashburn-1", {
      [`${PROJECT}:iam`]: JSON.stringify({ create: true, homeRegion: "eu-frankfurt-1" }),
    });
    assert.equal(
      result.invokes.some((i) => i.token === SUBSCRIPTIONS),
      false,
    );
    const provider = result.resources.find((r) => r.type === PROVIDER && r.name === "home-region");
    assert.equal(provider?.inputs.region, "eu-frankfurt-1");
  });

  test("a malformed iam.homeRegion is refused before any resource, naming the key", async () => {
    const options = await devStackLaunchOptions({
      [`${PROJECT}:iam`]: JSON.stringify({ homeRegion: "Frankfurt" }),
    });
    const result = await launchProgram({ ...options, timeoutMs: TIMEOUT_MS });
    assert.notEqual(result.exitCode, 0);
    const errors = result.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    assert.match(errors, /iam\.homeRegion = "Frankfurt": is not an OCI region identifier/);
    assert.deepEqual(
      result.resources.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });
});

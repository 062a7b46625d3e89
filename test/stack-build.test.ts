// The build's network and connections, through the stand-in engine: on a cache miss the instance
// sits in a private subnet (NAT and service gateways, SSH from inside the VCN only) and every remote
// step reaches it through an OCI Bastion session; a build expected to outlive one session is
// followed by a chain of links, each with a session of its own; the artifact key names the instance,
// so miss → build → hit → new miss never updates an old instance; a cache hit registers none of it.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import {
  devStackLaunchOptions,
  PROJECT,
  STANDIN_ALL_SERVICES_ID,
  STANDIN_IMAGE_REF,
  standinManifest,
} from "./support/dev-stack";
import { launchProgram, type LaunchResult, type RegisteredResource } from "./support/pulumi-host";

const TIMEOUT_MS = 120_000;
const REMOTE = "command:remote:Command";
const COPY = "command:remote:CopyToRemote";
const SESSION = "oci:Bastion/session:Session";
const INSTANCE = "oci:Core/instance:Instance";
const BASTION_HOST = "host.bastion.us-ashburn-1.oci.oraclecloud.com";
const PRIVATE_IP = "10.77.0.23";
/** What the TLS provider computes for the stack's key, in stand-in bytes. */
const STANDIN_KEY = {
  privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\nstandin\n-----END OPENSSH PRIVATE KEY-----\n",
  publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandin",
};
const BUILD_TYPES = [
  "oci:Core/vcn:Vcn",
  "oci:Core/natGateway:NatGateway",
  "oci:Core/serviceGateway:ServiceGateway",
  "oci:Core/routeTable:RouteTable",
  "oci:Core/securityList:SecurityList",
  "oci:Core/subnet:Subnet",
  "oci:Bastion/bastion:Bastion",
  SESSION,
  INSTANCE,
  REMOTE,
  COPY,
];

const TENANCY_OCIDS = {
  [`${PROJECT}:compartmentId`]: "ocid1.compartment.oc1..aaaaaaaastandincompartmentstandincompartment",
  [`${PROJECT}:tenancyId`]: "ocid1.tenancy.oc1..aaaaaaaastandintenancystandintenancystandin",
};

function one(result: LaunchResult, type: string, name?: string): RegisteredResource {
  const found = result.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  assert.equal(found.length, 1, `exactly one ${type}${name ? ` named ${name}` : ""}`);
  return found[0];
}

function all(result: LaunchResult, type: string): RegisteredResource[] {
  return result.resources.filter((r) => r.type === type);
}

function engineKeys(result: LaunchResult): { engineKey: string; artifactKey: string } {
  const stack = one(result, "pulumi:pulumi:Stack");
  return (stack.outputs as { engine: { engineKey: string; artifactKey: string } }).engine;
}

// A finished build's manifest with the phases it measured, which the stack's estimate is checked against.
function manifestFor(keys: { engineKey: string; artifactKey: string }) {
  return {
    ...standinManifest(keys, STANDIN_IMAGE_REF),
    phases: { provision: 95, cloudInit: 420, imagePull: 510, weightDownload: 140, build: 1110 },
  };
}

/** `pulumi up` of the dev stack: the providers answer with ids, the instance's private address and the manifest. */
async function up(
  bucket: { exists: boolean; objects?: Record<string, string> },
  overrides: Record<string, string> = {},
) {
  let keys: { engineKey: string; artifactKey: string } | undefined;
  const result = await launchProgram({
    ...(await devStackLaunchOptions({ ...TENANCY_OCIDS, ...overrides }, undefined, bucket)),
    resourceOutputs: {
      [INSTANCE]: () => ({ privateIp: PRIVATE_IP }),
      "tls:index/privateKey:PrivateKey": () => STANDIN_KEY,
      [REMOTE]: (inputs) => {
        const create = String(inputs.create);
        const settings = /printf '%s' '([A-Za-z0-9+/=]+)'/.exec(create);
        if (settings) {
          const env = Buffer.from(settings[1], "base64").toString("utf8");
          keys = {
            engineKey: /^ENGINE_KEY='([0-9a-f]+)'$/m.exec(env)?.[1] ?? "",
            artifactKey: /^ARTIFACT_KEY='([0-9a-f]+)'$/m.exec(env)?.[1] ?? "",
          };
        }
        const manifest = create.includes("build-host.sh") && keys ? JSON.stringify(manifestFor(keys)) : "";
        return { stdout: `${manifest}\n`, stderr: "" };
      },
      // The capacity report found room in the second domain only.
      "command:local:Command": (_inputs, name) =>
        name.endsWith("expiry")
          ? { stdout: "2026-12-03T20:00:00Z\n" }
          : name === "engine-availability-domain"
            ? { stdout: "Uocm:US-ASHBURN-AD-2\n" }
            : { stdout: "" },
      "docker:index/registryImage:RegistryImage": () => ({ sha256Digest: `sha256:${"1".repeat(64)}` }),
      "oci:DataScience/modelDeployment:ModelDeployment": () => ({
        modelDeploymentUrl: "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.md",
      }),
    },
    dryRun: false,
    timeoutMs: TIMEOUT_MS,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  return result;
}

describe("cache miss: a private build host reached through OCI Bastion", { timeout: TIMEOUT_MS * 2 }, () => {
  let result: LaunchResult;
  before(async () => {
    result = await up({ exists: false });
  });

  test("the subnet takes no public address; the instance asks for none", () => {
    const subnet = one(result, "oci:Core/subnet:Subnet");
    assert.equal(subnet.inputs.prohibitPublicIpOnVnic, true);
    assert.equal(subnet.inputs.prohibitInternetIngress, true);
    const instance = one(result, INSTANCE);
    const vnic = instance.inputs.createVnicDetails as { subnetId: string; assignPublicIp: string };
    assert.equal(vnic.assignPublicIp, "false");
    assert.equal(vnic.subnetId, subnet.id);
    assert.deepEqual(all(result, "oci:Core/internetGateway:InternetGateway"), []);
  });

  test("NAT for the internet, the service gateway for all the region's services, a route to each", () => {
    const nat = one(result, "oci:Core/natGateway:NatGateway");
    const gateway = one(result, "oci:Core/serviceGateway:ServiceGateway");
    assert.deepEqual(gateway.inputs.services, [{ serviceId: STANDIN_ALL_SERVICES_ID }]);
    const routes = one(result, "oci:Core/routeTable:RouteTable");
    assert.deepEqual(
      (
        routes.inputs.routeRules as {
          destination: string;
          destinationType: string;
          networkEntityId: string;
        }[]
      ).map((rule) => [rule.destination, rule.destinationType, rule.networkEntityId]),
      [
        ["0.0.0.0/0", "CIDR_BLOCK", nat.id],
        ["all-iad-services-in-oracle-services-network", "SERVICE_CIDR_BLOCK", gateway.id],
      ],
    );
    assert.equal(one(result, "oci:Core/subnet:Subnet").inputs.routeTableId, routes.id);
  });

  test("SSH is admitted from inside the VCN only", () => {
    const vcn = one(result, "oci:Core/vcn:Vcn");
    const security = one(result, "oci:Core/securityList:SecurityList");
    assert.deepEqual(
      (
        security.inputs.ingressSecurityRules as { source: string; protocol: string; tcpOptions: unknown }[]
      ).map((rule) => [rule.source, rule.protocol, rule.tcpOptions]),
      [[(vcn.inputs.cidrBlocks as string[])[0], "6", { min: 22, max: 22 }]],
    );
  });

  test("the network and the Bastion carry an expires-at tag, so reap finds them when a stack never runs again", () => {
    const expiry = one(result, "command:local:Command", "engine-network-expiry");
    for (const type of BUILD_TYPES.slice(0, 7)) {
      const resource = one(result, type);
      const tags = resource.inputs.freeformTags as Record<string, string>;
      assert.ok(resource.propertyDependencies.freeformTags.includes(expiry.urn), type);
      assert.equal(tags.stack, "dev", type);
      assert.match(tags["expires-at"], /^\d{4}-\d\d-\d\dT/, type);
    }
  });

  test("a standard Bastion on the build subnet, open to any client, sessions of at most 3 hours", () => {
    const bastion = one(result, "oci:Bastion/bastion:Bastion");
    assert.equal(bastion.inputs.bastionType, "STANDARD");
    assert.equal(bastion.inputs.targetSubnetId, one(result, "oci:Core/subnet:Subnet").id);
    assert.deepEqual(bastion.inputs.clientCidrBlockAllowLists, ["0.0.0.0/0"]);
    assert.equal(bastion.inputs.maxSessionTtlInSeconds, 10800);
    assert.match(String(bastion.inputs.name), /^[A-Za-z0-9]+$/);
  });

  test("port-forwarding sessions to the instance's private address, keyed with the stack's RSA key, never deleted", () => {
    const instance = one(result, INSTANCE);
    const key = one(result, "tls:index/privateKey:PrivateKey");
    assert.deepEqual(key.inputs, { algorithm: "RSA", rsaBits: 4096 });
    const sessions = all(result, SESSION);
    assert.deepEqual(sessions.map((session) => session.name).sort(), ["engine-session", "engine-session-1"]);
    for (const session of sessions) {
      assert.equal(session.inputs.bastionId, one(result, "oci:Bastion/bastion:Bastion").id);
      assert.deepEqual(session.inputs.targetResourceDetails, {
        sessionType: "PORT_FORWARDING",
        targetResourceId: instance.id,
        targetResourcePrivateIpAddress: PRIVATE_IP,
        targetResourcePort: 22,
      });
      assert.equal(session.inputs.sessionTtlInSeconds, 10800);
      assert.deepEqual(session.inputs.keyDetails, { publicKeyContent: STANDIN_KEY.publicKeyOpenssh });
      assert.ok(session.propertyDependencies.keyDetails.includes(key.urn));
      // An ended session refuses DeleteSession (bastion_session_resource.go 464-482).
      assert.equal(session.retainOnDelete, true, session.name);
    }
    assert.equal(
      (instance.inputs.metadata as { ssh_authorized_keys: string }).ssh_authorized_keys,
      STANDIN_KEY.publicKeyOpenssh,
    );
    assert.ok(instance.propertyDependencies.metadata.includes(key.urn), "the same key logs in to the host");
  });

  test("the build link's session opens after the settings, the build IAM and the image", () => {
    const linkSession = one(result, SESSION, "engine-session-1");
    for (const prerequisite of [
      one(result, REMOTE, "engine-settings"),
      one(result, "oci:Identity/policy:Policy", "engine-policy"),
    ]) {
      assert.ok(linkSession.dependencies.includes(prerequisite.urn), prerequisite.name);
    }
    const link = one(result, REMOTE, "engine-build");
    assert.equal((link.inputs.connection as { proxy: { user: string } }).proxy.user, linkSession.id);
  });

  test("every remote step is keyed to the instance it runs on", () => {
    const instance = one(result, INSTANCE);
    for (const step of [...all(result, REMOTE), ...all(result, COPY)]) {
      assert.ok((step.inputs.triggers as unknown[]).includes(instance.id), step.name);
    }
  });

  test("the instance, the network and the build IAM carry an expiry whose clock restarts with the artifact key", () => {
    const keys = engineKeys(result);
    for (const name of ["engine-expiry", "engine-network-expiry"]) {
      assert.deepEqual(one(result, "command:local:Command", name).inputs.triggers, [keys.artifactKey], name);
    }
    for (const [type, name] of [
      [INSTANCE, undefined],
      ["oci:Identity/dynamicGroup:DynamicGroup", "engine-dg"],
      ["oci:Identity/policy:Policy", "engine-policy"],
      ["oci:Core/vcn:Vcn", undefined],
    ] as const) {
      const tags = one(result, type, name).inputs.freeformTags as Record<string, string>;
      assert.equal(tags["expires-at"], "2026-12-03T20:00:00Z", `${type} ${name ?? ""}`);
      assert.equal(tags["project"], PROJECT);
    }
  });

  test("the up output names the availability domain and the measured minutes of each phase", () => {
    const stack = one(result, "pulumi:pulumi:Stack");
    const engine = (stack.outputs as { engine: Record<string, unknown> }).engine;
    assert.equal(engine.buildAvailabilityDomain, "Uocm:US-ASHBURN-AD-2");
    assert.equal(one(result, INSTANCE).inputs.availabilityDomain, "Uocm:US-ASHBURN-AD-2");
    assert.deepEqual(engine.phaseMinutes, {
      provision: 1.6,
      cloudInit: 7,
      imagePull: 8.5,
      weightDownload: 2.3,
      build: 18.5,
    });
  });

  test("every remote step connects to the private address through a session", () => {
    const sessionIds = all(result, SESSION).map((session) => session.id);
    const key = one(result, "tls:index/privateKey:PrivateKey");
    const remote = [...all(result, REMOTE), ...all(result, COPY)];
    assert.equal(remote.length, 4);
    for (const step of remote) {
      const connection = step.inputs.connection as {
        host: string;
        user: string;
        privateKey: unknown;
        proxy: { host: string; user: string; privateKey: unknown };
      };
      assert.equal(connection.host, PRIVATE_IP, step.name);
      assert.equal(connection.user, "opc", step.name);
      assert.equal(connection.proxy.host, BASTION_HOST, step.name);
      assert.ok(sessionIds.includes(connection.proxy.user), step.name);
      assert.equal(connection.privateKey, STANDIN_KEY.privateKeyOpenssh, step.name);
      assert.equal(
        connection.proxy.privateKey,
        STANDIN_KEY.privateKeyOpenssh,
        `${step.name}: the session's key`,
      );
      assert.ok(step.propertyDependencies.connection.includes(key.urn), step.name);
      assert.ok(step.secretInputs.includes("connection"), `${step.name}: the key stays secret`);
    }
  });
});

describe("a pinned availability domain", { timeout: TIMEOUT_MS * 2 }, () => {
  test("is used as it is: no capacity lookup", async () => {
    const result = await up(
      { exists: false },
      { [`${PROJECT}:build`]: JSON.stringify({ availabilityDomain: "Uocm:US-ASHBURN-AD-2" }) },
    );
    assert.equal(one(result, INSTANCE).inputs.availabilityDomain, "Uocm:US-ASHBURN-AD-2");
    assert.equal(
      result.resources.some((r) => r.name === "engine-availability-domain"),
      false,
    );
  });
});

describe("miss → build → hit → new miss", { timeout: TIMEOUT_MS * 4 }, () => {
  test("each miss gets an instance of its own artifact key; the hit registers no build resource", async () => {
    const miss = await up({ exists: false });
    const keys = engineKeys(miss);
    const instance = one(miss, INSTANCE);
    assert.equal(instance.name, `engine-instance-${keys.artifactKey.slice(0, 12)}`);
    assert.notEqual(instance.retainOnDelete, true, "dropping it deletes it");

    const hit = await up({
      exists: true,
      objects: { [`artifacts/${keys.artifactKey}/manifest.json`]: JSON.stringify(manifestFor(keys)) },
    });
    assert.deepEqual(
      hit.resources.filter((r) => BUILD_TYPES.includes(r.type)),
      [],
      "the engine drops every build resource, the terminated instance included: nothing else touches it",
    );
    assert.equal(
      hit.resources.some((r) => r.type.startsWith("triton-trtllm-oci:build:")),
      false,
    );

    const retry = await up({ exists: false });
    assert.equal(one(retry, INSTANCE).urn, instance.urn, "a retry of the same key keeps its instance");

    const newMiss = await up(
      { exists: true, objects: {} },
      { [`${PROJECT}:engine`]: JSON.stringify({ maxBatchSize: 16 }) },
    );
    const newKeys = engineKeys(newMiss);
    assert.notEqual(newKeys.artifactKey, keys.artifactKey);
    const newInstance = one(newMiss, INSTANCE);
    assert.equal(newInstance.name, `engine-instance-${newKeys.artifactKey.slice(0, 12)}`);
    assert.notEqual(newInstance.urn, instance.urn, "a new key is a new instance, never an update of the old");
    assert.notEqual(one(newMiss, SESSION, "engine-session").inputs.targetResourceDetails, undefined);
    assert.equal(
      one(newMiss, "oci:Core/subnet:Subnet").urn,
      one(miss, "oci:Core/subnet:Subnet").urn,
      "the network keeps its names across keys",
    );
  });
});

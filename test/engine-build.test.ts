// EngineBuild against Pulumi mocks, for a build long enough to need several links (no catalogued
// stack is, with a link per session: test/stack-build.test.ts runs the dev stack's one-link build
// through the engine stand-in): each link dials through a session of its own, opened once the link
// before has let go, and the secrets go to the first link only.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import { buildLinks } from "../components/build/bastion-plan";
import { standinManifest } from "./support/dev-stack";
import { installMocks, isSecretValue, OptionsRecorder, promiseOf } from "./support/mocks";

const KEYS = { engineKey: "e".repeat(64), artifactKey: "a".repeat(64) };

const record = installMocks({
  state: (args) =>
    args.type === "command:local:Command"
      ? { stdout: "2026-12-03T20:00:00Z\n" }
      : args.type === "command:remote:Command" && String(args.inputs.create).includes("build-host.sh follow")
        ? { stdout: `${JSON.stringify(standinManifest(KEYS, "us-ashburn-1.ocir.io/ns/triton@sha256:1"))}\n` }
        : undefined,
});
let mod: typeof import("../components/engine-build");
before(async () => {
  mod = await import("../components/engine-build.js");
});

const SESSION = "oci:Bastion/session:Session";
const REMOTE = "command:remote:Command";
const ESTIMATE_MINUTES = 200;

describe("a build that outlasts one session", () => {
  test("is followed by a link per session, each session opened once the link before has let go", async () => {
    const recorder = new OptionsRecorder();
    const build = new mod.EngineBuild(
      "engine",
      {
        mode: "build",
        compartmentId: "ocid1.compartment.oc1..aaaa",
        tenancyId: "ocid1.tenancy.oc1..aaaa",
        availabilityDomain: "Uocm:US-ASHBURN-AD-1",
        availabilityDomains: ["Uocm:US-ASHBURN-AD-1"],
        subnetId: "ocid1.subnet.oc1..aaaa",
        bastionId: "ocid1.bastion.oc1..aaaa",
        shape: "BM.GPU.A10.4",
        imageId: "ocid1.image.oc1..aaaa",
        bootVolumeSizeInGbs: 500,
        cloudInit: "#cloud-config\n",
        hostFilesDir: __dirname,
        settings: { BUILD_MODE: "build" },
        artifactKey: KEYS.artifactKey,
        estimatedMinutes: ESTIMATE_MINUTES,
        bucketName: "bucket",
        ocirUsername: "ns/user",
        ocirAuthToken: "token",
        keepInstance: false,
        region: "us-ashburn-1",
        freeformTags: { project: "triton-trtllm-oci" },
        expiresInHours: 12,
      },
      { transformations: [recorder.transformation] },
    );
    await promiseOf(build.instanceId);
    await recorder.settled();
    const links = buildLinks(ESTIMATE_MINUTES);
    assert.equal(links.length, 3);
    const names = (type: string) => recorder.recorded.filter((r) => r.type === type).map((r) => r.name);
    assert.deepEqual(names(SESSION), [
      "engine-session",
      "engine-session-1",
      "engine-session-2",
      "engine-session-3",
    ]);
    const linkNames = ["engine-build", "engine-build-2", "engine-build-3"];
    assert.deepEqual(
      names(REMOTE).filter((name) => name.startsWith("engine-build")),
      linkNames,
    );
    for (const [index, name] of linkNames.entries()) {
      const session = recorder.get(SESSION, `engine-session-${index + 1}`);
      assert.equal(session.opts.retainOnDelete, true, session.name);
      if (index > 0) {
        const before = recorder.get(REMOTE, linkNames[index - 1]).resource;
        assert.ok(
          (session.opts.dependsOn as unknown[]).includes(before),
          `${session.name} waits for ${linkNames[index - 1]}`,
        );
      }
      const link = record.resources.find((r) => r.type === REMOTE && r.name === name);
      const sessionId = record.resources.find((r) => r.type === SESSION && r.name === session.name)?.id;
      const connection = link?.inputs.connection;
      const plain = (isSecretValue(connection) ? connection.value : connection) as {
        proxy: { user: string };
      };
      assert.equal(plain.proxy.user, sessionId, name);
      assert.equal(
        link?.inputs.stdin === undefined,
        index > 0,
        `${name}: the secrets go to the first link only`,
      );
    }
    const last = record.resources.find((r) => r.name === "engine-build-3");
    assert.equal(
      last?.inputs.create,
      "sudo bash /home/opc/engine-build/build-host.sh follow --attach-seconds 9900",
    );
  });
});

// OcirImage against Pulumi mocks: the registered resources and their inputs, the options the
// component gives them (recorded by a transformation, see OptionsRecorder), and what happens to the
// OCIR credentials on their way into state.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import * as pulumi from "@pulumi/pulumi";

import { ocirImageName, ocirLoginUser, ocirRegistry, pinnedImageRef } from "../components/deployment/ocir";
import {
  fakeDigest,
  installMocks,
  isSecretValue,
  OptionsRecorder,
  plainOccurrences,
  promiseOf,
  TEST_NAMESPACE,
} from "./support/mocks";

const record = installMocks();
let mod: typeof import("../components/ocir-image");
before(async () => {
  mod = await import("../components/ocir-image.js");
});

const COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexample";
const SOURCE = "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3";
const TOKEN = "Zq8>plaintext-auth-token-do-not-leak";
const USER = "oracleidentitycloudservice/jane@example.com";

const TYPES = {
  repository: "oci:Artifacts/containerRepository:ContainerRepository",
  provider: "pulumi:providers:docker",
  pull: "docker:index/remoteImage:RemoteImage",
  tag: "docker:index/tag:Tag",
  push: "docker:index/registryImage:RegistryImage",
};

async function mirror(
  name: string,
  overrides: Partial<import("../components/ocir-image").OcirImageArgs> = {},
) {
  const recorder = new OptionsRecorder();
  const image = new mod.OcirImage(
    name,
    {
      compartmentId: COMPARTMENT,
      region: "us-ashburn-1",
      source: SOURCE,
      repository: "triton-trtllm",
      tag: "25.04-trtllm",
      username: pulumi.secret(USER),
      authToken: pulumi.secret(TOKEN),
      ...overrides,
    },
    { transformations: [recorder.transformation] },
  );
  await recorder.settled();
  const inputs = (type: string) => {
    const found = record.resources.filter((r) => r.type === type && r.name.startsWith(`${name}-`));
    assert.equal(found.length, 1, `one ${type} for ${name}`);
    return found[0].inputs;
  };
  return { image, recorder, inputs };
}

describe("OcirImage", () => {
  test("creates a private repository named by the path, in the compartment", async () => {
    const { inputs } = await mirror("repo");
    assert.deepEqual(inputs(TYPES.repository), {
      compartmentId: COMPARTMENT,
      displayName: "triton-trtllm",
      isPublic: false,
    });
  });

  test("pushes only after the repository exists, through the configured provider", async () => {
    const { recorder } = await mirror("order");
    const repository = recorder.get(TYPES.repository).resource;
    const provider = recorder.get(TYPES.provider).resource;
    const push = recorder.get(TYPES.push).opts;
    assert.deepEqual(push.dependsOn, [repository]);
    assert.equal(push.provider, provider);
    assert.equal(recorder.get(TYPES.pull).opts.provider, provider);
    assert.equal(recorder.get(TYPES.tag).opts.provider, provider);
  });

  test("pulls the source for linux/amd64, tags it into OCIR and pushes that tag", async () => {
    const { inputs } = await mirror("flow");
    const target = `us-ashburn-1.ocir.io/${TEST_NAMESPACE}/triton-trtllm:25.04-trtllm`;
    const sourceId = fakeDigest(`image:${SOURCE}`);
    assert.deepEqual(inputs(TYPES.pull), { name: SOURCE, platform: "linux/amd64", keepLocally: true });
    assert.deepEqual(inputs(TYPES.tag), {
      sourceImage: sourceId,
      targetImage: target,
    });
    assert.deepEqual(inputs(TYPES.push), {
      name: target,
      keepRemotely: true,
      triggers: { sourceImageId: sourceId },
    });
  });

  test("looks the namespace up in the compartment unless it is given", async () => {
    const before = record.invokes.length;
    await mirror("ns-lookup");
    const calls = record.invokes.slice(before);
    assert.deepEqual(calls, [
      { token: "oci:ObjectStorage/getNamespace:getNamespace", inputs: { compartmentId: COMPARTMENT } },
    ]);

    const after = record.invokes.length;
    const { inputs } = await mirror("ns-given", { namespace: "given" });
    assert.equal(record.invokes.length, after);
    assert.equal(inputs(TYPES.tag).targetImage, "us-ashburn-1.ocir.io/given/triton-trtllm:25.04-trtllm");
  });

  test("outputs the image pinned by the digest OCIR reports, tag kept as a label", async () => {
    const { image } = await mirror("pinned");
    const target = `us-ashburn-1.ocir.io/${TEST_NAMESPACE}/triton-trtllm:25.04-trtllm`;
    const digest = fakeDigest(`push:${target}`);
    assert.equal(await promiseOf(image.digest), digest);
    assert.equal(await promiseOf(image.imageRef), `${target}@${digest}`);
    assert.equal(await promiseOf(image.repositoryId), "pinned-repo_id");
    assert.equal(await pulumi.isSecret(image.imageRef), false, "the reference is not a secret");
  });

  test("a registry override replaces <region>.ocir.io", async () => {
    const { inputs } = await mirror("realm", { registry: "fra.ocir.io" });
    assert.match(String(inputs(TYPES.tag).targetImage), /^fra\.ocir\.io\//);
  });

  test("configures the daemon host and the OCIR login, the login as a secret", async () => {
    const { inputs } = await mirror("auth", { dockerHost: "ssh://opc@203.0.113.7" });
    const provider = inputs(TYPES.provider);
    assert.equal(provider.host, "ssh://opc@203.0.113.7");
    // Provider inputs travel JSON-encoded; a secret arrives wrapped in the secret signature.
    assert.ok(isSecretValue(provider.registryAuth), "registryAuth reaches the engine as a secret");
    assert.deepEqual(JSON.parse(String(provider.registryAuth.value)), [
      { address: "us-ashburn-1.ocir.io", username: `${TEST_NAMESPACE}/${USER}`, password: TOKEN },
    ]);
  });

  test("the token never appears in plain text, even when handed over unwrapped", async () => {
    const plainToken = "plain-token-handed-over-unwrapped";
    const { image } = await mirror("leak", { authToken: plainToken, username: "jane" });
    // The scan itself finds a plain copy (removing pulumi.secret in the component fails this test).
    assert.deepEqual(plainOccurrences({ a: [`x${plainToken}`] }, plainToken), ["$.a[0]"]);
    assert.deepEqual(plainOccurrences(record.resources, plainToken), []);
    assert.deepEqual(plainOccurrences(record.resources, TOKEN), []);
    assert.deepEqual(plainOccurrences(record.invokes, plainToken), []);
    const outputs = await promiseOf(pulumi.all([image.imageRef, image.digest, image.repositoryId]));
    assert.deepEqual(plainOccurrences(outputs, plainToken), []);
    // The token did arrive, inside the secret.
    const provider = record.resources.find((r) => r.name === "leak-docker");
    assert.ok(provider && isSecretValue(provider.inputs.registryAuth));
    assert.match(String(provider.inputs.registryAuth.value), new RegExp(plainToken));
  });

  test("large transfers get timeouts beyond the bridged resources' default 20 minutes", async () => {
    const { recorder } = await mirror("timeouts");
    assert.deepEqual(recorder.get(TYPES.pull).opts.customTimeouts, {
      create: "120m",
      update: "120m",
      delete: "10m",
    });
    assert.deepEqual(recorder.get(TYPES.push).opts.customTimeouts, {
      create: "180m",
      update: "180m",
      delete: "10m",
    });
  });
});

describe("OCIR naming helpers", () => {
  test("ocirLoginUser prefixes the namespace once", () => {
    assert.equal(ocirLoginUser("ns", "jane"), "ns/jane");
    assert.equal(
      ocirLoginUser("ns", "oracleidentitycloudservice/jane"),
      "ns/oracleidentitycloudservice/jane",
    );
    assert.equal(ocirLoginUser("ns", "ns/jane"), "ns/jane");
  });

  test("ocirRegistry and ocirImageName", () => {
    assert.equal(ocirRegistry("eu-frankfurt-1"), "eu-frankfurt-1.ocir.io");
    assert.equal(ocirImageName("r.ocir.io", "ns", "a/b", "t1"), "r.ocir.io/ns/a/b:t1");
  });

  test("pinnedImageRef accepts only a sha256 digest", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    assert.equal(pinnedImageRef("r/ns/repo:t", digest), `r/ns/repo:t@${digest}`);
    assert.throws(() => pinnedImageRef("r/ns/repo:t", ""), /no sha256 digest/);
    assert.throws(() => pinnedImageRef("r/ns/repo:t", "sha256:abc"), /no sha256 digest/);
  });
});

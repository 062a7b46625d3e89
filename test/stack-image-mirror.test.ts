// The serving image through `image.mirror`, the whole program started as `pulumi preview` starts it
// against the stand-in engine: what each combination of the engine cache and the shared OCIR mirror
// registers, the reference the deployment pulls, and what a second stack does with the same mirror.
// The registry and OCIR answers are canned data sources (test/support/image-registry.ts).

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import {
  type BucketContents,
  CPU_IMAGE_ID,
  devStackLaunchOptions,
  GPU_IMAGE_ID,
  PROJECT,
  standinBuildManifest,
} from "./support/dev-stack";
import { type RegistryContents, SHARED_REPOSITORY_ID, SOURCE_DIGEST } from "./support/image-registry";
import { launchProgram, type LaunchResult, type RegisteredResource } from "./support/pulumi-host";

const TIMEOUT_MS = 120_000;
const SHARED = "triton-trtllm-oci/tritonserver";
const TAG = "25.04-trtllm-python-py3";
const REGISTRY_HOST = "us-ashburn-1.ocir.io";
const NAMESPACE = "standinnamespace";
const REPOSITORY = "oci:Artifacts/containerRepository:ContainerRepository";
const DEPLOYMENT = "oci:DataScience/modelDeployment:ModelDeployment";
const IMAGE_OPERATIONS = [
  "docker:index/remoteImage:RemoteImage",
  "docker:index/tag:Tag",
  "docker:index/registryImage:RegistryImage",
];

const OCI = { [`${PROJECT}:image`]: JSON.stringify({ mirror: "oci" }) };
const LOCAL = { [`${PROJECT}:image`]: JSON.stringify({ mirror: "local" }) };
const PUSHED_DIGEST = `sha256:${"7".repeat(64)}`;
const MIRRORED: RegistryContents = { repository: { displayName: SHARED }, digests: [SOURCE_DIGEST] };

async function preview(
  overrides: Record<string, string>,
  registry: RegistryContents = {},
  bucket: BucketContents = { exists: false },
  launch: { stack?: string; pushed?: boolean } = {},
): Promise<LaunchResult> {
  const options = await devStackLaunchOptions(overrides, undefined, bucket, registry);
  return launchProgram({
    ...options,
    ...(launch.stack === undefined ? {} : { stack: launch.stack }),
    // The digest the registry reports for the daemon's push (provider-computed).
    ...(launch.pushed
      ? {
          resourceOutputs: {
            "docker:index/registryImage:RegistryImage": () => ({ sha256Digest: PUSHED_DIGEST }),
          },
        }
      : {}),
    timeoutMs: TIMEOUT_MS,
  });
}

function ok(result: LaunchResult): LaunchResult {
  assert.equal(result.exitCode, 0, result.stderr);
  return result;
}

function ofType(result: LaunchResult, type: string): RegisteredResource[] {
  return result.resources.filter((r) => r.type === type);
}

function one(result: LaunchResult, type: string): RegisteredResource {
  const found = ofType(result, type);
  assert.equal(found.length, 1, `exactly one ${type}`);
  return found[0];
}

function outputs(result: LaunchResult): Record<string, unknown> {
  const stack = one(result, "pulumi:pulumi:Stack");
  assert.ok(stack.outputs);
  return stack.outputs;
}

function deploymentImage(result: LaunchResult): { image: string; imageDigest: string } {
  const details = one(result, DEPLOYMENT).inputs.modelDeploymentConfigurationDetails as {
    environmentConfigurationDetails: { image: string; imageDigest: string };
  };
  const { image, imageDigest } = details.environmentConfigurationDetails;
  return { image, imageDigest };
}

/** The error diagnostics of a failed run, one per line. */
function errors(result: LaunchResult): string {
  assert.notEqual(result.exitCode, 0);
  return result.logs
    .filter((l) => l.severity === "error")
    .map((l) => l.message)
    .join("\n");
}

function decodeSettings(result: LaunchResult): Record<string, string> {
  const settings = result.resources.find(
    (r) => r.type === "command:remote:Command" && r.name === "engine-settings",
  );
  assert.ok(settings, "the build host gets its settings");
  const match = /printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d/.exec(String(settings.inputs.create));
  assert.ok(match);
  const values: Record<string, string> = {};
  for (const line of Buffer.from(match[1], "base64").toString("utf8").trim().split("\n")) {
    const eq = line.indexOf("=");
    values[line.slice(0, eq)] = line.slice(eq + 2, -1);
  }
  return values;
}

const SHARED_REF = `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}@${SOURCE_DIGEST}`;

/** The artifact is in the bucket: nothing has to be built. */
async function artifactHitBucket(): Promise<BucketContents> {
  const miss = ok(await preview(LOCAL));
  const keys = outputs(miss).engine as { engineKey: string; artifactKey: string };
  return {
    exists: true,
    objects: {
      [`artifacts/${keys.artifactKey}/manifest.json`]: standinBuildManifest(
        keys,
        `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}@${SOURCE_DIGEST}`,
      ),
    },
  };
}

describe("image.mirror oci, artifact cached, image mirrored", { timeout: TIMEOUT_MS * 3 }, () => {
  let result: LaunchResult;
  before(async () => {
    result = ok(await preview(OCI, MIRRORED, await artifactHitBucket()));
  });

  test("no instance at all and no Docker operation: nothing runs", () => {
    assert.deepEqual(ofType(result, "oci:Core/instance:Instance"), []);
    assert.deepEqual(ofType(result, "command:remote:Command"), []);
    for (const type of IMAGE_OPERATIONS) assert.deepEqual(ofType(result, type), [], type);
  });

  test("the shared repository is adopted by its OCID, private, kept on destroy, without a stack tag", () => {
    const repository = one(result, REPOSITORY);
    assert.equal(repository.name, "image-mirror");
    assert.equal(repository.importId, SHARED_REPOSITORY_ID);
    assert.equal(repository.retainOnDelete, true);
    assert.deepEqual(repository.ignoreChanges, ["freeformTags"]);
    assert.equal(repository.inputs.displayName, SHARED);
    assert.equal(repository.inputs.isPublic, false);
    assert.deepEqual(repository.inputs.freeformTags, { "managed-by": "pulumi", project: PROJECT });
  });

  test("the deployment pulls the source digest from the shared repository", () => {
    assert.deepEqual(deploymentImage(result), {
      image: `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}@${SOURCE_DIGEST}`,
      imageDigest: SOURCE_DIGEST,
    });
    assert.equal(outputs(result).imageDigest, SOURCE_DIGEST);
  });

  test("the tag was resolved through a Docker provider that never contacts a daemon", () => {
    const lookups = result.invokes.filter(
      (i) => i.token === "docker:index/getRegistryImage:getRegistryImage",
    );
    assert.equal(lookups.length, 1);
    assert.equal(lookups[0].args.name, "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3");
    const provider = one(result, "pulumi:providers:docker");
    assert.equal(provider.name, "image-registry");
    assert.equal(provider.inputs.disableDockerDaemonCheck, "true");
    assert.equal(provider.inputs.host, undefined);
    assert.ok(lookups[0].provider.startsWith(`${provider.urn}::`), "the lookup used that provider");
  });

  test("the image output says it is mirrored and no copy runs", () => {
    assert.deepEqual(outputs(result).image, {
      mirror: "oci",
      repository: SHARED,
      digest: SOURCE_DIGEST,
      mirrored: true,
      estimatedCopyMinutes: 0,
    });
  });
});

describe("image.mirror oci, other shapes", { timeout: TIMEOUT_MS * 6 }, () => {
  test("a source pinned by digest needs no registry lookup", async () => {
    const digest = `sha256:${"9".repeat(64)}`;
    const result = ok(
      await preview(
        {
          [`${PROJECT}:image`]: JSON.stringify({
            mirror: "oci",
            source: `nvcr.io/nvidia/tritonserver:${TAG}@${digest}`,
          }),
        },
        { repository: { displayName: SHARED }, digests: [digest] },
      ),
    );
    assert.deepEqual(
      result.invokes.filter((i) => i.token.startsWith("docker:")),
      [],
    );
    assert.equal(deploymentImage(result).image, `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}@${digest}`);
  });

  test("a second stack adopts the same repository; each keeps it on destroy, so destroying one leaves it", async () => {
    const second = ok(await preview(OCI, MIRRORED, await artifactHitBucket(), { stack: "prod" }));
    const repository = one(second, REPOSITORY);
    assert.equal(repository.importId, SHARED_REPOSITORY_ID, "the OCID the dev stack adopts as well");
    assert.equal(repository.retainOnDelete, true, "a destroy drops it from this stack's state only");
    assert.equal(repository.inputs.displayName, SHARED);
    assert.equal(
      deploymentImage(second).image,
      `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}@${SOURCE_DIGEST}`,
    );
  });

  test("a public repository of that name is refused, naming image.repository", async () => {
    const result = await preview(OCI, { repository: { displayName: SHARED, isPublic: true } });
    const reported = errors(result);
    assert.match(
      reported,
      /image\.repository = "triton-trtllm-oci\/tritonserver": names a public OCIR repository/,
    );
  });

  test("a tag the registry cannot resolve names image.source and the digest pin that avoids the lookup", async () => {
    const result = await preview(OCI, { sourceError: "got bad response from registry: 404 Not Found" });
    const reported = errors(result);
    assert.match(
      reported,
      /image\.source = "nvcr\.io\/nvidia\/tritonserver:25\.04-trtllm-python-py3": has no digest/,
    );
    assert.match(reported, /404 Not Found/);
    assert.match(reported, /pin it by digest/);
  });
});

describe("image.mirror oci with a build: the build host copies", { timeout: TIMEOUT_MS * 4 }, () => {
  test("cache miss, image missing: a new shared repository, the copy in the GPU host's settings", async () => {
    const result = ok(await preview(OCI, {}));
    const repository = one(result, REPOSITORY);
    assert.equal(repository.importId, "", "created, not imported");
    assert.equal(repository.retainOnDelete, true);
    const settings = decodeSettings(result);
    assert.equal(settings.BUILD_MODE, "build");
    assert.equal(settings.IMAGE_REF, SHARED_REF);
    assert.equal(settings.MIRROR_SOURCE, `nvcr.io/nvidia/tritonserver@${SOURCE_DIGEST}`);
    assert.equal(settings.MIRROR_DIGEST, SOURCE_DIGEST);
    assert.equal(settings.MIRROR_TARGET, `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}`);
    assert.equal(deploymentImage(result).image, SHARED_REF);
    for (const type of IMAGE_OPERATIONS) assert.deepEqual(ofType(result, type), [], type);
    assert.deepEqual(outputs(result).image, {
      mirror: "oci",
      repository: SHARED,
      digest: SOURCE_DIGEST,
      mirrored: false,
      estimatedCopyMinutes: 6,
    });
  });

  test("cache miss, image mirrored: the build pulls from OCIR and copies nothing", async () => {
    const settings = decodeSettings(ok(await preview(OCI, MIRRORED)));
    assert.equal(settings.IMAGE_REF, SHARED_REF);
    assert.deepEqual(
      Object.keys(settings).filter((name) => name.startsWith("MIRROR_")),
      [],
    );
  });

  test("engine cached, artifact and image missing: the re-assembly host on the GPU shape copies too", async () => {
    const miss = ok(await preview(LOCAL));
    const keys = outputs(miss).engine as { engineKey: string; artifactKey: string };
    const bucket: BucketContents = {
      exists: true,
      objects: {
        [`engines/${keys.engineKey}/manifest.json`]: standinBuildManifest(keys, SHARED_REF),
      },
    };
    const result = ok(await preview(OCI, {}, bucket));
    const instance = one(result, "oci:Core/instance:Instance");
    assert.equal(instance.inputs.shape, "VM.GPU.A10.1");
    assert.equal((instance.inputs.sourceDetails as { sourceId: string }).sourceId, GPU_IMAGE_ID);
    const settings = decodeSettings(result);
    assert.equal(settings.BUILD_MODE, "assemble");
    assert.equal(settings.MIRROR_SOURCE, `nvcr.io/nvidia/tritonserver@${SOURCE_DIGEST}`);
  });
});

describe(
  "image.mirror oci, no build, image missing: a host only copies it",
  { timeout: TIMEOUT_MS * 4 },
  () => {
    let result: LaunchResult;
    before(async () => {
      result = ok(
        await preview(OCI, { repository: { displayName: SHARED }, digests: [] }, await artifactHitBucket()),
      );
    });

    test("exactly one instance, the CPU shape, and it runs only the copy", () => {
      const instance = one(result, "oci:Core/instance:Instance");
      assert.equal(instance.inputs.shape, "VM.Standard.E4.Flex");
      assert.deepEqual(instance.inputs.shapeConfig, { ocpus: 2, memoryInGbs: 32 });
      const source = instance.inputs.sourceDetails as { sourceId: string; bootVolumeSizeInGbs: string };
      assert.equal(source.sourceId, CPU_IMAGE_ID);
      assert.equal(source.bootVolumeSizeInGbs, "100");
      const settings = decodeSettings(result);
      assert.equal(settings.BUILD_MODE, "mirror");
      assert.equal(settings.IMAGE_REF, SHARED_REF);
      assert.equal(settings.MIRROR_SOURCE, `nvcr.io/nvidia/tritonserver@${SOURCE_DIGEST}`);
      assert.equal(settings.MIRROR_TARGET, `${REGISTRY_HOST}/${NAMESPACE}/${SHARED}:${TAG}`);
      for (const type of IMAGE_OPERATIONS) assert.deepEqual(ofType(result, type), [], type);
    });

    test("the artifact is still the cached one, and the deployment waits for the copy", () => {
      const artifact = outputs(result).artifactObject as { object: string };
      const keys = outputs(result).engine as { artifactKey: string; source: string };
      assert.equal(keys.source, "artifact-hit");
      assert.equal(artifact.object, `artifacts/${keys.artifactKey}/model.zip`);
      const copy = result.resources.find(
        (r) => r.type === "command:remote:Command" && r.name === "engine-build",
      );
      assert.ok(copy, "the copy host's build step");
      const terminate = result.resources.find((r) => r.name === "engine-terminate");
      assert.ok(terminate);
      const lastStep = terminate.dependencies.find((urn) =>
        urn.includes("command:remote:Command::engine-build"),
      );
      assert.ok(lastStep, "the terminate waits for the host's last step");
      assert.ok(
        one(result, DEPLOYMENT).dependencies.includes(lastStep),
        "the deployment depends on the copy",
      );
      assert.equal(deploymentImage(result).image, SHARED_REF);
    });

    test("without build IAM the copy cannot run: iam.create is refused, naming the manual copy", async () => {
      const refused = await preview(
        { ...OCI, [`${PROJECT}:iam`]: JSON.stringify({ create: false }) },
        { repository: { displayName: SHARED }, digests: [] },
        await artifactHitBucket(),
      );
      const reported = errors(refused);
      assert.match(
        reported,
        /iam\.create = false: must be true with tenancyId set: the serving image is not in OCIR yet/,
      );
      assert.match(reported, /skopeo copy --all --preserve-digests/);
      assert.deepEqual(ofType(refused, "oci:Core/instance:Instance"), []);
    });
  },
);

describe("image.mirror local: today's resources", { timeout: TIMEOUT_MS * 2 }, () => {
  let result: LaunchResult;
  before(async () => {
    result = ok(await preview(LOCAL, MIRRORED, { exists: false }, { pushed: true }));
  });

  test("pull, tag and push through the daemon into the stack's own repository; no registry lookup", () => {
    for (const type of IMAGE_OPERATIONS) one(result, type);
    assert.equal(one(result, REPOSITORY).inputs.displayName, `${PROJECT}-dev/triton-trtllm`);
    assert.equal(one(result, REPOSITORY).retainOnDelete, undefined);
    assert.equal(one(result, "pulumi:providers:docker").name, "image-docker");
    assert.deepEqual(
      result.invokes.filter((i) => i.token.includes("getRegistryImage") || i.token.includes("Artifacts/")),
      [],
    );
  });

  test("the deployment pulls what the daemon pushed, by digest", () => {
    const image = deploymentImage(result);
    assert.match(
      image.image,
      new RegExp(`^${REGISTRY_HOST}/${NAMESPACE}/${PROJECT}-dev/triton-trtllm:${TAG}@sha256:`),
    );
    assert.ok(image.image.endsWith(`@${image.imageDigest}`));
    assert.deepEqual(outputs(result).image, { mirror: "local", repository: `${PROJECT}-dev/triton-trtllm` });
  });
});

// The whole program, started as `pulumi preview` (or `up`) starts it, against the stand-in engine:
// what the dev stack registers on a cache miss, an engine-cache hit, an artifact-cache hit and with a
// hand-built engine, with which inputs and resource options, wired by which dependencies, and what
// the run after a build keeps. The stand-in records options from the real RegisterResource requests,
// so retainOnDelete, ignoreChanges and dependsOn are asserted as the engine would receive them; the
// bucket's contents and the catalog's HEAD are canned answers of the OCI data sources.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";

import {
  type BucketContents,
  DEV_SECRET_STAND_INS,
  devStackConfig,
  devStackLaunchOptions,
  devStackWorkspace,
  GPU_IMAGE_ID,
  PROJECT,
  PROJECT_DIR,
  STANDIN_IMAGE_REF,
  standinManifest,
} from "./support/dev-stack";
import { SOURCE_DIGEST } from "./support/image-registry";
import {
  type AssetOrArchive,
  launchProgram,
  type LaunchResult,
  type RegisteredResource,
  UNKNOWN,
} from "./support/pulumi-host";

const TIMEOUT_MS = 120_000;
const ENGINE_BUILD = "triton-trtllm-oci:build:EngineBuild";
const REMOTE = "command:remote:Command";
const LOCAL = "command:local:Command";

function all(result: LaunchResult, type: string): RegisteredResource[] {
  return result.resources.filter((r) => r.type === type);
}

function one(result: LaunchResult, type: string, name?: string): RegisteredResource {
  const found = result.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  assert.equal(found.length, 1, `exactly one ${type}${name ? ` named ${name}` : ""}`);
  return found[0];
}

function stackOutputs(result: LaunchResult): Record<string, unknown> {
  const stack = one(result, "pulumi:pulumi:Stack");
  assert.ok(stack.outputs);
  return stack.outputs;
}

function engineKeys(result: LaunchResult): { engineKey: string; artifactKey: string } {
  return stackOutputs(result).engine as { engineKey: string; artifactKey: string };
}

/** Resources under the build's components (EngineBuild, BuildNetwork), at any depth. */
function underEngineBuild(result: LaunchResult): Set<string> {
  const inside = new Set<string>(
    result.resources.filter((r) => r.type.startsWith("triton-trtllm-oci:build:")).map((r) => r.urn),
  );
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of result.resources) {
      if (!inside.has(r.urn) && inside.has(r.parent)) {
        inside.add(r.urn);
        grew = true;
      }
    }
  }
  return inside;
}

function decodeSettings(create: unknown): Record<string, string> {
  const match = /printf '%s' '([A-Za-z0-9+/=]+)' \| base64 -d/.exec(String(create));
  assert.ok(match, `settings command writes base64: ${String(create)}`);
  const settings: Record<string, string> = {};
  for (const line of Buffer.from(match[1], "base64").toString("utf8").trim().split("\n")) {
    const eq = line.indexOf("=");
    settings[line.slice(0, eq)] = line.slice(eq + 2, -1).replace(/'\\''/g, "'");
  }
  return settings;
}

function manifestFor(keys: { engineKey: string; artifactKey: string }) {
  return standinManifest(keys, STANDIN_IMAGE_REF);
}

/** An `up` refuses the committed example's placeholder OCIDs: these stand for a real tenancy's. */
const TENANCY_OCIDS = {
  [`${PROJECT}:compartmentId`]: "ocid1.compartment.oc1..aaaaaaaastandincompartmentstandincompartment",
  [`${PROJECT}:tenancyId`]: "ocid1.tenancy.oc1..aaaaaaaastandintenancystandintenancystandin",
};

/** What providers compute in an `up`: command output, the pushed digest, the deployment's URL. */
/** A scratch cache under the project, named relatively, as `.cache` is in real use. */
function projectScratchCache(): string {
  mkdirSync(path.join(PROJECT_DIR, ".cache"), { recursive: true });
  return path.relative(PROJECT_DIR, mkdtempSync(path.join(PROJECT_DIR, ".cache", "stack-test-")));
}

function upOutputs(
  buildStdout: string,
  local: (name: string) => Record<string, unknown> = () => ({ stdout: "" }),
) {
  return {
    [REMOTE]: (_inputs: Record<string, unknown>, name: string) =>
      name === "engine-build" ? { stdout: buildStdout, stderr: "" } : { stdout: "", stderr: "" },
    [LOCAL]: (_inputs: Record<string, unknown>, name: string) =>
      name.endsWith("expiry") ? { stdout: "2026-11-25T20:00:00Z\n" } : local(name),
    "oci:DataScience/modelDeployment:ModelDeployment": () => ({
      modelDeploymentUrl: "https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.md",
    }),
    "docker:index/registryImage:RegistryImage": () => ({ sha256Digest: `sha256:${"1".repeat(64)}` }),
  };
}

async function preview(bucket: BucketContents = { exists: false }, overrides: Record<string, string> = {}) {
  const result = await launchProgram({
    ...(await devStackLaunchOptions(overrides, undefined, bucket)),
    timeoutMs: TIMEOUT_MS,
  });
  assert.equal(result.exitCode, 0, result.stderr);
  return result;
}

describe("cache miss: the engine is built on a GPU instance", { timeout: TIMEOUT_MS * 2 }, () => {
  let result: LaunchResult;
  before(async () => {
    result = await preview();
  });

  test("the instance: the build shape, the newest Oracle Linux GPU image, a sized boot volume, cloud-init without secrets", () => {
    const instance = one(result, "oci:Core/instance:Instance");
    assert.equal(instance.inputs.shape, "VM.GPU.A10.1");
    const source = instance.inputs.sourceDetails as { sourceId: string; bootVolumeSizeInGbs: string };
    assert.equal(source.sourceId, GPU_IMAGE_ID);
    assert.equal(source.bootVolumeSizeInGbs, "170");
    // Two domains and none pinned: a local command picks one with capacity at `up`, none at preview.
    assert.equal(instance.inputs.availabilityDomain, UNKNOWN);
    const picker = one(result, LOCAL, "engine-availability-domain");
    assert.ok(instance.propertyDependencies.availabilityDomain.includes(picker.urn));
    assert.equal(
      picker.inputs.create,
      `node --import tsx cli/oci-task.ts pick-availability-domain --tenancy-id "\${TENANCY_ID}" --shape 'VM.GPU.A10.1'` +
        ` --availability-domain 'Uocm:US-ASHBURN-AD-1' --availability-domain 'Uocm:US-ASHBURN-AD-2' --region 'us-ashburn-1'`,
    );
    const metadata = instance.inputs.metadata as { user_data: string };
    const userData = Buffer.from(metadata.user_data, "base64").toString("utf8");
    assert.equal(userData, readFileSync(path.join(PROJECT_DIR, "engine-build", "cloud-init.yaml"), "utf8"));
    for (const secret of Object.values(DEV_SECRET_STAND_INS)) assert.equal(userData.includes(secret), false);
    assert.deepEqual(instance.ignoreChanges, ["sourceDetails.sourceId"]);
    assert.notEqual(
      instance.retainOnDelete,
      true,
      "dropping it is the provider's delete, a no-op once terminated",
    );
    assert.ok(
      instance.propertyDependencies.createVnicDetails.includes(one(result, "oci:Core/subnet:Subnet").urn),
    );
  });

  test("the instance carries an expires-at tag of its own clock", () => {
    const instance = one(result, "oci:Core/instance:Instance");
    const clock = one(result, LOCAL, "engine-expiry");
    assert.match(String(clock.inputs.create), /12 \* 3600000/);
    assert.ok(instance.propertyDependencies.freeformTags.includes(clock.urn));
  });

  test("remote steps in order: cloud-init, files, settings, build; then the instance is terminated", () => {
    const wait = one(result, REMOTE, "engine-cloud-init");
    const files = one(result, "command:remote:CopyToRemote", "engine-files");
    const settings = one(result, REMOTE, "engine-settings");
    const build = one(result, REMOTE, "engine-build");
    const terminate = one(result, LOCAL, "engine-terminate");
    assert.ok(files.dependencies.includes(wait.urn));
    assert.ok(settings.dependencies.includes(files.urn));
    assert.ok(build.dependencies.includes(settings.urn));
    assert.ok(build.dependencies.includes(one(result, "oci:Identity/policy:Policy", "engine-policy").urn));
    assert.ok(
      build.dependencies.includes(one(result, "oci:Artifacts/containerRepository:ContainerRepository").urn) ||
        build.dependencies.some((urn) => urn.includes("OcirImage")),
      "the build waits for the image's OCIR repository",
    );
    assert.ok(terminate.dependencies.includes(build.urn));
    assert.equal(
      build.inputs.create,
      "sudo bash /home/opc/engine-build/build-host.sh run --attach-seconds 9900",
      "one link covers twice the Falcon-7B estimate",
    );
    assert.match(
      String(terminate.inputs.create),
      /cli\/oci-task\.ts terminate-instance --instance-id "\$\{INSTANCE_ID\}"/,
    );
    assert.equal(terminate.inputs.delete, undefined, "dropping the build is the instance's own delete");
    assert.deepEqual(build.customTimeouts, { create: "180m", update: "180m", delete: "10m" });
  });

  test("secrets reach the host on stdin only, as a secret", () => {
    const build = one(result, REMOTE, "engine-build");
    assert.ok(build.secretInputs.includes("stdin"));
    assert.equal(
      build.inputs.stdin,
      `${DEV_SECRET_STAND_INS[`${PROJECT}:ocirUsername`]}\n${DEV_SECRET_STAND_INS[`${PROJECT}:ocirAuthToken`]}\n\n`,
    );
    for (const r of result.resources) {
      const plain = JSON.stringify(
        Object.fromEntries(Object.entries(r.inputs).filter(([key]) => !r.secretInputs.includes(key))),
      );
      for (const secret of Object.values(DEV_SECRET_STAND_INS)) {
        assert.equal(plain.includes(secret), false, `${r.urn} carries a secret in a plain input`);
      }
    }
  });

  test("the build host logs in to OCIR as <namespace>/<user>, as the image push does", async () => {
    // The committed stand-in already carries the namespace; a bare user name must get it too.
    const bare = await preview({ exists: false }, { [`${PROJECT}:ocirUsername`]: "jane.doe@example.com" });
    const build = one(bare, REMOTE, "engine-build");
    assert.ok(build.secretInputs.includes("stdin"));
    assert.equal(
      build.inputs.stdin,
      `standinnamespace/jane.doe@example.com\n${DEV_SECRET_STAND_INS[`${PROJECT}:ocirAuthToken`]}\n\n`,
    );
  });

  test("the build host gets the engine settings, the keys and the exact container command", () => {
    const settings = one(result, REMOTE, "engine-settings");
    // The image reference is only known after the push, so a preview sees the command as unknown;
    // the settings themselves are unit-tested in engine-build.test.ts.
    assert.ok(settings.inputs.create === UNKNOWN || typeof settings.inputs.create === "string");
    const files = one(result, "command:remote:CopyToRemote", "engine-files");
    assert.equal(files.inputs.remotePath, "/home/opc");
  });

  test("the catalog model exports the object the build uploads", () => {
    const model = one(result, LOCAL, "model-model");
    const build = one(result, REMOTE, "engine-build");
    assert.ok(model.propertyDependencies.create.includes(build.urn));
    assert.deepEqual(all(result, "oci:DataScience/model:Model"), [], "no provider model and its placeholder");
    assert.deepEqual(all(result, "oci:DataScience/modelArtifactExport:ModelArtifactExport"), []);
    assert.equal(
      all(result, LOCAL).some((r) => r.name === "artifact-upload"),
      false,
      "nothing is uploaded from here",
    );
    const engine = stackOutputs(result).engine as {
      source: string;
      estimate: { mode: string; totalMinutes: number };
    };
    assert.equal(engine.source, "build");
    assert.equal(engine.estimate.mode, "build");
    assert.ok(engine.estimate.totalMinutes > 0);
  });

  test("a new bucket is created, private, versioned, kept on destroy", () => {
    const bucket = one(result, "oci:ObjectStorage/bucket:Bucket");
    assert.equal(bucket.inputs.accessType, "NoPublicAccess");
    assert.equal(bucket.inputs.versioning, "Enabled");
    assert.equal(bucket.inputs.name, `${PROJECT}-dev-artifacts`);
    assert.equal(bucket.retainOnDelete, true);
    assert.equal(bucket.importId, "");
  });
});

describe("cache hits and the run after a build", { timeout: TIMEOUT_MS * 6 }, () => {
  let keys: { engineKey: string; artifactKey: string };
  before(async () => {
    keys = engineKeys(await preview());
  });

  test("engine hit, artifact miss: re-assembled and validated on an instance of the build's GPU shape", async () => {
    const result = await preview({
      exists: true,
      objects: { [`engines/${keys.engineKey}/manifest.json`]: JSON.stringify(manifestFor(keys)) },
    });
    const instance = one(result, "oci:Core/instance:Instance");
    // Triton serves the re-packed artifact before it is uploaded: the GPU shape and its GPU image.
    assert.equal(instance.inputs.shape, "VM.GPU.A10.1");
    assert.equal(instance.inputs.shapeConfig, undefined);
    const source = instance.inputs.sourceDetails as { sourceId: string; bootVolumeSizeInGbs: string };
    assert.equal(source.sourceId, GPU_IMAGE_ID);
    // The unpacked image and four copies of the engine (build-estimate.ts assembleBootVolumeGB).
    assert.equal(source.bootVolumeSizeInGbs, "160");
    const engine = stackOutputs(result).engine as {
      source: string;
      estimate: { shape: string; mode: string };
    };
    assert.equal(engine.source, "engine-hit");
    assert.deepEqual([engine.estimate.mode, engine.estimate.shape], ["assemble", "VM.GPU.A10.1"]);
  });

  test("artifact hit: no instance at all, the catalog model exports the cached object, the bucket is adopted", async () => {
    const manifest = manifestFor(keys);
    const result = await preview({
      exists: true,
      objects: { [`artifacts/${keys.artifactKey}/manifest.json`]: JSON.stringify(manifest) },
    });
    assert.equal(
      result.resources.some((r) => r.type === ENGINE_BUILD),
      false,
    );
    assert.deepEqual(all(result, "oci:Core/instance:Instance"), []);
    assert.deepEqual(all(result, REMOTE), []);
    const model = one(result, LOCAL, "model-model");
    assert.deepEqual(
      model.propertyDependencies.create.filter((urn) => urn.includes("EngineBuild")),
      [],
    );
    const bucket = one(result, "oci:ObjectStorage/bucket:Bucket");
    assert.equal(bucket.importId, `n/standinnamespace/b/${PROJECT}-dev-artifacts`);
    assert.equal(bucket.retainOnDelete, true);
    const outputs = stackOutputs(result);
    assert.deepEqual(outputs.artifactObject, {
      bucket: `${PROJECT}-dev-artifacts`,
      object: manifest.object,
      sha256: manifest.sha256,
      bytes: manifest.bytes,
    });
  });

  test("a public bucket of the stack's name stops the run before any resource", async () => {
    const result = await launchProgram({
      ...(await devStackLaunchOptions({}, undefined, { exists: true, accessType: "ObjectRead" })),
      timeoutMs: TIMEOUT_MS,
    });
    assert.notEqual(result.exitCode, 0);
    const errors = result.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    assert.match(errors, /artifact\.bucketName = .*public access \("ObjectRead"\)/);
    assert.deepEqual(
      result.resources.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });

  test("the run after a build drops the build resources and changes nothing else", async () => {
    // Relative, as `.cache` is in real use: the placeholder's path is an input of the model.
    const cacheDir = projectScratchCache();
    const manifest = manifestFor(keys);
    const launch = async (bucket: BucketContents) =>
      launchProgram({
        ...(await devStackLaunchOptions(TENANCY_OCIDS, undefined, bucket)),
        resourceOutputs: upOutputs(`${JSON.stringify(manifest)}\n`),
        env: { TRITON_TRTLLM_OCI_CACHE_DIR: cacheDir },
        dryRun: false,
        timeoutMs: TIMEOUT_MS,
      });
    const built = await launch({ exists: false });
    assert.equal(built.exitCode, 0, built.stderr);

    const wait = one(built, REMOTE, "engine-cloud-init");
    const connection = wait.inputs.connection as {
      user: string;
      dialErrorLimit: number;
      perDialTimeout: number;
    };
    assert.equal(connection.user, "opc");
    assert.ok(
      connection.dialErrorLimit * connection.perDialTimeout >= 30 * 60,
      "dials cover a booting GPU VM",
    );
    const settings = decodeSettings(one(built, REMOTE, "engine-settings").inputs.create);
    assert.equal(settings.BUILD_MODE, "build");
    assert.equal(settings.ARTIFACT_KEY, keys.artifactKey);
    assert.equal(settings.ENGINE_PREFIX, `engines/${keys.engineKey}/`);
    // The shared mirror's reference to the source digest (image.mirror oci, the default).
    assert.equal(
      settings.IMAGE_REF,
      `us-ashburn-1.ocir.io/standinnamespace/triton-trtllm-oci/tritonserver:25.04-trtllm-python-py3@${SOURCE_DIGEST}`,
    );
    assert.equal(settings.VALIDATION_EXPECT, "Paris");
    const md = one(built, "oci:DataScience/modelDeployment:ModelDeployment");
    const container = (
      md.inputs.modelDeploymentConfigurationDetails as {
        environmentConfigurationDetails: {
          cmds: string[];
          entrypoints?: string[];
          environmentVariables: Record<string, string>;
          serverPort: number;
        };
      }
    ).environmentConfigurationDetails;
    assert.deepEqual(
      JSON.parse(settings.CONTAINER_CMD),
      container.cmds,
      "Triton is validated with the deployment's command",
    );
    assert.deepEqual(JSON.parse(settings.CONTAINER_ENTRYPOINT), container.entrypoints ?? []);
    assert.deepEqual(JSON.parse(settings.CONTAINER_ENV), container.environmentVariables);
    assert.equal(Number(settings.HTTP_PORT), container.serverPort);
    for (const secret of Object.values(DEV_SECRET_STAND_INS)) {
      assert.equal(JSON.stringify(settings).includes(secret), false);
    }
    const after = await launch({
      exists: true,
      objects: { [`artifacts/${keys.artifactKey}/manifest.json`]: JSON.stringify(manifest) },
    });
    assert.equal(after.exitCode, 0, after.stderr);

    for (const r of built.resources) {
      const text = JSON.stringify({ inputs: r.inputs, outputs: r.outputs ?? {} });
      assert.equal(text.includes(PROJECT_DIR), false, `${r.urn} names the project folder`);
    }
    const files = one(built, "command:remote:CopyToRemote", "engine-files");
    const archive = files.inputs.source as AssetOrArchive;
    assert.equal(archive.kind, "archive");
    assert.match(
      String(archive.fields.path),
      /^\.cache\/stack-test-[^/]+\/build-host\/[0-9a-f]{32}\/engine-build$/,
    );

    const buildUrns = underEngineBuild(built);
    assert.ok(buildUrns.size > 10, "the first run built");
    assert.equal(underEngineBuild(after).size, 0, "the next run registers no build resource");
    const kept = built.resources.filter((r) => !buildUrns.has(r.urn));
    assert.deepEqual(
      after.resources.map((r) => r.urn).sort(),
      kept.map((r) => r.urn).sort(),
      "the same resources outside the build",
    );
    for (const before of kept) {
      const now = after.resources.find((r) => r.urn === before.urn);
      assert.ok(now);
      assert.deepEqual(
        now.inputs,
        before.inputs,
        `${before.urn} keeps its inputs: nothing is updated or replaced`,
      );
    }
    assert.deepEqual(stackOutputs(after).artifactObject, stackOutputs(built).artifactObject);
    rmSync(path.join(PROJECT_DIR, cacheDir), { recursive: true, force: true });
  });
});

describe("hand-built engine (engine.prebuiltDir)", { timeout: TIMEOUT_MS * 4 }, () => {
  let result: LaunchResult;
  let cacheDir: string;
  before(async () => {
    // A cache under the project, named relatively, as `.cache` is in real use.
    cacheDir = projectScratchCache();
    const workspace = { ...devStackWorkspace(), cacheDir };
    result = await launchProgram({
      ...(await devStackLaunchOptions({}, { ...workspace, cacheDir: path.join(PROJECT_DIR, cacheDir) })),
      env: { TRITON_TRTLLM_OCI_CACHE_DIR: cacheDir },
      timeoutMs: TIMEOUT_MS,
    });
    assert.equal(result.exitCode, 0, result.stderr);
  });

  test("no build instance; the zip is packed here and uploaded by a command that skips what the bucket has", () => {
    assert.equal(
      result.resources.some((r) => r.type === ENGINE_BUILD),
      false,
    );
    const upload = one(result, LOCAL, "artifact-upload");
    const create = String(upload.inputs.create);
    const sha256 = /--sha256 ([0-9a-f]{64})/.exec(create)?.[1];
    assert.ok(sha256, create);
    assert.match(create, new RegExp(`--object 'artifacts/triton-${sha256}\\.zip'`));
    assert.match(create, /--bucket 'triton-trtllm-oci-dev-artifacts'/);
    assert.equal(upload.inputs.delete, undefined, "nothing is ever deleted from the bucket");
    const zipDir = path.join(PROJECT_DIR, cacheDir, "artifacts");
    const zip = readdirSync(zipDir).find((name) => name.endsWith(".zip"));
    assert.ok(zip);
    const zipPath = path.join(zipDir, zip);
    assert.equal(createHash("sha256").update(readFileSync(zipPath)).digest("hex"), sha256);
    const listing = execFileSync("unzip", ["-Z1", zipPath], { encoding: "utf8" }).trim().split("\n");
    for (const expected of [
      "triton/ensemble/config.pbtxt",
      "triton/ensemble/1/",
      "triton/preprocessing/1/model.py",
      "triton/tensorrt_llm/1/rank0.engine",
      "triton/tokenizer/tokenizer.json",
    ]) {
      assert.ok(listing.includes(expected), `${expected} in the artifact`);
    }
    assert.equal(
      listing.some((entry) => entry.endsWith(".safetensors")),
      false,
      "weights stay out",
    );
  });

  test("state holds no path of this machine: no absolute path in any input or output", () => {
    for (const r of result.resources) {
      const text = JSON.stringify({ inputs: r.inputs, outputs: r.outputs ?? {} });
      assert.equal(text.includes(PROJECT_DIR), false, `${r.urn} names the project folder`);
      assert.equal(/"\/tmp\/|\\"\/tmp\//.test(text), false, `${r.urn} names a temporary folder`);
    }
  });

  test("the catalog model: made after the upload and the IAM, replaced whole, its id only once it holds the zip", () => {
    const deployment = one(result, "oci:DataScience/modelDeployment:ModelDeployment");
    const model = one(result, LOCAL, "model-model");
    const details = deployment.inputs.modelDeploymentConfigurationDetails as {
      modelConfigurationDetails: { modelId: string };
    };
    // The model's OCID is the command's stdout: known only once the export is verified.
    assert.equal(details.modelConfigurationDetails.modelId, UNKNOWN);
    assert.ok(deployment.propertyDependencies.modelDeploymentConfigurationDetails.includes(model.urn));
    assert.ok(model.propertyDependencies.create.includes(one(result, LOCAL, "artifact-upload").urn));
    for (const policy of all(result, "oci:Identity/policy:Policy"))
      assert.ok(model.dependencies.includes(policy.urn), `the export waits for ${policy.name}`);
    // `triggers[*]` is the command SDK's own (@pulumi/command local/command.js), "*" is ours.
    assert.ok(model.replaceOnChanges.includes("*"), model.replaceOnChanges.join(", "));
    assert.equal(
      model.deleteBeforeReplace ?? false,
      false,
      "create-before-delete: the deployment moves first",
    );
    assert.match(
      String(model.inputs.delete),
      /cli\/oci-task\.ts delete-catalog-model --model-id "\$\{PULUMI_COMMAND_STDOUT\}" --region 'us-ashburn-1'$/,
    );
    assert.deepEqual(model.customTimeouts, { create: "90m", update: "90m", delete: "20m" });
  });

  test("the model's metadata never waits for the image; the deployment carries digest and shape", () => {
    const model = one(result, LOCAL, "model-model");
    const repository = one(result, "oci:Artifacts/containerRepository:ContainerRepository");
    assert.equal(model.propertyDependencies.create?.includes(repository.urn) ?? false, false);
    assert.equal(model.dependencies.includes(repository.urn), false);
    const deployment = one(result, "oci:DataScience/modelDeployment:ModelDeployment");
    assert.ok(
      deployment.propertyDependencies.modelDeploymentConfigurationDetails.includes(repository.urn),
      "the deployment's image waits for the repository",
    );
    const details = deployment.inputs.modelDeploymentConfigurationDetails as {
      environmentConfigurationDetails: { imageDigest: string };
    };
    assert.equal(details.environmentConfigurationDetails.imageDigest, SOURCE_DIGEST);
    // A container change replaces it, the new one first (components/triton-deployment.ts says why).
    assert.equal(deployment.deleteBeforeReplace, undefined);
    assert.ok(
      deployment.replaceOnChanges.includes(
        "modelDeploymentConfigurationDetails.environmentConfigurationDetails.imageDigest",
      ),
      deployment.replaceOnChanges.join(", "),
    );
    assert.deepEqual(deployment.ignoreChanges, []);
  });

  test("destroy needs no Docker daemon", () => {
    const provider = one(result, "pulumi:providers:docker");
    assert.equal(provider.inputs.disableDockerDaemonCheck, "true");
  });

  test("cleanup", () => {
    rmSync(path.join(PROJECT_DIR, cacheDir), { recursive: true, force: true });
  });
});

describe("the catalog model at up", { timeout: TIMEOUT_MS * 3 }, () => {
  const MODEL_ID = "ocid1.datasciencemodel.oc1.iad.amaaaaaastandinmodelstandinmodelstandinmodel";
  const PROOF = {
    answer: " Paris.",
    latencyMs: 640,
    firstByteMs: 640,
    checkedAt: "2026-12-03T20:00:00.000Z",
  };

  test("an artifact hit: the model is made from the cached object, and the deployment serves its OCID", async () => {
    const keys = engineKeys(await preview());
    const manifest = manifestFor(keys);
    const result = await launchProgram({
      ...(await devStackLaunchOptions(TENANCY_OCIDS, undefined, {
        exists: true,
        objects: { [`artifacts/${keys.artifactKey}/manifest.json`]: JSON.stringify(manifest) },
      })),
      dryRun: false,
      // The command's stdout is the model's OCID alone (operations/up-tasks/catalog-model.ts); the proof's
      // is its one JSON line (operations/up-tasks/endpoint-proof.ts).
      resourceOutputs: upOutputs("", (name) =>
        name === "model-model"
          ? { stdout: MODEL_ID }
          : name === "triton-proof"
            ? { stdout: `${JSON.stringify(PROOF)}\n` }
            : { stdout: "" },
      ),
      timeoutMs: TIMEOUT_MS,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    const create = String(one(result, LOCAL, "model-model").inputs.create);
    assert.match(create, /^node --import tsx cli\/oci-task\.ts create-catalog-model /);
    assert.match(
      create,
      new RegExp(`--object '${manifest.object}' --bytes ${manifest.bytes} --region 'us-ashburn-1'$`),
    );
    assert.match(create, /--namespace 'standinnamespace' --bucket 'triton-trtllm-oci-dev-artifacts'/);
    assert.match(
      create,
      new RegExp(`--description 'Triton TensorRT-LLM model repository, artifact sha256:${manifest.sha256}'`),
    );
    assert.match(create, new RegExp(`"key":"artifactSha256","value":"${manifest.sha256}"`));
    const md = one(result, "oci:DataScience/modelDeployment:ModelDeployment");
    const details = md.inputs.modelDeploymentConfigurationDetails as {
      modelConfigurationDetails: { modelId: string };
    };
    assert.equal(details.modelConfigurationDetails.modelId, MODEL_ID);
    assert.equal(stackOutputs(result).modelId, MODEL_ID);
    // `up` ends with the build's known-answer question through the deployment's /predict.
    const proof = one(result, LOCAL, "triton-proof");
    assert.equal(
      proof.inputs.create,
      "node --import tsx cli/oci-task.ts prove-endpoint" +
        " --url 'https://modeldeployment.us-ashburn-1.oci.customer-oci.com/ocid1.md/predict'" +
        ` --body '{"text_input":"The capital of France is","max_tokens":16,"top_k":1,"end_id":11,"pad_id":11}'` +
        " --expect 'Paris' --region 'us-ashburn-1'",
    );
    assert.deepEqual((proof.inputs.triggers as unknown[]).slice(1), [MODEL_ID, SOURCE_DIGEST]);
    assert.ok(proof.dependencies.includes(md.urn), "after the deployment is ACTIVE");
    assert.deepEqual(stackOutputs(result).endpointProof, PROOF);
  });

  test("a failed export stops the run before the deployment is created", async () => {
    const refusal = "the export of artifacts/x.zip into ocid1.datasciencemodel.x failed: NotAuthorized";
    const result = await launchProgram({
      ...(await devStackLaunchOptions(TENANCY_OCIDS, devStackWorkspace())),
      dryRun: false,
      // The create command exits non-zero, as cli/oci-task.ts does for a failed export (catalog-model.test.ts).
      resourceOutputs: upOutputs("", (name) => {
        if (name === "model-model") throw new Error(refusal);
        return { stdout: "" };
      }),
      // A failed create stops the engine; the stand-in has no engine to stop the program, so a short bound.
      timeoutMs: 30_000,
    });
    assert.notEqual(result.exitCode, 0);
    const errors = result.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    assert.match(errors, /the export of artifacts\/x\.zip .* failed/);
    assert.deepEqual(all(result, "oci:DataScience/modelDeployment:ModelDeployment"), []);
  });
});

describe("two stacks of the project", { timeout: TIMEOUT_MS * 3 }, () => {
  test("get no clashing names where OCI wants them unique in the tenancy or region", async () => {
    const names = async (stack: string) => {
      const result = await launchProgram({
        ...(await devStackLaunchOptions()),
        stack,
        timeoutMs: TIMEOUT_MS,
      });
      assert.equal(result.exitCode, 0, result.stderr);
      const pick = (type: string, key: string) => all(result, type).map((r) => String(r.inputs[key]));
      // The shared image mirror is one repository on purpose: each stack adopts the one that exists
      // (test/stack-image-mirror.test.ts), so only repositories a stack creates must differ.
      const ownRepositories = all(result, "oci:Artifacts/containerRepository:ContainerRepository")
        .filter((r) => r.importId === "")
        .map((r) => String(r.inputs.displayName));
      return [
        ...ownRepositories,
        ...pick("oci:Identity/dynamicGroup:DynamicGroup", "name"),
        ...pick("oci:Identity/policy:Policy", "name"),
        ...pick("oci:ObjectStorage/bucket:Bucket", "name"),
        ...pick("oci:Logging/logGroup:LogGroup", "displayName"),
      ].filter((name) => name !== String(UNKNOWN) && !name.includes("Symbol"));
    };
    const dev = await names("dev");
    const qa = await names("qa");
    assert.ok(dev.length >= 6, dev.join(", "));
    assert.deepEqual(
      dev.filter((name) => qa.includes(name)),
      [],
      "no name is shared",
    );
  });
});

describe("dev stack without IAM rights", { timeout: TIMEOUT_MS * 3 }, () => {
  test("with a hand-built engine, iam.create false creates no IAM and exports the statements", async () => {
    const options = await devStackLaunchOptions(
      { [`${PROJECT}:iam`]: JSON.stringify({ create: false }) },
      devStackWorkspace(),
    );
    const result = await launchProgram({ ...options, timeoutMs: TIMEOUT_MS });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(
      result.resources.filter((r) => r.type.startsWith("oci:Identity/")),
      [],
    );
    const statements = stackOutputs(result).iamStatements as { policyStatements: string[] };
    assert.ok(statements.policyStatements.some((s) => s.includes("read repos")));
  });

  test("a build without IAM is refused before any resource, naming the key", async () => {
    const options = await devStackLaunchOptions({
      [`${PROJECT}:iam`]: JSON.stringify({ create: false }),
      [`${PROJECT}:build`]: JSON.stringify({}),
    });
    const result = await launchProgram({ ...options, timeoutMs: TIMEOUT_MS });
    assert.notEqual(result.exitCode, 0);
    const errors = result.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    assert.doesNotMatch(errors, /sshAllowedCidr/, "no address of this machine is asked for");
    assert.match(errors, /iam\.create = false: must be true/);
    assert.deepEqual(
      result.resources.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });
});

describe("dev stack with several errors", { timeout: TIMEOUT_MS * 2 }, () => {
  test("reports every error at once, before any resource but the stack", async () => {
    const options = await devStackLaunchOptions({
      [`${PROJECT}:engine`]: JSON.stringify({ quantization: "fp8", tensorParallel: 2 }),
    });
    const result = await launchProgram({ ...options, timeoutMs: TIMEOUT_MS });
    assert.notEqual(result.exitCode, 0);
    const reported = result.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    assert.match(reported, /engine\.quantization = "fp8": fp8 needs GPU compute capability 8\.9\+/);
    assert.match(reported, /engine\.tensorParallel = 2: must divide the model's 71 query heads/);
    assert.deepEqual(
      result.resources.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });
});

describe("an OpenAI stack (deployment.api openai)", { timeout: TIMEOUT_MS * 3 }, () => {
  test("reuses the dev stack's cached engine, re-assembles its own artifact, and serves and exports the OpenAI API", async () => {
    const triton = await preview();
    const keys = engineKeys(triton);
    assert.equal(stackOutputs(triton).api, "triton");
    assert.equal(stackOutputs(triton).openaiModel, undefined);
    const { config } = await devStackConfig();
    const deployment = JSON.parse(config[`${PROJECT}:deployment`]) as Record<string, unknown>;
    const openai = await preview(
      {
        exists: true,
        objects: { [`engines/${keys.engineKey}/manifest.json`]: JSON.stringify(manifestFor(keys)) },
      },
      { [`${PROJECT}:deployment`]: JSON.stringify({ ...deployment, api: "openai" }) },
    );
    const openaiKeys = engineKeys(openai);
    // The same engine serves either API; the artifact around it is the OpenAI stack's own.
    assert.equal(openaiKeys.engineKey, keys.engineKey);
    assert.notEqual(openaiKeys.artifactKey, keys.artifactKey);
    assert.equal((stackOutputs(openai).engine as { source: string }).source, "engine-hit");
    const md = one(openai, "oci:DataScience/modelDeployment:ModelDeployment");
    const environment = (
      md.inputs.modelDeploymentConfigurationDetails as {
        environmentConfigurationDetails: Record<string, unknown>;
      }
    ).environmentConfigurationDetails;
    assert.equal(environment.predictApiSpecification, "openai");
    assert.deepEqual((environment.cmds as string[]).slice(0, 2), [
      "python3",
      "/opt/ds/model/deployed_model/triton/openai_frontend.py",
    ]);
    assert.equal(stackOutputs(openai).api, "openai");
    assert.equal(stackOutputs(openai).openaiModel, "odsc-llm");
  });
});

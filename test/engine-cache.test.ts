// The engine cache's keys, manifests and decisions, and what the build instance is told: pure
// functions, tested without Pulumi. The keys must change with everything that makes the engine (or
// the artifact) and with nothing else, and be the same on every machine.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";

import { artifactKey, canonicalJson, engineKey, engineKeyInputs } from "../components/artifact/cache-keys";
import { chooseEngineSource, parseBuildManifest } from "../components/artifact/engine-cache";
import { buildBootVolumeGB, estimateBuild, imageCompressedGB } from "../components/config/build-estimate";
import { containerSpec } from "../components/deployment/container-spec";
import { pickPlatformImage } from "../components/build/inputs";
import { buildRefusals } from "../components/config/rules/build";
import {
  buildHostFiles,
  buildSettingsCommand,
  renderBuildEnv,
  stageBuildHostFiles,
} from "../components/build/host-plan";
import { expiryCommand } from "../components/deployment/expiry";
import { validationRequestBody } from "../components/deployment/stack-outputs";
import { modelRepositorySpec, renderModelRepository } from "../components/model-repository";
import { containerSpecInput } from "../components/config/rules";
import { PROJECT_DIR } from "./support/dev-stack";
import { configWith, standinBuildSettings, validConfig } from "./support/stack-fixtures";

const BASE = { "engine.prebuiltDir": undefined, "model.localDir": undefined };
const base = () => validConfig(BASE);

function keysOf(overrides: Record<string, unknown>) {
  const config = validConfig({ ...BASE, ...overrides });
  const repository = renderModelRepository(modelRepositorySpec(config));
  const engine = engineKey(engineKeyInputs(config));
  return { engine, artifact: artifactKey(engine, repository, config.serving.repositoryFolder) };
}

describe("cache keys", () => {
  const reference = keysOf({});

  for (const [name, overrides] of [
    ["model revision", { "model.revision": "0123456789abcdef0123456789abcdef01234567" }],
    ["model id", { "model.huggingFaceId": "tiiuae/falcon-7b", "engine.maxBatchSize": 32 }],
    [
      "image",
      { "image.source": `nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@sha256:${"2".repeat(64)}` },
    ],
    ["GPU model of the build shape", { "deployment.shape": "BM.GPU.L40S.4", "engine.tensorParallel": 1 }],
    ["dtype", { "engine.dtype": "float16" }],
    ["quantization", { "engine.quantization": "int4_awq" }],
    ["max batch size", { "engine.maxBatchSize": 16 }],
    ["max input length", { "engine.maxInputLen": 512 }],
    ["max output length", { "engine.maxOutputLen": 512 }],
  ] as const) {
    test(`the engine key changes with the ${name}, and so does the artifact key`, () => {
      const changed = keysOf(overrides);
      assert.notEqual(changed.engine, reference.engine);
      assert.notEqual(changed.artifact, reference.artifact);
    });
  }

  test("the engine key changes with tensor parallelism", () => {
    const eight = (tp: number) =>
      engineKey(
        engineKeyInputs(
          configWith({ ...BASE, "deployment.shape": "BM.GPU4.8", "engine.tensorParallel": tp }),
        ),
      );
    assert.notEqual(eight(8), eight(1));
  });

  for (const [name, overrides] of [
    ["a serving knob", { "serving.kvCacheFreeGpuMemFraction": 0.8 }],
    ["streaming", { "deployment.streaming": true }],
    ["the repository folder", { "serving.repositoryFolder": "model" }],
  ] as const) {
    test(`${name} changes the artifact key, never the engine key`, () => {
      const changed = keysOf(overrides);
      assert.equal(changed.engine, reference.engine);
      assert.notEqual(changed.artifact, reference.artifact);
    });
  }

  for (const [name, overrides] of [
    ["instance count", { "deployment.instanceCount": 3 }],
    ["bandwidth", { "deployment.bandwidthMbps": 100 }],
    ["another A10 shape", { "deployment.shape": "VM.GPU.A10.2" }],
    ["the TTL", { "evaluation.ttlHours": 2 }],
    ["the SSH source", { "build.sshAllowedCidr": "198.51.100.4/32" }],
    ["the bucket name", { "artifact.bucketName": "shared-cache" }],
  ] as const) {
    test(`${name} changes neither key`, () => {
      assert.deepEqual(keysOf(overrides), reference);
    });
  }

  test("the keys are the same on every machine: another home, user, host and time zone", () => {
    const script = `
      import { artifactKey, engineKey, engineKeyInputs } from "../components/artifact/cache-keys";
      import { modelRepositorySpec, renderModelRepository } from "../components/model-repository";
      import { validConfig } from "./support/stack-fixtures";
      const config = validConfig({ "engine.prebuiltDir": undefined, "model.localDir": undefined });
      const engine = engineKey(engineKeyInputs(config));
      console.log(JSON.stringify({ engine, artifact: artifactKey(engine, renderModelRepository(modelRepositorySpec(config)), "triton") }));
    `;
    const scratch = mkdtempSync(path.join(tmpdir(), "keys-"));
    const file = path.join(PROJECT_DIR, "test", `.keys-${process.pid}.ts`);
    writeFileSync(file, script);
    try {
      const out = execFileSync(process.execPath, ["--import", "tsx", file], {
        cwd: PROJECT_DIR,
        env: { ...process.env, HOME: scratch, USER: "someone-else", HOSTNAME: "elsewhere", TZ: "Asia/Tokyo" },
        encoding: "utf8",
      });
      assert.deepEqual(JSON.parse(out), reference);
    } finally {
      execFileSync("rm", ["-f", file]);
    }
  });

  test("canonical JSON sorts keys at every level and drops undefined", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } }),
      '{"a":{"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
});

describe("build manifests and the engine source", () => {
  const manifest = {
    schema: 1,
    mode: "build",
    engineKey: "e".repeat(64),
    artifactKey: "a".repeat(64),
    object: `artifacts/${"a".repeat(64)}/model.zip`,
    sha256: "5".repeat(64),
    bytes: 123,
  };

  test("the last line of a build's output is its manifest", () => {
    assert.equal(parseBuildManifest(`progress\n${JSON.stringify(manifest)}\n`, "build").bytes, 123);
  });

  test("anything else is refused with where it came from", () => {
    assert.throws(
      () => parseBuildManifest("no json", "bucket/x.json"),
      /bucket\/x\.json is not a build manifest \(not JSON\)/,
    );
    assert.throws(
      () => parseBuildManifest(JSON.stringify({ ...manifest, sha256: "nope" }), "bucket/x.json"),
      /bucket\/x\.json is not a build manifest: sha256/,
    );
  });

  test("prebuilt wins; then the artifact; then the engine; else a build", () => {
    const parsed = parseBuildManifest(JSON.stringify(manifest), "m");
    assert.equal(
      chooseEngineSource(true, { bucketExists: true, engineCached: true, artifactManifest: parsed }).kind,
      "prebuilt",
    );
    assert.equal(
      chooseEngineSource(false, { bucketExists: true, engineCached: true, artifactManifest: parsed }).kind,
      "artifact-hit",
    );
    assert.equal(chooseEngineSource(false, { bucketExists: true, engineCached: true }).kind, "engine-hit");
    assert.equal(chooseEngineSource(false, { bucketExists: false, engineCached: false }).kind, "build");
  });
});

describe("build preconditions and platform images", () => {
  test("a build needs IAM and no address of this machine; a cache hit or a hand-built engine needs neither", () => {
    const config = configWith({ ...BASE, "build.sshAllowedCidr": undefined, "iam.create": false });
    const build = buildRefusals(config, { mode: "build", hfTokenSet: false });
    assert.deepEqual(
      build.errors.map((e) => e.key),
      ["iam.create"],
    );
    assert.deepEqual(build.unset, []);
    assert.deepEqual(buildRefusals(config, { mode: undefined, hfTokenSet: false }), {
      errors: [],
      unset: [],
    });
    const assemble = buildRefusals(config, { mode: "assemble", hfTokenSet: false });
    assert.match(assemble.errors[0].message, /re-assembles it and validates it in Triton on a GPU instance/);
  });

  test("an existing public bucket is refused", () => {
    const { errors } = buildRefusals(base(), {
      mode: undefined,
      hfTokenSet: false,
      bucket: { name: "shared", exists: true, accessType: "ObjectReadWithoutList" },
    });
    assert.equal(errors[0].key, "artifact.bucketName");
    assert.match(errors[0].fix, /--public-access-type NoPublicAccess/);
  });

  test("the newest GPU image for GPU shapes, the plain x86 one otherwise, never Arm", () => {
    const images = [
      { id: "arm", displayName: "Oracle-Linux-8.10-aarch64-2025.10.31-0" },
      { id: "gpu-new", displayName: "Oracle-Linux-8.10-Gen2-GPU-2025.10.31-0" },
      { id: "cpu-new", displayName: "Oracle-Linux-8.10-2025.10.31-0" },
      { id: "gpu-old", displayName: "Oracle-Linux-8.9-Gen2-GPU-2024.05.01-0" },
    ];
    assert.equal(pickPlatformImage(images, { gpu: true, shape: "VM.GPU.A10.1" }), "gpu-new");
    assert.equal(pickPlatformImage(images, { gpu: false, shape: "VM.Standard.E4.Flex" }), "cpu-new");
    assert.throws(
      () => pickPlatformImage([images[0]], { gpu: true, shape: "VM.GPU.A10.1" }),
      /no Oracle Linux 8 GPU platform image is listed for VM\.GPU\.A10\.1/,
    );
  });
});

describe("what the build host is told", () => {
  const config = validConfig({
    ...BASE,
    "build.validation.prompt": "What's \"new\"? It's $HOME `x`",
    "build.validation.expect": "$(echo nothing) 'runs'",
    "deployment.environment": { GREETING: 'it\'s "quoted" $HOME' },
  });
  const container = containerSpec(containerSpecInput(config));
  const settings = standinBuildSettings(config);

  test("build.env round-trips through bash's source, quotes, dollars and backticks included", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "build-env-"));
    writeFileSync(path.join(dir, "build.env"), renderBuildEnv(settings));
    const names = Object.keys(settings);
    const script = `set -euo pipefail; source ${path.join(dir, "build.env")}; for n in ${names.join(" ")}; do printf '%s\\0' "\${!n}"; done`;
    const values = execFileSync("bash", ["-c", script], { encoding: "utf8" }).split("\0").slice(0, -1);
    assert.equal(values.length, names.length);
    assert.deepEqual(Object.fromEntries(names.map((n, i) => [n, values[i]])), settings);
    assert.deepEqual(JSON.parse(settings.CONTAINER_CMD), container.cmds);
    assert.deepEqual(JSON.parse(settings.CONTAINER_ENTRYPOINT), container.entrypoints);
    assert.deepEqual(JSON.parse(settings.CONTAINER_ENV), container.environment);
    assert.equal(settings.VALIDATION_EXPECT, "$(echo nothing) 'runs'");
  });

  test("build-host.sh accepts the build.env the program writes: every setting present and valid", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "build-env-check-"));
    // The host folder exactly as the program stages and copies it.
    const repository = renderModelRepository(modelRepositorySpec(config));
    const staged = stageBuildHostFiles(
      buildHostFiles({
        projectDir: PROJECT_DIR,
        repository,
        validationRequest: { text_input: "hi" },
        packerBundle: "// bundle",
      }),
      dir,
      dir,
    );
    const hostScript = path.join(dir, staged, "build-host.sh");
    // The pipeline reads and checks build.env first, then stops at the first tool this machine lacks
    // (nvidia-smi, docker); a settings problem would be reported as `build.env: ...` before that.
    const pipelineErrors = (env: Record<string, string>, work: string): string => {
      writeFileSync(path.join(dir, "build.env"), renderBuildEnv(env));
      try {
        execFileSync("bash", [hostScript, "pipeline"], {
          env: {
            PATH: "/usr/bin:/bin",
            BUILD_ENV: path.join(dir, "build.env"),
            WORK_DIR: path.join(dir, work),
            SECRETS_DIR: path.join(dir, `${work}-secrets`),
            ENGINE_BUILD_LAUNCHER: "foreground",
          },
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
        return "";
      } catch (error) {
        return String((error as { stderr?: string }).stderr ?? "");
      }
    };
    const stderr = pipelineErrors(settings, "work");
    assert.doesNotMatch(stderr, /build\.env: /, stderr);
    const result = pipelineErrors(
      { ...settings, MAX_BATCH_SIZE: "lots", IMAGE_REF: "docker.io/x:latest" },
      "work2",
    );
    assert.match(result, /MAX_BATCH_SIZE='lots' is invalid/);
    assert.match(result, /IMAGE_REF='docker\.io\/x:latest' is invalid/);
  });

  test("an OpenAI stack's build.env names the API and the served model, and build-host.sh accepts it", () => {
    const openai = validConfig({ ...BASE, "deployment.api": "openai" });
    const openaiSettings = standinBuildSettings(openai);
    assert.equal(openaiSettings.API, "openai");
    assert.equal(openaiSettings.OPENAI_MODEL, "odsc-llm");
    assert.equal("API" in settings, false, "a Triton stack's settings are as they were");
    const dir = mkdtempSync(path.join(tmpdir(), "build-env-openai-"));
    const staged = stageBuildHostFiles(
      buildHostFiles({
        projectDir: PROJECT_DIR,
        repository: renderModelRepository(modelRepositorySpec(openai)),
        validationRequest: validationRequestBody(openai),
        packerBundle: "// bundle",
      }),
      dir,
      dir,
    );
    const check = (env: Record<string, string>): string => {
      writeFileSync(path.join(dir, "build.env"), renderBuildEnv(env));
      try {
        execFileSync("bash", [path.join(dir, staged, "build-host.sh"), "pipeline"], {
          env: {
            PATH: "/usr/bin:/bin",
            BUILD_ENV: path.join(dir, "build.env"),
            WORK_DIR: path.join(dir, "work"),
            SECRETS_DIR: path.join(dir, "secrets"),
            ENGINE_BUILD_LAUNCHER: "foreground",
          },
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
        return "";
      } catch (error) {
        return String((error as { stderr?: string }).stderr ?? "");
      }
    };
    const accepted = check(openaiSettings);
    assert.doesNotMatch(accepted, /build\.env: /, accepted);
    const refused = check({ ...openaiSettings, API: "vllm", OPENAI_MODEL: "" });
    assert.match(refused, /API='vllm' is invalid: use one of triton openai/);
    const triton = check({
      ...openaiSettings,
      API: "openai",
      CONTAINER_ENV: JSON.stringify({ STORAGE_SIZE_IN_GB: "500" }),
    });
    assert.match(triton, /MODEL_DEPLOY_HEALTH_ENDPOINT=\/health\/ready \(API=openai\)/);
  });

  test("a build is told what the model's config.json must say; a re-assembly is not", () => {
    // The same expectations the build host's tests run with (test/python/build_host.py).
    const fixture = path.join(
      PROJECT_DIR,
      "test",
      "fixtures",
      "hub-configs",
      "expectations--tiiuae--falcon-7b-instruct.json",
    );
    assert.deepEqual(JSON.parse(settings.HF_CONFIG_EXPECT), JSON.parse(readFileSync(fixture, "utf8")));
    const assemble = standinBuildSettings(config, "assemble");
    assert.equal(assemble.HF_CONFIG_EXPECT, undefined);
  });

  test("the settings command writes the file in base64 and holds no newline of its own", () => {
    const command = buildSettingsCommand(settings);
    assert.match(
      command,
      /^printf '%s' '[A-Za-z0-9+/=]+' \| base64 -d > \/home\/opc\/engine-build\/build\.env$/,
    );
  });

  test("a setting with a newline is refused", () => {
    assert.throws(() => renderBuildEnv({ PROMPT: "a\nb" }), /PROMPT holds a newline/);
    assert.throws(() => renderBuildEnv({ "bad-name": "x" }), /is not NAME_LIKE_THIS/);
  });

  test("the host folder: every script, the packer, the repository with its empty version folders, staged once", () => {
    const repository = renderModelRepository(modelRepositorySpec(config));
    const host = buildHostFiles({
      projectDir: PROJECT_DIR,
      repository,
      validationRequest: { text_input: "hi" },
      packerBundle: "// bundle",
    });
    const { files } = host;
    assert.ok(
      files.has("build-host.sh") && files.has("build-engine.sh") && files.has("package-artifact.cjs"),
    );
    assert.equal(files.get("build-host.sh")?.mode, 0o755);
    // Everything build-host.sh sources comes along, by its path relative to the script.
    const hostScript = readFileSync(path.join(PROJECT_DIR, "engine-build", "build-host.sh"), "utf8");
    const sourced = [...hostScript.matchAll(/^source "\$\{script_dir\}\/(.+)"$/gm)].map((match) => match[1]);
    assert.ok(sourced.includes("lib/launch.sh") && sourced.includes("steps/validate.sh"), sourced.join(", "));
    for (const file of sourced) assert.equal(files.get(file)?.mode, 0o755, file);
    assert.ok(files.has("repository/triton/ensemble/config.pbtxt"));
    assert.ok(host.directories.includes("repository/triton/ensemble/1"), host.directories.join(", "));
    const cache = mkdtempSync(path.join(tmpdir(), "host-files-"));
    const first = stageBuildHostFiles(host, cache, cache);
    const staged = path.join(cache, first);
    const mtime = statSync(path.join(staged, "build-host.sh")).mtimeMs;
    assert.equal(stageBuildHostFiles(host, cache, cache), first, "same content, same folder");
    assert.equal(statSync(path.join(staged, "build-host.sh")).mtimeMs, mtime, "written once");
    assert.ok(!path.isAbsolute(first) && first.endsWith("engine-build"));
    assert.ok(statSync(path.join(staged, "repository", "triton", "ensemble", "1")).isDirectory());
    assert.ok(statSync(path.join(staged, "steps", "validate.sh")).isFile());
    assert.deepEqual(readdirSync(path.join(cache, "build-host")).length, 1);
  });
});

describe("estimates", () => {
  test("Falcon-7B bf16 on an A10: a 170 GB boot volume, about an hour, under 2 USD", () => {
    const config = base();
    assert.equal(buildBootVolumeGB(config), 170);
    const build = estimateBuild(config, "build");
    assert.equal(build.shape, "VM.GPU.A10.1");
    assert.ok(build.totalMinutes >= 40 && build.totalMinutes <= 70, String(build.totalMinutes));
    assert.equal(build.usd, Math.round(((2 * build.totalMinutes) / 60) * 100) / 100);
  });

  test("a re-assembly runs on the build's GPU shape: the image pull and Triton's validation, no download or engine build", () => {
    const config = base();
    const build = estimateBuild(config, "build");
    const assemble = estimateBuild(config, "assemble");
    assert.equal(assemble.shape, "VM.GPU.A10.1");
    assert.equal(assemble.usdPerHour, build.usdPerHour);
    assert.deepEqual(Object.keys(assemble.minutes), [
      "provision",
      "cloudInit",
      "imagePull",
      "engineDownload",
      "pack",
      "validate",
      "upload",
    ]);
    assert.equal(assemble.minutes.imagePull, build.minutes.imagePull);
    assert.equal(assemble.minutes.validate, build.minutes.validate);
    // The 17 GB image pulls for 8.5 min while the 13.8 GB engine downloads in 2.3: the pair counts
    // once, at the pull's minutes. 3 + 12 + 8.5 + 0.8 (pack) + 7.3 (validate) + 1.2 (upload) = 32.8.
    assert.equal(assemble.totalMinutes, 33);
    assert.equal(assemble.usd, 1.1);
    // The unpacked image beside four copies of the engine: 50 + 42.5 + 4 x 14.43 GB, up to 160.
    assert.equal(assemble.bootVolumeGB, 160);
    assert.ok(assemble.totalMinutes < build.totalMinutes && assemble.usd < build.usd);
  });

  test("Falcon-40B on 8 A100s needs a bigger disk and costs more", () => {
    const config = configWith({
      ...BASE,
      "model.huggingFaceId": "tiiuae/falcon-40b-instruct",
      "deployment.shape": "BM.GPU4.8",
      "engine.tensorParallel": 8,
    });
    assert.ok(buildBootVolumeGB(config) >= 500);
    assert.ok(estimateBuild(config, "build").usd > estimateBuild(base(), "build").usd);
  });

  test("image sizes by tag, the largest for an unknown one", () => {
    assert.equal(
      imageCompressedGB(`nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3@sha256:${"1".repeat(64)}`),
      17,
    );
    assert.equal(imageCompressedGB("registry.example/triton:custom"), 34);
  });

  test("expiry clocks print now + hours to the second", () => {
    const before = Date.now();
    const printed = execFileSync("bash", ["-c", expiryCommand(2)], { encoding: "utf8" }).trim();
    assert.match(printed, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const at = Date.parse(printed);
    assert.ok(at >= before + 2 * 3_600_000 - 1000 && at <= Date.now() + 2 * 3_600_000);
    assert.throws(() => expiryCommand(0), /positive number of hours/);
  });
});

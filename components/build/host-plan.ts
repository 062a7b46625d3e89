/**
 * What the build host is told, as pure functions: the settings file, the commands the Pulumi
 * component runs over SSH, the folder copied to the host, and the instance's boot volume. Kept out of
 * the component so each is tested on its own; `engine-build/build-host.sh` documents the receiving
 * side of every name used here.
 */
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { ENGINE_RECIPE_VERSION, cacheObjects } from "../artifact/cache-keys";
import type { StackConfig } from "../config/config";
import { awqBlockSize } from "../config/rules/awq";
import type { ContainerSpec } from "../deployment/container-spec";
import type { RepositoryEntry } from "../model-repository";
import { shellQuote } from "../deployment/oci-task-commands";
import { imageCopySettings } from "../deployment/ocir";
import { OPENAI_MODEL } from "../deployment/openai-frontend";
import { configExpectations } from "./model-config-check";

export const BUILD_HOST_USER = "opc";
export const REMOTE_BUILD_DIR = `/home/${BUILD_HOST_USER}/engine-build`;

/** Written by the last command of `engine-build/cloud-init.yaml`'s setup: the host is ready. */
export const HOST_READY_MARKER = "/var/lib/engine-build/host-ready";
const CLOUD_INIT_LOG = "/var/log/cloud-init-output.log";

/**
 * Waits for cloud-init; when it failed, shows why in the Pulumi error. `cloud-init status --wait`
 * exits 0 when done, 1 on a critical failure and 2 when done with recoverable errors, deprecation
 * warnings included (cloud-init's `status` command reference, docs.cloud-init.io, "Exit codes"): 2 is success only when our own setup reached its end and
 * wrote the marker, since a failed runcmd step is also reported as 2.
 */
export function cloudInitWaitCommand(paths: { marker: string; log: string }): string {
  const marker = shellQuote(paths.marker);
  const log = shellQuote(paths.log);
  return [
    "rc=0",
    "cloud-init status --wait >/dev/null 2>&1 || rc=$?",
    `if [ "$rc" -eq 0 ]; then exit 0; fi`,
    `if [ "$rc" -eq 2 ] && sudo test -f ${marker}; then echo "cloud-init finished with recoverable errors (exit 2); the setup completed (${paths.marker})" >&2; exit 0; fi`,
    `echo "cloud-init failed (exit $rc$([ "$rc" -eq 2 ] && echo ', and the setup never wrote ${paths.marker}')); last lines of ${paths.log}:" >&2`,
    `sudo tail -n 80 ${log} >&2`,
    "exit 1",
  ].join("; ");
}

export const CLOUD_INIT_WAIT_COMMAND = cloudInitWaitCommand({
  marker: HOST_READY_MARKER,
  log: CLOUD_INIT_LOG,
});

const SETTING_NAME = /^[A-Z][A-Z0-9_]*$/;

/** `build.env`: one `NAME='value'` line per setting, sorted, no secret among them. */
export function renderBuildEnv(settings: Readonly<Record<string, string>>): string {
  return Object.keys(settings)
    .sort()
    .map((name) => {
      if (!SETTING_NAME.test(name))
        throw new Error(`build setting name ${JSON.stringify(name)} is not NAME_LIKE_THIS`);
      if (/[\n\0]/.test(settings[name])) throw new Error(`build setting ${name} holds a newline or NUL`);
      return `${name}=${shellQuote(settings[name])}\n`;
    })
    .join("");
}

/** Writes `build.env` on the host; base64 keeps the command free of quoting surprises. */
export function buildSettingsCommand(settings: Readonly<Record<string, string>>): string {
  const encoded = Buffer.from(renderBuildEnv(settings), "utf8").toString("base64");
  return `printf '%s' '${encoded}' | base64 -d > ${REMOTE_BUILD_DIR}/build.env`;
}

export interface BuildSettingsInput {
  readonly mode: "build" | "assemble" | "mirror";
  readonly imageRef: string;
  readonly ocirRegistry: string;
  readonly bucketName: string;
  readonly namespace: string;
  readonly engineKey: string;
  readonly artifactKey: string;
  /** The container the model deployment runs; the validation runs Triton exactly so. */
  readonly container: Pick<ContainerSpec, "cmds" | "entrypoints" | "environment">;
  /** `image.source` when the serving image is not in OCIR yet: the host copies it (mirror-image). */
  readonly copyImageFrom?: string;
}

/** Every setting `build-host.sh` reads, from the validated configuration. */
export function buildSettings(config: StackConfig, input: BuildSettingsInput): Record<string, string> {
  const { engine } = config;
  // The rules refuse int4_awq where no block size fits, before anything is built.
  const blockSize =
    engine.quantization === "int4_awq"
      ? awqBlockSize(config.model.resolved, engine.tensorParallel)
      : undefined;
  return {
    BUILD_MODE: input.mode,
    IMAGE_REF: input.imageRef,
    OCIR_REGISTRY: input.ocirRegistry,
    HF_MODEL_ID: config.model.huggingFaceId,
    HF_REVISION: config.model.revision,
    MODEL_FAMILY: config.model.resolved.family,
    // A build compares the model's config.json with these before it pulls or downloads anything
    // (steps/model-config.sh); the other modes never read the model.
    ...(input.mode === "build" ? { HF_CONFIG_EXPECT: JSON.stringify(configExpectations(config.model)) } : {}),
    DTYPE: engine.dtype,
    QUANTIZATION: engine.quantization,
    TP: String(engine.tensorParallel),
    MAX_BATCH_SIZE: String(engine.maxBatchSize),
    MAX_INPUT_LEN: String(engine.maxInputLen),
    MAX_OUTPUT_LEN: String(engine.maxOutputLen),
    CHUNKED_CONTEXT: String(config.serving.enableChunkedContext),
    ...(blockSize !== undefined ? { AWQ_BLOCK_SIZE: String(blockSize) } : {}),
    REPOSITORY_FOLDER: config.serving.repositoryFolder,
    HTTP_PORT: String(config.deployment.httpPort),
    STREAMING: String(config.deployment.streaming),
    // An OpenAI stack's validation asks the image's OpenAI frontend (steps/validate.sh); a Triton
    // stack's settings stay as they were.
    ...(config.deployment.api === "openai" ? { API: "openai", OPENAI_MODEL } : {}),
    CONTAINER_CMD: JSON.stringify(input.container.cmds),
    CONTAINER_ENTRYPOINT: JSON.stringify(input.container.entrypoints),
    CONTAINER_ENV: JSON.stringify(input.container.environment),
    VALIDATION_EXPECT: config.build.validation.expect,
    BUCKET: input.bucketName,
    NAMESPACE: input.namespace,
    REGION: config.region,
    ENGINE_KEY: input.engineKey,
    ARTIFACT_KEY: input.artifactKey,
    ENGINE_PREFIX: cacheObjects.enginePrefix(input.engineKey),
    ARTIFACT_PREFIX: cacheObjects.artifactPrefix(input.artifactKey),
    SCRIPT_VERSION: String(ENGINE_RECIPE_VERSION),
    ...(input.copyImageFrom === undefined ? {} : imageCopySettings(input.imageRef, input.copyImageFrom)),
  };
}

/**
 * The project's packer as one file the host runs with plain Node, so the host's zip has the bytes
 * and sha256 a local pack of the same tree would have.
 */
export function bundlePacker(projectDir: string): string {
  const result = buildSync({
    entryPoints: [join(projectDir, "cli", "package-artifact.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    write: false,
    logLevel: "silent",
    legalComments: "none",
  });
  return result.outputFiles[0].text;
}

/** What `build-host.sh` expects beside it on the host, by relative path. */
export interface BuildHostFiles {
  readonly files: Map<string, { contents: string; mode: number }>;
  /** Version folders the repository needs even though no file is in them (Triton skips a model without). */
  readonly directories: readonly string[];
}

export function buildHostFiles(args: {
  projectDir: string;
  repository: readonly RepositoryEntry[];
  /** The known-answer request the validation sends (validation-request.json). */
  validationRequest: unknown;
  packerBundle: string;
}): BuildHostFiles {
  const files = new Map<string, { contents: string; mode: number }>();
  const scriptsDir = join(args.projectDir, "engine-build");
  // build-host.sh sources its lib/ and steps/ files: the whole tree goes, by relative path.
  for (const name of readdirSync(scriptsDir, { recursive: true, encoding: "utf8" }).sort()) {
    if (name.endsWith(".sh"))
      files.set(name.split(sep).join("/"), {
        contents: readFileSync(join(scriptsDir, name), "utf8"),
        mode: 0o755,
      });
  }
  files.set("package-artifact.cjs", { contents: args.packerBundle, mode: 0o644 });
  files.set("validation-request.json", {
    contents: `${JSON.stringify(args.validationRequest)}\n`,
    mode: 0o644,
  });
  const directories: string[] = [];
  for (const entry of args.repository) {
    if (entry.kind === "file")
      files.set(`repository/${entry.path}`, { contents: entry.contents, mode: entry.mode });
    else directories.push(`repository/${entry.path}`);
  }
  return { files, directories };
}

/**
 * Writes the host files into `<cacheDir>/build-host/<digest>/engine-build` (written once, never
 * changed, so the copy resource sees the same archive on every run) and returns that folder relative
 * to `projectDir`: state must not hold a path that only exists on this machine.
 */
export function stageBuildHostFiles(host: BuildHostFiles, cacheDir: string, projectDir: string): string {
  const { files, directories } = host;
  const digest = createHash("sha256");
  for (const [path, file] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    digest.update(`${path}\0${file.mode}\0${file.contents}\0`);
  }
  for (const dir of directories) digest.update(`dir\0${dir}\0`);
  const root = join(cacheDir, "build-host", digest.digest("hex").slice(0, 32));
  const folder = join(root, "engine-build");
  if (!existsSync(folder)) {
    const partial = `${root}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    for (const [path, file] of files) {
      const target = join(partial, "engine-build", path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.contents, { mode: file.mode });
    }
    for (const dir of directories) mkdirSync(join(partial, "engine-build", dir), { recursive: true });
    mkdirSync(dirname(root), { recursive: true });
    try {
      renameSync(partial, root);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(folder)) throw error;
    }
  }
  return relative(projectDir, folder);
}

// Stack configurations for the config, rules and CLI tests. The dev stack's settings are restated here
// rather than read from Pulumi.dev.yaml, so each test states its own premises (Falcon-7B bf16 on one
// A10) and keeps them when the committed stack file is retuned; test/config.test.ts checks the file
// itself separately.

import assert from "node:assert/strict";

import { buildSettings } from "../../components/build/host-plan";
import { MODELS } from "../../components/config/catalog";
import { containerSpecInput } from "../../components/config/rules";
import { containerSpec } from "../../components/deployment/container-spec";
import {
  formatConfigError,
  parseStackConfig,
  type ConfigError,
  type ParseResult,
  type RawStackConfig,
  type StackConfig,
} from "../../components/config/config";

export const COMPARTMENT_ID =
  "ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexample";
export const TENANCY_ID = "ocid1.tenancy.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexampleexa";
export const PROJECT_ID =
  "ocid1.datascienceproject.oc1.iad.amaaaaaaexampleexampleexampleexampleexampleexample";
export const REGION = "us-ashburn-1";

/** The project's keys of Pulumi.dev.yaml (without the project prefix), as the stack-file reader hands them over. */
export function devValues(): Record<string, unknown> {
  return {
    compartmentId: COMPARTMENT_ID,
    tenancyId: TENANCY_ID,
    model: {
      huggingFaceId: "tiiuae/falcon-7b-instruct",
      revision: "main",
      localDir: "./models/falcon-7b-instruct",
    },
    engine: {
      dtype: "bfloat16",
      quantization: "none",
      tensorParallel: 1,
      maxBatchSize: 32,
      maxInputLen: 1024,
      maxOutputLen: 1024,
      prebuiltDir: "./engines/falcon-7b-instruct-bf16-a10",
    },
    deployment: {
      shape: "VM.GPU.A10.1",
      instanceCount: 1,
      bandwidthMbps: 10,
      httpPort: 9000,
      storageSizeInGBs: 500,
      streaming: false,
    },
    evaluation: { ttlHours: 8 },
  };
}

/** Dotted key -> value; `undefined` removes the key, so a test can also take a setting away. */
export type Overrides = Readonly<Record<string, unknown>>;

export interface RawOptions {
  /** `null` leaves oci:region unset. */
  readonly region?: string | null;
  /** Names of the secret keys that are set; by default both secrets the image push needs. */
  readonly secrets?: readonly string[];
}

function setPath(root: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let node = root;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (value === undefined) Reflect.deleteProperty(node, last);
  else node[last] = value;
}

/** The dev stack's raw config with `overrides` applied, e.g. `{ "engine.quantization": "fp8" }`. */
export function rawConfig(overrides: Overrides = {}, options: RawOptions = {}): RawStackConfig {
  const values = devValues();
  for (const [key, value] of Object.entries(overrides)) setPath(values, key, value);
  return {
    values,
    ociRegion: options.region === null ? undefined : (options.region ?? REGION),
    secretsSet: new Set(options.secrets ?? ["ocirUsername", "ocirAuthToken"]),
  };
}

export function parse(overrides: Overrides = {}, options: RawOptions = {}): ParseResult {
  return parseStackConfig(rawConfig(overrides, options));
}

/** A configuration that passes every rule, or a failure listing what did not. */
export function validConfig(overrides: Overrides = {}, options: RawOptions = {}): StackConfig {
  const result = parse(overrides, options);
  assert.ok(
    result.config,
    `expected a valid config, got:\n${result.errors.map(formatConfigError).join("\n")}`,
  );
  return result.config;
}

/**
 * A parsed configuration with fields replaced after parsing, for feeding one rule a combination the
 * other rules would refuse (parseStackConfig returns no config while any rule fails). Derived fields
 * follow the parser: build.shape follows deployment.shape unless given, and a catalogued
 * model.huggingFaceId brings its architecture.
 */
export function configWith(overrides: Overrides): StackConfig {
  const config = structuredClone(validConfig()) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) setPath(config, key, value);
  if ("deployment.shape" in overrides && !("build.shape" in overrides)) {
    setPath(config, "build.shape", overrides["deployment.shape"]);
  }
  if ("model.huggingFaceId" in overrides && !("model.resolved" in overrides)) {
    const resolved = MODELS[String(overrides["model.huggingFaceId"])];
    assert.ok(resolved, `${String(overrides["model.huggingFaceId"])} is not in the catalogue`);
    setPath(config, "model.resolved", resolved);
  }
  return config as unknown as StackConfig;
}

export interface ExpectedError {
  readonly value?: unknown;
  /** Every pattern must match the message. */
  readonly message?: readonly RegExp[];
  /** Every pattern must match the fix. */
  readonly fix?: readonly RegExp[];
}

/**
 * The one error in `errors` with `key`, checked: its value is the offending value, the printed line
 * names that value, and message and fix say what they must.
 */
export function expectError(
  errors: readonly ConfigError[],
  key: string,
  expected: ExpectedError = {},
): ConfigError {
  const matching = errors.filter((error) => error.key === key);
  assert.equal(
    matching.length,
    1,
    `expected one error for ${key}, got:\n${errors.map(formatConfigError).join("\n") || "(none)"}`,
  );
  const error = matching[0];
  if ("value" in expected) {
    assert.deepEqual(error.value, expected.value);
    if (expected.value !== undefined) {
      assert.ok(
        formatConfigError(error).includes(JSON.stringify(expected.value)),
        `printed line does not name the value: ${formatConfigError(error)}`,
      );
    }
  }
  for (const pattern of expected.message ?? []) assert.match(error.message, pattern);
  for (const pattern of expected.fix ?? []) assert.match(error.fix, pattern);
  assert.ok(error.fix.trim().length > 0, `${key} has no fix`);
  return error;
}

export function keys(errors: readonly ConfigError[]): string[] {
  return errors.map((error) => error.key).sort();
}

/**
 * The build host's settings (`build.env`) for a configuration, with stand-in image, bucket and keys:
 * what the settings tests vary is the configuration and the mode.
 */
export function standinBuildSettings(config: StackConfig, mode: "build" | "assemble" = "build") {
  return buildSettings(config, {
    mode,
    imageRef: `us-ashburn-1.ocir.io/ns/repo:25.04@sha256:${"1".repeat(64)}`,
    ocirRegistry: "us-ashburn-1.ocir.io",
    bucketName: "bucket",
    namespace: "ns",
    engineKey: "e".repeat(64),
    artifactKey: "a".repeat(64),
    container: containerSpec(containerSpecInput(config)),
  });
}

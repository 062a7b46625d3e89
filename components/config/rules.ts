/**
 * Cross-field rules: the mistakes that otherwise surface after 30-60 minutes of GPU time. Each rule
 * is a pure function of the parsed configuration and returns every problem it finds.
 */
import { FAMILY_QUANTIZATIONS, findShape, GpuShape, MIN_COMPUTE_CAPABILITY, QUANTIZATIONS } from "./catalog";
import type { ConfigError, StackConfig } from "./config";
import { containerSpec, ContainerSpecInput, managedEnvironment } from "../deployment/container-spec";
import { cheapestFittingShape, gib, memoryBudget, validTensorParallelDegrees } from "./sizing";

export type Rule = (config: StackConfig) => ConfigError[];

export function shapes(config: StackConfig): { deployment: GpuShape; build: GpuShape } {
  const deployment = findShape(config.deployment.shape);
  const build = findShape(config.build.shape);
  // parseStackConfig only hands over configurations whose shapes are catalogued.
  if (deployment === undefined || build === undefined) throw new Error("shape missing from catalogue");
  return { deployment, build };
}

/**
 * The container's settings, each read from the configuration only when used: a rule that needs
 * a few of them (the managed variable names) then does not depend on the others being valid.
 */
export function containerSpecInput(config: StackConfig): ContainerSpecInput {
  return {
    get repositoryFolder() {
      return config.serving.repositoryFolder;
    },
    get httpPort() {
      return config.deployment.httpPort;
    },
    get tensorParallel() {
      return config.engine.tensorParallel;
    },
    get streaming() {
      return config.deployment.streaming;
    },
    get storageSizeInGBs() {
      return config.deployment.storageSizeInGBs;
    },
    get environment() {
      return config.deployment.environment;
    },
  };
}

export const quantizationRule: Rule = (config) => {
  const errors: ConfigError[] = [];
  const { quantization } = config.engine;
  const { family } = config.model.resolved;
  if (!FAMILY_QUANTIZATIONS[family].includes(quantization)) {
    errors.push({
      key: "engine.quantization",
      value: quantization,
      message: `TensorRT-LLM's ${family} models do not support ${quantization}`,
      fix: `use one of: ${FAMILY_QUANTIZATIONS[family].join(", ")}`,
    });
  }
  const needed = MIN_COMPUTE_CAPABILITY[quantization];
  const seen = new Set<string>();
  const { deployment, build } = shapes(config);
  for (const [key, shape] of [
    ["deployment.shape", deployment],
    ["build.shape", build],
  ] as const) {
    if (shape.computeCapability >= needed || seen.has(shape.name)) continue;
    seen.add(shape.name);
    const runnable = QUANTIZATIONS.filter(
      (q) => MIN_COMPUTE_CAPABILITY[q] <= shape.computeCapability && FAMILY_QUANTIZATIONS[family].includes(q),
    );
    errors.push({
      key: "engine.quantization",
      value: quantization,
      message: `${quantization} needs GPU compute capability ${needed}+, but ${key} ${shape.name} has ${shape.gpuModel} (${shape.computeCapability.toFixed(1)})`,
      fix: `on ${shape.gpuModel} use one of: ${runnable.join(", ")}; for ${quantization} pick a shape with compute capability ${needed}+ (e.g. BM.GPU.L40S.4, BM.GPU.H100.8)`,
    });
  }
  return errors;
};

export const tensorParallelRule: Rule = (config) => {
  const tp = config.engine.tensorParallel;
  const model = config.model.resolved;
  const shape = shapes(config).deployment;
  const errors: ConfigError[] = [];
  const possible = validTensorParallelDegrees(model, Math.max(tp, shape.gpuCount));
  if (model.queryHeads % tp !== 0 || model.kvHeads % tp !== 0) {
    errors.push({
      key: "engine.tensorParallel",
      value: tp,
      message: `must divide the model's ${model.queryHeads} query heads and ${model.kvHeads} KV heads`,
      fix: `use one of: ${possible.join(", ")}`,
    });
  }
  if (tp > shape.gpuCount) {
    errors.push({
      key: "engine.tensorParallel",
      value: tp,
      message: `needs ${tp} GPUs, but deployment.shape ${shape.name} has ${shape.gpuCount}`,
      fix: `use at most ${shape.gpuCount}, or a shape with ${tp}+ GPUs`,
    });
  }
  return errors;
};

export const contextLengthRule: Rule = (config) => {
  const { maxInputLen, maxOutputLen } = config.engine;
  const limit = config.model.resolved.contextLength;
  if (maxInputLen + maxOutputLen <= limit) return [];
  return [
    {
      key: "engine.maxOutputLen",
      value: maxOutputLen,
      message: `engine.maxInputLen (${maxInputLen}) + engine.maxOutputLen (${maxOutputLen}) exceeds the model's context of ${limit} tokens`,
      fix: `make the two add up to at most ${limit}, e.g. maxInputLen ${Math.floor(limit / 2)} and maxOutputLen ${limit - Math.floor(limit / 2)}`,
    },
  ];
};

export const memoryRule: Rule = (config) => {
  const { deployment } = shapes(config);
  const model = config.model.resolved;
  const budget = memoryBudget(model, config.engine, deployment);
  if (budget.fits) return [];
  const fit = cheapestFittingShape(model, config.engine);
  return [
    {
      key: "deployment.shape",
      value: deployment.name,
      message:
        `needs ${gib(budget.requiredBytes)} GiB per GPU (weights ${gib(budget.weightsBytes)}, KV cache ${gib(budget.kvCacheBytes)}` +
        ` for ${config.engine.maxBatchSize} x ${config.engine.maxInputLen + config.engine.maxOutputLen} tokens, activations ${gib(budget.activationBytes)}, runtime ${gib(budget.runtimeReserveBytes)})` +
        `, but ${deployment.gpuModel} has ${gib(budget.gpuMemoryBytes)} GiB`,
      fix: fit
        ? `the cheapest shape that fits is ${fit.shape.name} ($${fit.shape.usdPerHour}/h) with engine.tensorParallel ${fit.tensorParallel}; or lower engine.maxBatchSize / lengths, or quantize`
        : "no catalogue shape fits: lower engine.maxBatchSize or the lengths, or quantize",
    },
  ];
};

export const gpuArchitectureRule: Rule = (config) => {
  const { deployment, build } = shapes(config);
  if (build.gpuModel === deployment.gpuModel) return [];
  return [
    {
      key: "build.shape",
      value: build.name,
      message: `builds on ${build.gpuModel} (compute capability ${build.computeCapability.toFixed(1)}) but deployment.shape ${deployment.name} serves on ${deployment.gpuModel} (${deployment.computeCapability.toFixed(1)}); a TensorRT engine only runs on the GPU it was built for`,
      fix: `build on a shape with ${deployment.gpuModel} GPUs (e.g. ${deployment.name}) or remove build.shape to build on the deployment shape`,
    },
  ];
};

// OCI Data Science model deployment limits for bring-your-own containers (FACTS.md section 4;
// variable names: Oracle's "Model Deployment Environment Variables" page, mod-dep-byoc-variables.htm,
// "Format constraint": under 32 characters, letters, digits and _, starts with a letter, at least 2
// characters, no trailing _).
const RESERVED_PORTS = [24224, 8446, 8447];
const RESERVED_ENV = [
  "MODEL_DEPLOYMENT_OCID",
  "TENANCY_OCID",
  "CONTAINER_CUSTOM_IMAGE",
  "MODEL_SERVING_PYTHON_VERSION",
];
const MAX_ENV_BYTES = 2048;
const MAX_COMMAND_BYTES = 2048;

export const httpPortRule: Rule = (config) => {
  const port = config.deployment.httpPort;
  if (port >= 1024 && !RESERVED_PORTS.includes(port)) return [];
  return [
    {
      key: "deployment.httpPort",
      value: port,
      message: `OCI model deployments accept ports 1024-65535 except ${RESERVED_PORTS.join(", ")}`,
      fix: "use another port, e.g. the default 9000",
    },
  ];
};

export const environmentNamesRule: Rule = (config) => {
  const errors: ConfigError[] = [];
  const managed = managedEnvironment(containerSpecInput(config));
  for (const [name, value] of Object.entries(config.deployment.environment)) {
    const key = `deployment.environment.${name}`;
    const problems: string[] = [];
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name))
      problems.push("must start with a letter and hold only A-Z, a-z, 0-9, _");
    if (name.endsWith("_")) problems.push("must not end with _");
    if (name.length < 2) problems.push("must have at least 2 characters");
    if (name.length >= 32) problems.push("must be shorter than 32 characters");
    if (RESERVED_ENV.includes(name)) problems.push("is reserved by OCI");
    if (Object.hasOwn(managed, name)) problems.push("is set by this stack from other settings");
    if (problems.length > 0) {
      errors.push({
        key,
        value,
        message: `variable name ${name} ${problems.join("; ")}`,
        fix: `rename or remove ${key}`,
      });
    }
  }
  return errors;
};

export const containerSizeRule: Rule = (config) => {
  const errors: ConfigError[] = [];
  const spec = containerSpec(containerSpecInput(config));
  const envBytes = Object.entries(spec.environment).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
    0,
  );
  if (envBytes > MAX_ENV_BYTES) {
    errors.push({
      key: "deployment.environment",
      value: `${envBytes} bytes`,
      message: `all environment variables together exceed OCI's ${MAX_ENV_BYTES} bytes`,
      fix: "shorten or remove variables in deployment.environment",
    });
  }
  const commandBytes = [...spec.cmds, ...spec.entrypoints].reduce(
    (sum, arg) => sum + Buffer.byteLength(arg),
    0,
  );
  if (commandBytes >= MAX_COMMAND_BYTES) {
    errors.push({
      key: "serving.repositoryFolder",
      value: config.serving.repositoryFolder,
      message: `the container command is ${commandBytes} bytes, OCI allows less than ${MAX_COMMAND_BYTES}`,
      fix: "use a shorter serving.repositoryFolder",
    });
  }
  return errors;
};

/** OCI's limits on a bring-your-own container, as one rule; RULES runs its parts apart. */
export const ociLimitsRule: Rule = (config) => [
  ...httpPortRule(config),
  ...environmentNamesRule(config),
  ...containerSizeRule(config),
];

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export const buildAccessRule: Rule = (config) => {
  const cidr = config.build.sshAllowedCidr;
  if (cidr === undefined) return [];
  const match = CIDR.exec(cidr);
  const valid =
    match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(match[5]) <= 32;
  if (valid) return [];
  return [
    {
      key: "build.sshAllowedCidr",
      value: cidr,
      message: "is not an IPv4 CIDR block",
      fix: "use your address as a /32, e.g. 203.0.113.7/32",
    },
  ];
};

/** A hand-built engine needs the snapshot its tokenizer files come from; a built one brings its own. */
export const artifactSourcesRule: Rule = (config) =>
  config.engine.prebuiltDir !== undefined && config.model.localDir === undefined
    ? [
        {
          key: "model.localDir",
          value: undefined,
          message:
            "is required with engine.prebuiltDir: the artifact's tokenizer files come from a local snapshot",
          fix: `download the snapshot (huggingface-cli download ${config.model.huggingFaceId} --revision ${config.model.revision} --local-dir <dir>) and set: pulumi config set --path model.localDir <dir>, or unset engine.prebuiltDir to let the stack build the engine`,
        },
      ]
    : [];

export const iamRule: Rule = (config) =>
  config.iam.create && config.tenancyId === undefined
    ? [
        {
          key: "tenancyId",
          value: undefined,
          message:
            "is required when iam.create is true: OCI keeps dynamic groups in the tenancy (root compartment)",
          fix: "pulumi config set tenancyId ocid1.tenancy.oc1..<yours>, or set iam.create false and hand the exported statements to an administrator",
        },
      ]
    : [];

export const RULES: readonly Rule[] = [
  artifactSourcesRule,
  iamRule,
  quantizationRule,
  tensorParallelRule,
  contextLengthRule,
  memoryRule,
  gpuArchitectureRule,
  // Apart, so a bad setting one of them reads does not silence the others.
  httpPortRule,
  environmentNamesRule,
  containerSizeRule,
  buildAccessRule,
];

/** Advice that does not stop a deployment but costs money or reproducibility. */
export const WARNING_RULES: readonly Rule[] = [
  (config) => {
    const shape = shapes(config).deployment;
    const tp = config.engine.tensorParallel;
    if (tp >= shape.gpuCount) return [];
    const canUseAll = validTensorParallelDegrees(config.model.resolved, shape.gpuCount).includes(
      shape.gpuCount,
    );
    return [
      {
        key: "engine.tensorParallel",
        value: tp,
        message: `uses ${tp} of ${shape.name}'s ${shape.gpuCount} GPUs; the rest are paid for and idle`,
        fix: canUseAll
          ? `set engine.tensorParallel ${shape.gpuCount}, or pick a shape with ${tp} GPU(s)`
          : `pick a shape with ${tp} GPU(s): the model's heads do not split ${shape.gpuCount} ways`,
      },
    ];
  },
  (config) =>
    config.image.source.includes("@sha256:")
      ? []
      : [
          {
            key: "image.source",
            value: config.image.source,
            message: "is a moving tag: the build and serving images must be the same TensorRT-LLM version",
            fix: "pin it by digest: <image>:<tag>@sha256:<digest>",
          },
        ],
  (config) =>
    config.build.sshAllowedCidr?.endsWith("/0")
      ? [
          {
            key: "build.sshAllowedCidr",
            value: config.build.sshAllowedCidr,
            message: "opens SSH on the build instance to the whole internet",
            fix: "use your address as a /32",
          },
        ]
      : [],
];

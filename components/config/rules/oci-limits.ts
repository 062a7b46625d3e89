/** Rules on OCI Data Science's limits for a bring-your-own container. */
import { containerSpec, managedEnvironment } from "../../deployment/container-spec";
import { DEPLOYMENT_TIMEOUT_VARIABLE, deploymentTimeoutProblem } from "../../deployment/deployment-timeout";
import { quoted, shellWord } from "../quoting";
import type { ConfigError, Rule } from "../schema";
import { containerSpecInput } from "../views";

// OCI Data Science model deployment limits for bring-your-own containers (Oracle's "Bring Your Own
// Container" page, docs.oracle.com/en-us/iaas/data-science/using/mod-dep-byoc.htm: ports, reserved
// names, 2048-byte environment and command limits; variable names: Oracle's "Model Deployment Environment Variables" page, mod-dep-byoc-variables.htm,
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
    // A name the grammar refuses is shown quoted in the message, never spliced into the key.
    const plainName = /^[A-Za-z0-9_-]+$/.test(name);
    const key = plainName ? `deployment.environment.${name}` : "deployment.environment";
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
        message: `variable name ${quoted(name)} ${problems.join("; ")}`,
        fix: `rename or remove it: pulumi config rm --path ${shellWord(`deployment.environment.${name}`)}`,
      });
    }
    // The stack sizes this one itself; a user's own value wins, within OCI's maximum.
    const timeoutProblem = name === DEPLOYMENT_TIMEOUT_VARIABLE ? deploymentTimeoutProblem(value) : undefined;
    if (timeoutProblem !== undefined) {
      errors.push({
        key,
        value,
        message: timeoutProblem,
        fix: `set ${key} to at most 240, or remove it: the stack sizes it from the image and the artifact`,
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

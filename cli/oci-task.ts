/**
 * What `pulumi up` runs through `@pulumi/command` local commands, with the caller's OCI profile
 * (the same `~/.oci/config` the OCI provider reads):
 *
 *   node --import tsx cli/oci-task.ts upload-artifact --namespace N --bucket B --object O --sha256 S --bytes X --region R [--cache-dir D] [--profile P]
 *   node --import tsx cli/oci-task.ts terminate-instance --instance-id ID --region R [--profile P]
 *   node --import tsx cli/oci-task.ts verify-model-artifact --model-id ID --bytes X --region R [--profile P]
 *   node --import tsx cli/oci-task.ts pick-availability-domain --tenancy-id T --shape S [--ocpus N --memory-gbs M] --availability-domain AD... --region R [--profile P]
 *
 * pick-availability-domain prints the chosen domain alone on stdout (the command's output), each
 * domain's capacity answer on stderr.
 * Exit 0 done (or nothing to do), 1 failed, 2 usage. The tasks are in operations/oci-task.ts.
 */
import { parseArgs } from "node:util";
import { type OciTask, runOciTask } from "../operations/oci-task";
import { UserError } from "../operations/errors";

const USAGE = `usage:
  oci-task.ts upload-artifact --namespace N --bucket B --object O --sha256 S --bytes X --region R [--cache-dir .cache/artifacts] [--profile P]
  oci-task.ts terminate-instance --instance-id ID --region R [--profile P]
  oci-task.ts verify-model-artifact --model-id ID --bytes X --region R [--profile P]
  oci-task.ts pick-availability-domain --tenancy-id T --shape S [--ocpus N --memory-gbs M] --availability-domain AD [--availability-domain AD ...] --region R [--profile P]`;

class UsageError extends Error {}

function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive whole number`);
  return number;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string" },
      bucket: { type: "string" },
      object: { type: "string" },
      sha256: { type: "string" },
      bytes: { type: "string" },
      region: { type: "string" },
      profile: { type: "string" },
      "cache-dir": { type: "string", default: ".cache/artifacts" },
      "instance-id": { type: "string" },
      "tenancy-id": { type: "string" },
      shape: { type: "string" },
      ocpus: { type: "string" },
      "memory-gbs": { type: "string" },
      "availability-domain": { type: "string", multiple: true },
      "model-id": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const name = positionals[0];
  const region = required(values.region, "region");
  let task: OciTask;
  if (name === "upload-artifact") {
    const bytes = positiveInteger(required(values.bytes, "bytes"), "bytes");
    task = {
      task: name,
      upload: {
        namespace: required(values.namespace, "namespace"),
        bucket: required(values.bucket, "bucket"),
        object: required(values.object, "object"),
        sha256: required(values.sha256, "sha256"),
        bytes,
        cacheDir: values["cache-dir"] ?? ".cache/artifacts",
      },
    };
  } else if (name === "pick-availability-domain") {
    const domains = values["availability-domain"] ?? [];
    if (domains.length === 0) throw new UsageError("--availability-domain is required (once per domain)");
    const ocpus = values.ocpus === undefined ? undefined : positiveInteger(values.ocpus, "ocpus");
    const memory =
      values["memory-gbs"] === undefined ? undefined : positiveInteger(values["memory-gbs"], "memory-gbs");
    if ((ocpus === undefined) !== (memory === undefined))
      throw new UsageError("--ocpus and --memory-gbs go together (a flexible shape's configuration)");
    task = {
      task: name,
      tenancyId: required(values["tenancy-id"], "tenancy-id"),
      shape: required(values.shape, "shape"),
      ...(ocpus === undefined || memory === undefined ? {} : { shapeConfig: { ocpus, memoryInGbs: memory } }),
      domains,
    };
  } else if (name === "terminate-instance") {
    task = { task: name, instanceId: required(values["instance-id"], "instance-id") };
  } else if (name === "verify-model-artifact") {
    const bytes = positiveInteger(required(values.bytes, "bytes"), "bytes");
    task = { task: name, modelId: required(values["model-id"], "model-id"), bytes };
  } else {
    throw new UsageError(name === undefined ? "name a task" : `unknown task '${name}'`);
  }
  console.log(await runOciTask(task, { region, profile: values.profile }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error instanceof TypeError && "code" in error);
    console.error(`oci-task: ${error instanceof Error ? error.message : String(error)}`);
    if (usage) console.error(USAGE);
    process.exitCode = usage ? 2 : 1;
    if (!(error instanceof UserError) && !usage && error instanceof Error && process.env.DEBUG)
      console.error(error.stack);
  },
);

/**
 * What `pulumi up` runs through `@pulumi/command` local commands, with the caller's OCI profile
 * (the same `~/.oci/config` the OCI provider reads):
 *
 *   node --import tsx cli/oci-task.ts upload-artifact --namespace N --bucket B --object O --sha256 S --bytes X --region R [--cache-dir D] [--profile P]
 *   node --import tsx cli/oci-task.ts terminate-instance --instance-id ID --region R [--profile P]
 *   node --import tsx cli/oci-task.ts create-catalog-model --compartment-id C --project-id P --display-name D --description T --metadata JSON --tags JSON --namespace N --bucket B --object O --bytes X --region R [--profile P]
 *   node --import tsx cli/oci-task.ts delete-catalog-model --model-id ID --region R [--profile P]
 *   node --import tsx cli/oci-task.ts wait-for-policies --policy JSON [--policy JSON ...] --region R [--profile P]
 *   node --import tsx cli/oci-task.ts pick-availability-domain --tenancy-id T --shape S [--ocpus N --memory-gbs M] --availability-domain AD... --region R [--profile P]
 *   node --import tsx cli/oci-task.ts prove-endpoint --url PREDICT_URL --body JSON --expect TEXT [--stream] [--api openai] --region R [--profile P]
 *
 * pick-availability-domain prints the chosen domain alone on stdout (the command's output), each
 * domain's capacity answer on stderr.
 * Exit codes are every command's (cli/args.ts `EXIT_CODES`): 0 done (or nothing to do), 1 failed, 2
 * usage; `--help` prints them. The tasks are in operations/up-tasks/run-task.ts.
 * create-catalog-model prints the model's OCID alone on stdout, its progress on stderr.
 * prove-endpoint prints `{answer, latencyMs, firstByteMs, checkedAt}` as one JSON line on stdout, its
 * progress on stderr; a wrong answer or an HTTP error exits 1.
 */
import { parseArgs } from "node:util";
import {
  type CatalogModelMetadata,
  type OciTask,
  type OciTaskTarget,
  type PolicyExpectation,
  runOciTask,
} from "../operations/up-tasks/run-task";
import { UserError } from "../operations/errors";
import {
  closestName,
  EXIT_INVALID,
  EXIT_OK,
  EXIT_USAGE,
  exitCodeHelp,
  UsageError,
  usageErrorOf,
} from "./args";

const USAGE = `usage:
  oci-task.ts upload-artifact --namespace N --bucket B --object O --sha256 S --bytes X --region R [--cache-dir .cache/artifacts] [--profile P]
  oci-task.ts terminate-instance --instance-id ID --region R [--profile P]
  oci-task.ts create-catalog-model --compartment-id C --project-id P --display-name D --description T --metadata JSON --tags JSON --namespace N --bucket B --object O --bytes X --region R [--profile P]
  oci-task.ts delete-catalog-model --model-id ID --region R [--profile P]
  oci-task.ts wait-for-policies --policy '{"id":...,"statements":[...]}' [--policy ...] --region R [--profile P]
  oci-task.ts pick-availability-domain --tenancy-id T --shape S [--ocpus N --memory-gbs M] --availability-domain AD [--availability-domain AD ...] --region R [--profile P]
  oci-task.ts prove-endpoint --url PREDICT_URL --body JSON --expect TEXT [--stream] [--api openai] --region R [--profile P]`;

const HELP = `${USAGE}\n\n${exitCodeHelp()}`;

/** The tasks `parseOciTask` knows, for the help and the name meant by a misspelt one. */
export const OCI_TASKS = [
  "upload-artifact",
  "terminate-instance",
  "create-catalog-model",
  "delete-catalog-model",
  "wait-for-policies",
  "pick-availability-domain",
  "prove-endpoint",
];

const OPTIONS = {
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
  "compartment-id": { type: "string" },
  "project-id": { type: "string" },
  "display-name": { type: "string" },
  description: { type: "string" },
  metadata: { type: "string" },
  tags: { type: "string" },
  policy: { type: "string", multiple: true },
  url: { type: "string" },
  body: { type: "string" },
  expect: { type: "string" },
  stream: { type: "boolean" },
  api: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function unknownTask(name: string | undefined): UsageError {
  if (name === undefined) return new UsageError(`name a task: ${OCI_TASKS.join(", ")}`);
  const meant = closestName(name, OCI_TASKS);
  return new UsageError(
    `unknown task '${name}'${meant === undefined ? `; the tasks are ${OCI_TASKS.join(", ")}` : `; did you mean ${meant}?`}`,
  );
}

function positiveInteger(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive whole number`);
  return number;
}

/** `--api`: the chat route of an OpenAI stack's frontend; without it, Triton's generate endpoint. */
function proofApi(value: string): "openai" {
  if (value !== "openai")
    throw new UsageError(
      `--api must be openai (leave it out for Triton's generate endpoint), not '${value}'`,
    );
  return value;
}

function json(value: string, name: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new UsageError(`--${name} must be JSON`);
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** One command line of a task, as `pulumi up` runs it: the task and where it runs, or `help`. */
export type ParsedOciTask =
  { readonly help: true } | { readonly help: false; readonly task: OciTask; readonly target: OciTaskTarget };

/**
 * The task a command line names, checked; no OCI call. Exported so that the lifecycle tests run the
 * very command lines the stack registers through the same parsing.
 */
export function parseOciTask(argv: string[]): ParsedOciTask {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw usageErrorOf(error, OPTIONS);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
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
  } else if (name === "create-catalog-model") {
    task = {
      task: name,
      model: {
        compartmentId: required(values["compartment-id"], "compartment-id"),
        projectId: required(values["project-id"], "project-id"),
        displayName: required(values["display-name"], "display-name"),
        description: required(values.description, "description"),
        metadata: json(required(values.metadata, "metadata"), "metadata") as CatalogModelMetadata,
        freeformTags: json(required(values.tags, "tags"), "tags") as Record<string, string>,
        artifact: {
          namespace: required(values.namespace, "namespace"),
          bucket: required(values.bucket, "bucket"),
          object: required(values.object, "object"),
          bytes: positiveInteger(required(values.bytes, "bytes"), "bytes"),
        },
      },
    };
  } else if (name === "delete-catalog-model") {
    // Empty when no create ever printed a model: the task then has nothing to delete.
    task = { task: name, modelId: values["model-id"] ?? "" };
  } else if (name === "wait-for-policies") {
    const policies = (values.policy ?? []).map((text) => json(text, "policy") as PolicyExpectation);
    if (policies.length === 0) throw new UsageError("--policy is required");
    task = { task: name, policies };
  } else if (name === "prove-endpoint") {
    const body = json(required(values.body, "body"), "body");
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new UsageError("--body must be a JSON object");
    task = {
      task: name,
      url: required(values.url, "url"),
      proof: {
        body: body as Record<string, unknown>,
        expect: required(values.expect, "expect"),
        stream: values.stream ?? false,
        ...(values.api === undefined ? {} : { api: proofApi(values.api) }),
      },
    };
  } else {
    throw unknownTask(name);
  }
  return { help: false, task, target: { region, profile: values.profile } };
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseOciTask(argv);
  if (parsed.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  console.log(await runOciTask(parsed.task, parsed.target));
  return EXIT_OK;
}

// Not runCommand: any failure of a task, the OCI SDK's own errors included, is one line and exit 1
// (its stack only with DEBUG set), since pulumi up shows this output as the resource's error.
if (require.main === module)
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const usage = error instanceof UsageError;
      console.error(`oci-task: ${error instanceof Error ? error.message : String(error)}`);
      if (usage) console.error(USAGE);
      process.exitCode = usage ? EXIT_USAGE : EXIT_INVALID;
      if (!(error instanceof UserError) && error instanceof Error && process.env.DEBUG)
        console.error(error.stack);
    },
  );

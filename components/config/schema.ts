/**
 * The stack configuration's schema and types: every key the stack reads, its format and its default.
 * Pure data: the parse pipeline (`config.ts`) and the cross-field rules (`rules/`) both build on it.
 */
import { z } from "zod";
import { EngineDtype, KnownAnswer, ModelArchitecture, QUANTIZATIONS, Quantization } from "./catalog";
import {
  availabilityDomainProblem,
  dockerHostProblem,
  environmentValueProblem,
  type Grammar,
  huggingFaceIdProblem,
  imageReferenceProblem,
  localPathProblem,
  regionProblem,
  revisionProblem,
} from "./grammars";
import { imageMirrorSchema } from "./image-mirror";
import { productionDeploymentKeys } from "./production-schema";

export const PROJECT = "triton-trtllm-oci";

/** One problem with the configuration, kept as data until it is printed or thrown. */
export interface ConfigError {
  /** Dotted config key, e.g. `engine.quantization`. */
  readonly key: string;
  readonly value: unknown;
  readonly message: string;
  readonly fix: string;
  /** The error is about the key itself (a namespace or name nothing reads): no value is shown. */
  readonly keyOnly?: boolean;
}

export const SECRET_KEYS = ["ocirUsername", "ocirAuthToken", "hfToken"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
/** Secrets the image push cannot do without; `hfToken` is only for gated models. */
export const REQUIRED_SECRETS: readonly SecretKey[] = ["ocirUsername", "ocirAuthToken"];

/** What a config source hands over: the project's keys (secrets excluded) and the provider's region. */
export interface RawStackConfig {
  readonly values: Readonly<Record<string, unknown>>;
  readonly ociRegion?: string;
  /** Names of the secret keys that are set, never their values. */
  readonly secretsSet: ReadonlySet<string>;
  /** Every key outside the project's namespace, in full (`oci:region`, `docker:host`...). */
  readonly otherKeys?: readonly string[];
}

const OCID = /^ocid1\.([a-z0-9]+)\.(oc[0-9]+)\.[a-z0-9-]*\.[a-z0-9]{20,}$/;

/** Text that must match one of the allow-list grammars (`grammars.ts`); the problem is the message. */
const grammar = (problem: Grammar) =>
  z.string().check((ctx) => {
    const found = ctx.value === "" ? "is empty" : problem(ctx.value);
    if (found !== undefined) ctx.issues.push({ code: "custom", message: found, input: ctx.value });
  });

// Pulumi hands every value over as a string unless it sits inside an object, and YAML lets users
// quote numbers: accept "9000" and 9000 alike, but nothing else.
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.int().min(min).max(max),
  );
const fraction = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" && !isNaN(Number(v)) ? Number(v) : v),
  z.number().gt(0).lte(1),
);
const oneLine = z
  .string()
  .min(1)
  .max(500)
  .regex(/^[^\n\r\0]*$/, "holds a line break or NUL");
const flag = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const ocid = (...types: string[]) =>
  z.string().refine(
    (v) => {
      const match = OCID.exec(v);
      return match !== null && types.includes(match[1]);
    },
    `not an OCID of type ${types.join(" or ")}`,
  );

const architectureSchema = z.strictObject({
  family: z.enum(["falcon", "llama"]),
  layers: integer(1),
  hiddenSize: integer(1),
  queryHeads: integer(1),
  kvHeads: integer(1),
  intermediateSize: integer(1),
  vocabSize: integer(1),
  contextLength: integer(1),
  parameterCount: z.number().positive(),
  eosTokenId: integer(0),
  padTokenId: integer(0),
});

const DEFAULT_IMAGE_SOURCE = "nvcr.io/nvidia/tritonserver:25.04-trtllm-python-py3";

export const stackSchema = z.strictObject({
  compartmentId: ocid("compartment", "tenancy"),
  /** The tenancy (root compartment): dynamic groups can only live there. */
  tenancyId: ocid("tenancy").optional(),
  projectId: ocid("datascienceproject").optional(),
  model: z
    .strictObject({
      huggingFaceId: grammar(huggingFaceIdProblem).default("tiiuae/falcon-7b-instruct"),
      revision: grammar(revisionProblem).default("main"),
      localDir: grammar(localPathProblem).optional(),
      architecture: architectureSchema.optional(),
    })
    .prefault({}),
  engine: z
    .strictObject({
      dtype: z.enum(["float16", "bfloat16"]).default("bfloat16"),
      quantization: z.enum(QUANTIZATIONS as [Quantization, ...Quantization[]]).default("none"),
      tensorParallel: integer(1, 64).default(1),
      maxBatchSize: integer(1, 4096).default(32),
      maxInputLen: integer(1).default(1024),
      maxOutputLen: integer(1).default(1024),
      prebuiltDir: grammar(localPathProblem).optional(),
    })
    .prefault({}),
  build: z
    .strictObject({
      shape: z.string().optional(),
      // Deprecated and ignored (the build host is reached through OCI Bastion): warned about, one release.
      sshAllowedCidr: z.string().optional(),
      keepInstance: flag.default(false),
      subnetId: ocid("subnet").optional(),
      availabilityDomain: grammar(availabilityDomainProblem).optional(),
      // The build host's known-answer check (default: the model family's, catalog.ts); build.env
      // holds one line per setting.
      validation: z
        .strictObject({ prompt: oneLine.optional(), expect: oneLine.optional() })
        .superRefine((validation, context) => {
          if (validation.prompt !== undefined && validation.expect === undefined) {
            context.addIssue({
              code: "custom",
              path: ["expect"],
              message:
                "is required with build.validation.prompt: the build host checks that the engine's answer to that prompt holds this text",
            });
          }
        })
        .prefault({}),
    })
    .prefault({}),
  image: z
    .strictObject({
      source: grammar(imageReferenceProblem).default(DEFAULT_IMAGE_SOURCE),
      repository: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._/-]*$/, "not an OCIR repository path (lower case, digits, . _ - /)")
        .optional(),
      tag: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "not a Docker tag")
        .optional(),
      mirror: imageMirrorSchema,
    })
    .prefault({}),
  deployment: z
    .strictObject({
      shape: z.string().default("VM.GPU.A10.1"),
      instanceCount: integer(1, 10).default(1),
      bandwidthMbps: integer(10, 8000).default(10),
      httpPort: integer(0, 65535).default(9000),
      storageSizeInGBs: integer(50, 16384).default(500),
      streaming: flag.default(false),
      // triton: Triton's generate endpoint; openai: the image's OpenAI frontend (deployment/openai-frontend.ts).
      api: z.enum(["triton", "openai"]).default("triton"),
      // openai: tokens to generate for a request that sets no max_tokens; unset, engine.maxOutputLen.
      defaultMaxTokens: integer(1).optional(),
      environment: z.record(z.string(), grammar(environmentValueProblem)).default({}),
      // autoscaling, access, privateSubnetId, alerts: a production endpoint (production-schema.ts).
      ...productionDeploymentKeys,
    })
    .prefault({}),
  serving: z
    .strictObject({
      repositoryFolder: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "not a plain folder name")
        .default("triton"),
      kvCacheFreeGpuMemFraction: fraction.default(0.9),
      batchSchedulerPolicy: z.enum(["guaranteed_no_evict", "max_utilization"]).default("guaranteed_no_evict"),
      enableChunkedContext: flag.default(false),
      maxQueueDelayMicroseconds: integer(0).default(0),
      maxQueueSize: integer(0).default(0),
      preprocessingInstances: integer(1, 64).default(1),
      postprocessingInstances: integer(1, 64).default(1),
    })
    .prefault({}),
  artifact: z
    .strictObject({
      bucketName: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,256}$/, "not an Object Storage bucket name")
        .optional(),
    })
    .prefault({}),
  iam: z
    .strictObject({
      create: flag.default(true),
      /** Where IAM is written; by default the tenancy's home region, looked up at preview. */
      homeRegion: grammar(regionProblem).optional(),
    })
    .prefault({}),
  docker: z
    .strictObject({
      host: grammar(dockerHostProblem).optional(),
    })
    .prefault({}),
  evaluation: z.strictObject({ ttlHours: integer(1, 24 * 90).optional() }).prefault({}),
});

export type ParsedSchema = z.infer<typeof stackSchema>;

/** The validated configuration with defaults applied and catalogue lookups resolved. */
export interface StackConfig extends Omit<ParsedSchema, "model" | "build" | "image" | "engine"> {
  readonly region: string;
  readonly model: ParsedSchema["model"] & { readonly resolved: ModelArchitecture };
  readonly engine: ParsedSchema["engine"] & { readonly dtype: EngineDtype };
  readonly build: ParsedSchema["build"] & { readonly shape: string; readonly validation: KnownAnswer };
  readonly image: ParsedSchema["image"] & { readonly tag: string };
}

/** A cross-field check: every problem it finds in a parsed configuration. */
export type Rule = (config: StackConfig) => ConfigError[];

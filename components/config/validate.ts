/**
 * The one validation of a stack: `check` and the program (`index.ts`) both call `validateStack`,
 * so the two can never disagree. It runs the schema and its grammars, the cross-field rules, the
 * serving-image catalogue, the local folders and the rules of a build. What only the program knows
 * at preview (whether the bucket's cache hits, so whether a build runs) is an input: `check` passes
 * `assumeBuild` and the result says it assumed one.
 */
import { iamStatements, type IamStatements } from "../deployment/iam-statements";
import { parseStackConfig, type ConfigError, type RawStackConfig, type StackConfig } from "./config";
import { servingImageProblem } from "./image-catalog";
import { checkLocalInputsOf } from "./local-inputs";
import { type BucketFacts, type BuildMode, buildRefusals } from "./rules/build";
import { alertPlaceholders } from "./rules/production";
import { stackNames } from "./stack-names";

export type { BucketFacts, BuildMode } from "./rules/build";

/** What is known about the engine's source when the stack is validated. */
export type EngineOutlook =
  /** The program before its bucket lookup: the build rules wait for the second call. */
  | { readonly kind: "not-looked-up" }
  /** `check`, offline: judged as if the cache missed, the case with the most to refuse. */
  | { readonly kind: "assume-build" }
  /** The program after its bucket lookup. */
  | { readonly kind: "looked-up"; readonly mode: BuildMode; readonly bucket: BucketFacts };

export interface ValidationContext {
  /** The stack's name: resource names (and the IAM statements) derive from it. */
  readonly stack: string;
  /** Folder relative paths (`model.localDir`, `engine.prebuiltDir`) start from. */
  readonly projectDir: string;
  readonly engine: EngineOutlook;
}

export interface StackValidation {
  /** Present only when nothing is refused. */
  readonly config?: StackConfig;
  /** Refused by `pulumi preview` and `pulumi up` alike. */
  readonly errors: ConfigError[];
  readonly warnings: ConfigError[];
  /**
   * Refused by `pulumi up` only: placeholder OCIDs of the committed example (a pull request's
   * preview runs on them). Notes for `check`.
   */
  readonly placeholders: ConfigError[];
  /**
   * Settings only the operator can supply, unset (required secrets, `hfToken` for a gated model's
   * build, this machine's address for the build's SSH): refused by the program, notes for `check`,
   * which CI runs without secrets.
   */
  readonly missingInputs: ConfigError[];
  /** Local folders named but not on this machine: refused by the program, notes for `check`. */
  readonly absentFolders: ConfigError[];
  /** What was assumed rather than known, in words, for the reader of `check`. */
  readonly assumptions: string[];
  /** With `iam.create: false`: the dynamic group and policies an administrator must create. */
  readonly iamHandover?: IamStatements;
}

const ASSUMED_BUILD =
  "a build: check reads no bucket, so it judges the stack as if the engine cache missed (a cache hit needs no hfToken and no build access)";

function buildMode(config: StackConfig, engine: EngineOutlook): BuildMode | "unknown" {
  switch (engine.kind) {
    case "not-looked-up":
      return "unknown";
    case "assume-build":
      // A hand-built engine is packed on this machine: no instance, whatever the cache holds.
      return config.engine.prebuiltDir === undefined ? "build" : undefined;
    case "looked-up":
      return engine.mode;
  }
}

export function validateStack(raw: RawStackConfig, context: ValidationContext): StackValidation {
  const parsed = parseStackConfig(raw);
  const local = checkLocalInputsOf(parsed, context.projectDir);
  const judged = parsed.config ?? parsed.draft?.config;
  const imageSettled = parsed.draft === undefined || !parsed.draft.badKeys.has("image.source");
  const image = judged !== undefined && imageSettled ? servingImageProblem(judged.image.source) : undefined;
  const errors = [...(image === undefined ? [] : [image]), ...parsed.errors, ...local.errors];
  const missingInputs = [...parsed.missingSecrets];
  const assumptions: string[] = [];
  if (parsed.config !== undefined) {
    const mode = buildMode(parsed.config, context.engine);
    if (context.engine.kind === "assume-build" && mode === "build") assumptions.push(ASSUMED_BUILD);
    if (mode !== "unknown") {
      const build = buildRefusals(parsed.config, {
        mode,
        hfTokenSet: raw.secretsSet.has("hfToken"),
        bucket: context.engine.kind === "looked-up" ? context.engine.bucket : undefined,
      });
      errors.push(...build.errors);
      missingInputs.push(...build.unset);
    }
  }
  const config = errors.length === 0 ? parsed.config : undefined;
  const names = config === undefined ? undefined : stackNames(context.stack, config);
  return {
    config,
    errors,
    warnings: parsed.warnings,
    // The example alert address is a placeholder like the example OCIDs (rules/production.ts).
    placeholders: [...parsed.placeholders, ...(judged === undefined ? [] : alertPlaceholders(judged))],
    missingInputs,
    absentFolders: local.absent,
    assumptions,
    iamHandover:
      config === undefined || names === undefined || config.iam.create
        ? undefined
        : iamStatements({
            compartmentId: config.compartmentId,
            dynamicGroupName: names.dynamicGroupName,
            bucketName: names.bucketName,
            region: config.region,
            autoscaling: config.deployment.autoscaling !== undefined,
          }),
  };
}

/** Everything the program refuses: at preview the placeholders only warn. */
export function programRefusals(validation: StackValidation, options: { dryRun: boolean }): ConfigError[] {
  return [
    ...validation.errors,
    ...validation.missingInputs,
    ...(options.dryRun ? [] : validation.placeholders),
    ...validation.absentFolders,
  ];
}

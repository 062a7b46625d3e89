/**
 * The program's edge to the configuration: the stack's one validation (`validateStack`, the same
 * `check` runs), refused with every error at once, before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { formatConfigError, type StackConfig } from "../components/config/config";
import { readPulumiConfig } from "../components/config/pulumi-config";
import { type EngineOutlook, programRefusals, validateStack } from "../components/config/validate";
import { formatIamStatements } from "../components/deployment/iam-statements";

/** A refusal of the stack's input: every error at once, each naming its key, value and fix. */
export function fail(errors: { key: string; value: unknown; message: string; fix: string }[]): never {
  throw new pulumi.RunError(
    `invalid stack configuration (${errors.length} error(s)):\n${errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}`,
  );
}

/**
 * Called before the bucket lookup and again after it, when whether a build runs is known; warnings
 * are logged on the first call only. Placeholder OCIDs may be previewed (a pull-request pipeline
 * previews the committed example), never deployed. The program runs from the project folder:
 * relative paths start there.
 */
export function validatedConfig(engine: EngineOutlook): StackConfig {
  const validation = validateStack(readPulumiConfig(), {
    stack: pulumi.getStack(),
    projectDir: process.cwd(),
    engine,
  });
  const dryRun = pulumi.runtime.isDryRun();
  const refusals = programRefusals(validation, { dryRun });
  if (refusals.length > 0 || validation.config === undefined) fail(refusals);
  if (engine.kind === "not-looked-up") {
    for (const warning of validation.warnings) pulumi.log.warn(formatConfigError(warning));
    for (const note of dryRun ? validation.placeholders : [])
      pulumi.log.warn(`pulumi up fails with this: ${formatConfigError(note)}`);
    if (validation.iamHandover !== undefined)
      pulumi.log.warn(
        `iam.create is false: an administrator must create\n${formatIamStatements(validation.iamHandover)}`,
      );
  }
  return validation.config;
}

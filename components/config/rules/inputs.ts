/** Rules on settings that must come in a given form or together with another. */
import { shellWord } from "../quoting";
import type { Rule } from "../schema";

/** A hand-built engine needs the snapshot its tokenizer files come from; a built one brings its own. */
export const artifactSourcesRule: Rule = (config) =>
  config.engine.prebuiltDir !== undefined && config.model.localDir === undefined
    ? [
        {
          key: "model.localDir",
          value: undefined,
          message:
            "is required with engine.prebuiltDir: the artifact's tokenizer files come from a local snapshot",
          fix: `download the snapshot (huggingface-cli download ${shellWord(config.model.huggingFaceId)} --revision ${shellWord(config.model.revision)} --local-dir <dir>) and set: pulumi config set --path model.localDir <dir>, or unset engine.prebuiltDir to let the stack build the engine`,
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

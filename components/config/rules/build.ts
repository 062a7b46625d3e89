/**
 * Rules that apply only when this run starts a build instance: what it downloads and where it
 * uploads. Whether a build runs is known to the program only after the
 * bucket lookup at preview; `check` has no bucket and judges the worst case, a build.
 */
import { gatedModelCard } from "../catalog";
import { quoted, shellWord } from "../quoting";
import type { ConfigError, StackConfig } from "../schema";

/**
 * What this run's instance does: `build` a GPU build, `assemble` a re-pack of a cached engine
 * validated in Triton on the same GPU shape, `mirror` a CPU copy of the serving image into OCIR when
 * no build runs; undefined: no instance.
 */
export type BuildMode = "build" | "assemble" | "mirror" | undefined;

/** What the program learns from the bucket at preview. */
export interface BucketFacts {
  readonly name: string;
  readonly exists: boolean;
  /** Object Storage's `publicAccessType`, when the bucket exists. */
  readonly accessType?: string;
}

export interface BuildFacts {
  readonly mode: BuildMode;
  /** Whether the `hfToken` secret is set (never its value). */
  readonly hfTokenSet: boolean;
  /** Absent in `check`, which reads no bucket. */
  readonly bucket?: BucketFacts;
}

function why(mode: "build" | "assemble" | "mirror"): string {
  switch (mode) {
    case "build":
      return "the engine is not in the cache, so this run builds it on a GPU instance";
    case "assemble":
      return "the engine is cached but the artifact is not, so this run re-assembles it and validates it in Triton on a GPU instance";
    case "mirror":
      return "the serving image is not in OCIR yet and no build runs, so this run copies it on a CPU instance";
  }
}

export function bucketAccessErrors(bucket: BucketFacts | undefined): ConfigError[] {
  if (bucket === undefined || !bucket.exists) return [];
  if (bucket.accessType === undefined || bucket.accessType === "NoPublicAccess") return [];
  return [
    {
      key: "artifact.bucketName",
      value: bucket.name,
      message: `names an existing bucket with public access (${quoted(bucket.accessType)}); model artifacts must stay private`,
      fix: `make it private ('oci os bucket update --bucket-name ${shellWord(bucket.name)} --public-access-type NoPublicAccess') or name another bucket: pulumi config set --path artifact.bucketName <name>`,
    },
  ];
}

export interface BuildRefusals {
  readonly errors: ConfigError[];
  /**
   * Settings only the operator can supply (a secret), unset: the program refuses them, `check`
   * lists them as notes, as it does the image push's secrets.
   */
  readonly unset: ConfigError[];
}

/** Every refusal a build (or re-assembly) instance adds, given what the run will do. */
export function buildRefusals(config: StackConfig, facts: BuildFacts): BuildRefusals {
  const errors = bucketAccessErrors(facts.bucket);
  const unset: ConfigError[] = [];
  if (facts.mode === undefined) return { errors, unset };
  const reason = why(facts.mode);
  if (!config.iam.create || config.tenancyId === undefined) {
    errors.push({
      key: "iam.create",
      value: config.iam.create,
      message: `must be true with tenancyId set: ${reason}, and that instance uploads through a dynamic group of its own`,
      fix:
        facts.mode === "mirror"
          ? "pulumi config set --path iam.create true and pulumi config set tenancyId <tenancy OCID>, or copy the image into OCIR by hand (skopeo copy --all --preserve-digests), or set image.mirror local to push through a Docker daemon"
          : "pulumi config set --path iam.create true and pulumi config set tenancyId <tenancy OCID>, or build by hand and set engine.prebuiltDir",
    });
  }
  const card = gatedModelCard(config.model.huggingFaceId);
  // Only a GPU build downloads the model; a re-assembly takes the cached engine's files.
  if (facts.mode === "build" && card !== undefined && !facts.hfTokenSet) {
    unset.push({
      key: "hfToken",
      value: undefined,
      message: `is required: ${reason}, and ${quoted(config.model.huggingFaceId)} is gated on Hugging Face (its files download only with the token of an account that accepted the licence: ${card})`,
      fix: "accept the licence on the model card, create a read token (huggingface.co/settings/tokens) and set it: pulumi config set --secret hfToken <token>; a cached artifact deploys without it",
    });
  }
  return { errors, unset };
}

/**
 * What the schema cannot default by itself: settings that follow others when left unset (the image
 * tag follows the image source, the build shape the deployment shape, the build's known answer the
 * model's family), and the stand-ins that take the place of bad settings so the rules can still
 * judge the good ones.
 */
import { FAMILY_KNOWN_ANSWERS, GPU_SHAPES, MODELS, type ModelArchitecture } from "./catalog";
import type { ParsedSchema, StackConfig } from "./schema";

/** Settings whose values parse but stand in for what the user wrote, so rules may run on the rest. */
export const STAND_INS: Readonly<Record<string, unknown>> = {
  compartmentId: "ocid1.compartment.oc1..aaaaaaaastandinstandinstandinstandinstandin",
};

const CATALOGUE_MODEL = "tiiuae/falcon-7b-instruct";

/** The architecture rules judge when the configured model has none usable. */
export const STAND_IN_ARCHITECTURE: ModelArchitecture = MODELS[CATALOGUE_MODEL];

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function defaultTag(source: string): string {
  const withoutDigest = source.split("@")[0];
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  return colon >= 0 ? lastSegment.slice(colon + 1) : "latest";
}

/**
 * The configuration the rules and the program read: the parsed settings with the catalogue's
 * architecture, the followed defaults filled in, and a stand-in shape for a shape in `badKeys`.
 */
export function completeConfig(
  data: ParsedSchema,
  region: string,
  resolved: ModelArchitecture,
  badKeys: ReadonlySet<string>,
): StackConfig {
  const standInShape = GPU_SHAPES[0].name;
  const deploymentShape = badKeys.has("deployment.shape") ? standInShape : data.deployment.shape;
  return {
    ...data,
    region,
    model: { ...data.model, resolved },
    deployment: { ...data.deployment, shape: deploymentShape },
    build: {
      ...data.build,
      shape: badKeys.has("build.shape") ? standInShape : (data.build.shape ?? deploymentShape),
      validation: { ...FAMILY_KNOWN_ANSWERS[resolved.family], ...definedOnly(data.build.validation) },
    },
    image: { ...data.image, tag: data.image.tag ?? defaultTag(data.image.source) },
  };
}

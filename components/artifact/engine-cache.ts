/**
 * The engine cache in the artifact bucket, looked up at preview with the provider's own data sources
 * (so the lookup uses the stack's OCI credentials, and the tests answer it like any invoke):
 *
 *   artifacts/<artifactKey>/manifest.json  present → the whole artifact exists: no instance at all
 *   engines/<engineKey>/manifest.json      present → only serving settings changed: re-assemble and
 *                                                    validate in Triton on the GPU shape, no engine build
 *   neither                                         → build on the GPU shape
 *
 * A manifest is uploaded last, after the objects it describes, so its presence marks a complete entry.
 */
import * as oci from "@pulumi/oci";
import { z } from "zod";
import { cacheObjects } from "./cache-keys";

const SHA256 = /^[0-9a-f]{64}$/;

/** What the build host writes beside each artifact it uploads (engine-build/build-host.sh). */
export const buildManifestSchema = z.looseObject({
  schema: z.literal(1),
  mode: z.enum(["build", "assemble"]),
  engineKey: z.string().regex(SHA256),
  artifactKey: z.string().regex(SHA256),
  object: z.string().min(1),
  sha256: z.string().regex(SHA256),
  bytes: z.number().int().positive(),
  imageRef: z.string().optional(),
  trtllmVersion: z.string().optional(),
  gpu: z.string().optional(),
  timings: z.record(z.string(), z.number()).optional(),
  /** Wall seconds per phase of the time to an endpoint (engine-build/lib/manifest.sh phases_json). */
  phases: z.record(z.string(), z.number()).optional(),
  finishedAt: z.string().optional(),
});
export type BuildManifest = z.infer<typeof buildManifestSchema>;

/** Parses a manifest, naming where it came from when it is not one. */
export function parseBuildManifest(text: string, source: string): BuildManifest {
  let json: unknown;
  try {
    json = JSON.parse(text.trim().split("\n").pop() ?? "");
  } catch {
    throw new Error(`${source} is not a build manifest (not JSON): ${text.slice(0, 200)}`);
  }
  const parsed = buildManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`${source} is not a build manifest: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** Where the engine of this stack comes from, as decided at preview. */
export type EngineSource =
  | { readonly kind: "prebuilt" }
  | { readonly kind: "artifact-hit"; readonly manifest: BuildManifest }
  | { readonly kind: "engine-hit" }
  | { readonly kind: "build" };

export interface CacheLookup {
  readonly bucketExists: boolean;
  readonly bucketAccessType?: string;
  readonly artifactManifest?: BuildManifest;
  readonly engineCached: boolean;
}

export function chooseEngineSource(prebuilt: boolean, lookup: CacheLookup): EngineSource {
  if (prebuilt) return { kind: "prebuilt" };
  if (lookup.artifactManifest !== undefined)
    return { kind: "artifact-hit", manifest: lookup.artifactManifest };
  return lookup.engineCached ? { kind: "engine-hit" } : { kind: "build" };
}

/** The one line `check` and the stack outputs show for the cache. */
export function describeEngineSource(source: EngineSource): string {
  switch (source.kind) {
    case "prebuilt":
      return "prebuilt engine (engine.prebuiltDir): packed and uploaded from this machine";
    case "artifact-hit":
      return `artifact cache hit (${source.manifest.object}): no build instance`;
    case "engine-hit":
      return "engine cache hit, artifact miss: re-assembled and validated in Triton on a GPU instance, no engine build";
    case "build":
      return "cache miss: the engine is built on a GPU instance";
  }
}

export interface CacheLocation {
  readonly compartmentId: string;
  readonly namespace: string;
  readonly bucketName: string;
}

async function objectExists(location: CacheLocation, name: string): Promise<boolean> {
  // ListObjects with the full name as prefix: a missing object is an empty list, where GetObject
  // would fail the whole preview with a 404.
  const listing = await oci.objectstorage.getObjects({
    bucket: location.bucketName,
    namespace: location.namespace,
    prefix: name,
  });
  return (listing.objects ?? []).some((object) => object.name === name);
}

/**
 * Looks the bucket, the artifact and the engine up. A bucket that does not exist yet (a new stack)
 * is a miss without listing anything.
 */
export async function lookupEngineCache(
  location: CacheLocation,
  keys: { engineKey: string; artifactKey: string },
): Promise<CacheLookup> {
  const buckets = await oci.objectstorage.getBucketSummaries({
    compartmentId: location.compartmentId,
    namespace: location.namespace,
    filters: [{ name: "name", values: [location.bucketName] }],
  });
  const bucket = (buckets.bucketSummaries ?? []).find((summary) => summary.name === location.bucketName);
  if (bucket === undefined) return { bucketExists: false, engineCached: false };

  const manifestName = cacheObjects.artifactManifest(keys.artifactKey);
  if (await objectExists(location, manifestName)) {
    const object = await oci.objectstorage.getObject({
      bucket: location.bucketName,
      namespace: location.namespace,
      object: manifestName,
    });
    const manifest = parseBuildManifest(object.content, `${location.bucketName}/${manifestName}`);
    if (manifest.artifactKey !== keys.artifactKey) {
      throw new Error(
        `${location.bucketName}/${manifestName} describes artifact ${manifest.artifactKey}, not ${keys.artifactKey}: delete the object so the next run rebuilds it`,
      );
    }
    return {
      bucketExists: true,
      bucketAccessType: bucket.accessType,
      artifactManifest: manifest,
      engineCached: true,
    };
  }
  const engineCached = await objectExists(location, cacheObjects.engineManifest(keys.engineKey));
  return { bucketExists: true, bucketAccessType: bucket.accessType, engineCached };
}

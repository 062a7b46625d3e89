/**
 * The build path of the program: an instance that builds the engine (`build`), re-assembles and
 * validates the artifact around a cached engine (`assemble`), both on the GPU shape, or only copies
 * the serving image into OCIR (`mirror`, a CPU shape), with its private network. Only a cache miss
 * or an image still to copy takes it, so what it needs (the two components, TLS keys, remote
 * commands, the esbuild bundle of the packer) is required on demand: a preview that builds nothing
 * does not load it.
 */
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { BuildManifest } from "../components/artifact/engine-cache";
import type { ArtifactBucket } from "../components/artifact-bucket";
import { estimateBuild } from "../components/config/build-estimate";
import { PROJECT, type StackConfig } from "../components/config/config";
import { COPY_HOST_SHAPE, estimateCopyHost } from "../components/config/image-copy";
import type { ContainerSpec } from "../components/deployment/container-spec";
import { BUILD_TTL_HOURS } from "../components/deployment/expiry";
import { ocirLoginUser, ocirRegistry } from "../components/deployment/ocir";
import { validationRequestBody } from "../components/deployment/stack-outputs";
import type { EngineBuild, EngineBuildMode } from "../components/engine-build";
import type { RepositoryEntry } from "../components/model-repository";
import type { OcirImage } from "../components/ocir-image";
import { CACHE_DIR } from "./paths";

// require(), not import(): the same on-demand load under any CommonJS TypeScript loader (Sucrase,
// ts-node, tsx's), where import() of an extensionless .ts specifier fails. `test/layout.test.ts`
// follows these calls as imports.
const onDemand = createRequire(__filename);

export interface EngineBuildContext {
  readonly config: StackConfig;
  readonly mode: EngineBuildMode;
  readonly repository: readonly RepositoryEntry[];
  readonly keys: { readonly engineKey: string; readonly artifactKey: string };
  readonly container: ContainerSpec;
  readonly image: OcirImage;
  readonly bucket: ArtifactBucket;
  readonly bucketName: string;
  readonly namespace: string;
  readonly secrets: pulumi.Config;
  readonly ociProfile: string | undefined;
  readonly tags: Record<string, string>;
  readonly identityProvider: oci.Provider | undefined;
  /** `image.source` when the serving image is still to be copied into OCIR: the host does it. */
  readonly copyImageFrom?: string;
}

/**
 * The engine (`build`) or the artifact (`assemble`) made on an instance, a cache miss; or (`mirror`)
 * only the serving image copied into OCIR by one, when no build runs.
 */
export async function buildEngine(context: EngineBuildContext): Promise<EngineBuild> {
  const { config, mode, repository, keys, container, image, bucket, bucketName, namespace, secrets } =
    context;
  const { EngineBuild } = onDemand(
    "../components/engine-build",
  ) as typeof import("../components/engine-build");
  const { BuildNetwork } = onDemand(
    "../components/build-network",
  ) as typeof import("../components/build-network");
  const { bastionName } = onDemand(
    "../components/build/bastion-plan",
  ) as typeof import("../components/build/bastion-plan");
  const plan = onDemand("../components/build/host-plan") as typeof import("../components/build/host-plan");
  const { availabilityDomainNames, pickPlatformImage } = onDemand(
    "../components/build/inputs",
  ) as typeof import("../components/build/inputs");
  // Only the image copy runs on a CPU shape: a build and a re-assembly both serve the artifact in
  // Triton on the deployment's GPU model before they upload it (steps/validate.sh).
  const gpu = mode !== "mirror";
  const shape = gpu ? config.build.shape : COPY_HOST_SHAPE.name;
  const [availabilityDomains, images] = await Promise.all([
    config.build.availabilityDomain !== undefined
      ? [config.build.availabilityDomain]
      : oci.identity
          .getAvailabilityDomains({ compartmentId: config.compartmentId })
          .then(availabilityDomainNames),
    oci.core.getImages({
      compartmentId: config.compartmentId,
      operatingSystem: "Oracle Linux",
      operatingSystemVersion: "8",
      shape,
      sortBy: "TIMECREATED",
      sortOrder: "DESC",
    }),
  ]);
  const hostFilesDir = plan.stageBuildHostFiles(
    plan.buildHostFiles({
      projectDir: process.cwd(),
      repository,
      validationRequest: validationRequestBody(config),
      packerBundle: plan.bundlePacker(process.cwd()),
    }),
    CACHE_DIR,
    process.cwd(),
  );
  const network = new BuildNetwork("engine-network", {
    compartmentId: config.compartmentId,
    subnetId: config.build.subnetId,
    bastionName: bastionName(PROJECT, pulumi.getStack()),
    freeformTags: context.tags,
    expiresInHours: BUILD_TTL_HOURS,
    expiryKey: keys.artifactKey,
  });
  const estimate = mode === "mirror" ? estimateCopyHost(config) : estimateBuild(config, mode);
  return new EngineBuild("engine", {
    mode,
    compartmentId: config.compartmentId,
    tenancyId: config.tenancyId ?? "",
    availabilityDomain: config.build.availabilityDomain,
    availabilityDomains,
    subnetId: network.subnetId,
    bastionId: network.bastionId,
    shape,
    shapeConfig: gpu ? undefined : { ocpus: COPY_HOST_SHAPE.ocpus, memoryInGbs: COPY_HOST_SHAPE.memoryInGbs },
    imageId: pickPlatformImage(images.images, { gpu, shape }),
    bootVolumeSizeInGbs: estimate.bootVolumeGB,
    cloudInit: readFileSync(join(process.cwd(), "engine-build", "cloud-init.yaml"), "utf8"),
    hostFilesDir,
    settings: image.imageRef.apply((imageRef) =>
      plan.buildSettings(config, {
        mode,
        imageRef,
        ocirRegistry: ocirRegistry(config.region),
        bucketName,
        namespace,
        engineKey: keys.engineKey,
        artifactKey: keys.artifactKey,
        container,
        copyImageFrom: context.copyImageFrom,
      }),
    ),
    artifactKey: keys.artifactKey,
    estimatedMinutes: estimate.totalMinutes,
    bucketName: bucket.bucketName,
    // The same `<namespace>/<user>` rule as the image push: a username given without its namespace
    // pushes, and must not then fail the build host's pull.
    ocirUsername: secrets.requireSecret("ocirUsername").apply((user) => ocirLoginUser(namespace, user)),
    ocirAuthToken: secrets.requireSecret("ocirAuthToken"),
    hfToken: secrets.getSecret("hfToken"),
    keepInstance: config.build.keepInstance,
    expiresInHours: BUILD_TTL_HOURS,
    region: config.region,
    ociProfile: context.ociProfile,
    freeformTags: context.tags,
    identityProvider: context.identityProvider,
    dependsOn: [image],
  });
}

/** The manifest a `build` or `assemble` instance printed (a `mirror` one prints none). */
export function builtManifest(build: EngineBuild): pulumi.Output<BuildManifest> {
  if (build.manifest === undefined) throw new Error("an image-copy instance has no build manifest");
  return build.manifest;
}

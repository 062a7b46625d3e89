/**
 * triton-trtllm-oci: configuration in, a signed Triton endpoint on OCI Data Science out.
 * Config is parsed and validated once, before any resource is registered; every error is reported
 * together, each naming its key. The engine cache is looked up next, still before any resource, and
 * decides where the artifact comes from: packed here (a hand-built engine), found in the bucket, or
 * built on a GPU instance. Components are wired by their outputs only.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { artifactKey, engineKey, engineKeyInputs } from "./components/artifact/cache-keys";
import {
  type BuildManifest,
  chooseEngineSource,
  describeEngineSource,
  lookupEngineCache,
} from "./components/artifact/engine-cache";
import { ArtifactBucket } from "./components/artifact-bucket";
import { CatalogModel } from "./components/catalog-model";
import { ASSEMBLE_SHAPE, estimateBuild, measuredPhaseMinutes } from "./components/config/build-estimate";
import { formatConfigError, PROJECT, StackConfig } from "./components/config/config";
import { readPulumiConfig } from "./components/config/pulumi-config";
import { containerSpecInput } from "./components/config/rules";
import { stackNames } from "./components/config/stack-names";
import { sizingSummary } from "./components/config/summary";
import { type EngineOutlook, programRefusals, validateStack } from "./components/config/validate";
import { containerSpec, type ContainerSpec } from "./components/deployment/container-spec";
import { expiryCommand } from "./components/deployment/expiry";
import { formatIamStatements } from "./components/deployment/iam-statements";
import { homeRegionOf, homeRegionProviderArgs } from "./components/deployment/home-region";
import { modelProvenance } from "./components/deployment/model-metadata";
import { imageRepositoryName, ocirLoginUser, ocirRegistry } from "./components/deployment/ocir";
import { signedCallCommand, validationRequestBody } from "./components/deployment/stack-outputs";
import type { EngineBuild, EngineBuildMode } from "./components/engine-build";
import { Iam } from "./components/iam";
import {
  describeMirrorLookup,
  type ImageMirrorLookup,
  imageMirrorOutput,
  lookupImageMirror,
} from "./components/registry/image-mirror";
import { ModelArtifact } from "./components/model-artifact";
import {
  modelRepositorySpec,
  renderModelRepository,
  type RepositoryEntry,
} from "./components/model-repository";
import { OcirImage } from "./components/ocir-image";
import { TritonDeployment } from "./components/triton-deployment";

// What only some previews need is loaded by `import()` on their path alone: the engine build (TLS keys,
// remote commands, the esbuild bundle of the packer) and the pack cache (the packer, archiver). The
// specifiers are plain strings: TypeScript (NodeNext) checks a literal one as an ES module import and
// would demand `.js`, which the program's require hook (sucrase, Pulumi.yaml) cannot map to `.ts`.
const ENGINE_BUILD = "./components/engine-build";
const BUILD_NETWORK = "./components/build-network";
const BASTION_PLAN = "./components/build/bastion-plan";
const BUILD_HOST_PLAN = "./components/build/host-plan";
const BUILD_INPUTS = "./components/build/inputs";
const PACK_CACHE = "./components/artifact/pack-cache";
const loadPackCache = () => import(PACK_CACHE) as Promise<typeof import("./components/artifact/pack-cache")>;

function fail(errors: { key: string; value: unknown; message: string; fix: string }[]): never {
  throw new pulumi.RunError(
    `invalid stack configuration (${errors.length} error(s)):\n${errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}`,
  );
}

/**
 * The stack's one validation (`validateStack`, the same `check` runs), refused with every error at
 * once. Called before the bucket lookup and again after it, when whether a build runs is known.
 * Placeholder OCIDs may be previewed (a pull-request pipeline previews the committed example), never
 * deployed. The program runs from the project folder: relative paths start there.
 */
function validatedConfig(engine: EngineOutlook): StackConfig {
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

/**
 * The provider the identity resources (the deployment's and the build host's dynamic groups and
 * policies) go through: undefined, i.e. the default provider, where the stack's region is the
 * tenancy's home region. Existing stacks there keep the provider their IAM was created with: a
 * resource moved from the default provider to an explicit one is replaced unless the new provider's
 * DiffConfig says otherwise, and before pulumi/pulumi#18509 (2025-02) always
 * (pkg/resource/deploy/step_generator.go, providerChanged), while a replaced dynamic group of the same
 * name fails (OCI names are unique in the tenancy). Elsewhere IAM writes need the home region.
 */
async function identityProvider(config: StackConfig): Promise<oci.Provider | undefined> {
  if (!config.iam.create || config.tenancyId === undefined) return undefined;
  const home =
    config.iam.homeRegion ??
    homeRegionOf(
      (await oci.identity.getRegionSubscriptions({ tenancyId: config.tenancyId })).regionSubscriptions,
    );
  if (home === config.region) return undefined;
  pulumi.log.info(`IAM: written in the tenancy's home region ${home}, the stack runs in ${config.region}`);
  const ociConfig = Object.fromEntries(
    Object.entries(pulumi.runtime.allConfig())
      .filter(([key]) => key.startsWith("oci:"))
      .map(([key, text]) => [key.slice("oci:".length), text]),
  );
  return new oci.Provider("home-region", homeRegionProviderArgs(ociConfig, home));
}

// Local caches live under the project and are named relative to it: state must hold no path that
// only exists on this machine. Tests point this at a scratch folder.
const CACHE_DIR = process.env.TRITON_TRTLLM_OCI_CACHE_DIR ?? ".cache";
const BUILD_INSTANCE_TTL_HOURS = 12;

interface EngineBuildContext {
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
async function buildEngine(context: EngineBuildContext): Promise<EngineBuild> {
  const { config, mode, repository, keys, container, image, bucket, bucketName, namespace, secrets } =
    context;
  const [
    { EngineBuild },
    { BuildNetwork },
    { bastionName },
    plan,
    { availabilityDomainNames, pickPlatformImage },
  ] = await Promise.all([
    import(ENGINE_BUILD) as Promise<typeof import("./components/engine-build")>,
    import(BUILD_NETWORK) as Promise<typeof import("./components/build-network")>,
    import(BASTION_PLAN) as Promise<typeof import("./components/build/bastion-plan")>,
    import(BUILD_HOST_PLAN) as Promise<typeof import("./components/build/host-plan")>,
    import(BUILD_INPUTS) as Promise<typeof import("./components/build/inputs")>,
  ]);
  const gpu = mode === "build";
  const shape = gpu ? config.build.shape : ASSEMBLE_SHAPE.name;
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
    expiresInHours: BUILD_INSTANCE_TTL_HOURS,
  });
  // The copy needs no more than a re-assembly's CPU instance, disk and time.
  const estimate = estimateBuild(config, mode === "mirror" ? "assemble" : mode);
  return new EngineBuild("engine", {
    mode,
    compartmentId: config.compartmentId,
    tenancyId: config.tenancyId ?? "",
    availabilityDomain: config.build.availabilityDomain,
    availabilityDomains,
    subnetId: network.subnetId,
    bastionId: network.bastionId,
    shape,
    shapeConfig: gpu ? undefined : { ocpus: ASSEMBLE_SHAPE.ocpus, memoryInGbs: ASSEMBLE_SHAPE.memoryInGbs },
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
    expiresInHours: BUILD_INSTANCE_TTL_HOURS,
    region: config.region,
    ociProfile: context.ociProfile,
    freeformTags: context.tags,
    identityProvider: context.identityProvider,
    dependsOn: [image],
  });
}

/**
 * The `oci` mirror's preview lookup. The registry is read through a Docker provider that never
 * contacts a daemon (`disable_docker_daemon_check`: kreuzwerker/terraform-provider-docker
 * internal/provider/provider.go:163-167, config.go:193-196), so no Docker is needed here. A digest
 * it does not find is copied by a build host: the build's own when one runs, else a `mirror` one.
 */
async function lookUpMirror(config: StackConfig, repositoryName: string): Promise<ImageMirrorLookup> {
  const registry = new docker.Provider("image-registry", { disableDockerDaemonCheck: true });
  const input = { compartmentId: config.compartmentId, source: config.image.source, repositoryName };
  const found = await lookupImageMirror(input, registry);
  if (!found.ok) fail(found.errors);
  pulumi.log.info(describeMirrorLookup(found.lookup, repositoryName));
  return found.lookup;
}

/** The manifest a `build` or `assemble` instance printed (a `mirror` one prints none). */
function builtManifest(build: EngineBuild): pulumi.Output<BuildManifest> {
  if (build.manifest === undefined) throw new Error("an image-copy instance has no build manifest");
  return build.manifest;
}

async function main(): Promise<Record<string, unknown>> {
  const config = validatedConfig({ kind: "not-looked-up" });
  const secrets = new pulumi.Config();
  const ociProfile = new pulumi.Config("oci").get("configFileProfile");
  const stack = pulumi.getStack();
  const { baseName, bucketName, dynamicGroupName } = stackNames(stack, config);
  const tags = { "managed-by": "pulumi", project: PROJECT, stack };
  const { namespace } = await oci.objectstorage.getNamespace({ compartmentId: config.compartmentId });

  const repository = renderModelRepository(modelRepositorySpec(config));
  const engine = engineKey(engineKeyInputs(config));
  const keys = {
    engineKey: engine,
    artifactKey: artifactKey(engine, repository, config.serving.repositoryFolder),
  };
  const lookup = await lookupEngineCache(
    { compartmentId: config.compartmentId, namespace, bucketName },
    keys,
  );
  const engineSource = chooseEngineSource(config.engine.prebuiltDir !== undefined, lookup);
  const buildMode =
    engineSource.kind === "build" ? "build" : engineSource.kind === "engine-hit" ? "assemble" : undefined;
  const imageRepository = imageRepositoryName(
    config.image.mirror,
    config.image.repository,
    baseName,
    PROJECT,
    config.image.source,
  );
  const bucketFacts = { name: bucketName, exists: lookup.bucketExists, accessType: lookup.bucketAccessType };
  // A build's refusals come before any resource, the registry lookup's provider included.
  validatedConfig({ kind: "looked-up", mode: buildMode, bucket: bucketFacts });
  const mirrorLookup =
    config.image.mirror === "oci" ? await lookUpMirror(config, imageRepository) : undefined;
  // The image still to be copied: the build host copies it; without a build, an instance of its own.
  const copyImageFrom = mirrorLookup?.mirrored === false ? config.image.source : undefined;
  const copyOnlyHost = buildMode === undefined && copyImageFrom !== undefined;
  if (copyOnlyHost) validatedConfig({ kind: "looked-up", mode: "mirror", bucket: bucketFacts });
  pulumi.log.info(`engine: ${describeEngineSource(engineSource)}`);
  const homeRegionProvider = await identityProvider(config);

  const ttlHours = config.evaluation.ttlHours;
  const expiresAt =
    ttlHours === undefined
      ? undefined
      : new command.local.Command("expiry", { create: expiryCommand(ttlHours) }).stdout.apply((out) =>
          out.trim(),
        );

  const image = new OcirImage("image", {
    compartmentId: config.compartmentId,
    region: config.region,
    namespace,
    repository: imageRepository,
    tag: config.image.tag,
    mirror:
      mirrorLookup === undefined
        ? {
            mode: "local",
            source: config.image.source,
            username: secrets.requireSecret("ocirUsername"),
            authToken: secrets.requireSecret("ocirAuthToken"),
            dockerHost: config.docker.host,
          }
        : {
            mode: "oci",
            sourceDigest: mirrorLookup.sourceDigest,
            adoptRepositoryId: mirrorLookup.repositoryId,
          },
    // The shared mirror outlives this stack: it carries no stack tag.
    freeformTags: mirrorLookup === undefined ? tags : { "managed-by": tags["managed-by"], project: PROJECT },
  });

  const bucket = new ArtifactBucket("artifacts", {
    compartmentId: config.compartmentId,
    namespace,
    bucketName,
    adopt: lookup.bucketExists,
    freeformTags: tags,
  });

  const container = containerSpec(containerSpecInput(config));
  const buildContext = {
    config,
    repository,
    keys,
    container,
    image,
    bucket,
    bucketName,
    namespace,
    secrets,
    ociProfile,
    tags,
    identityProvider: homeRegionProvider,
    copyImageFrom,
  };
  // Nothing else runs a host here: this one only copies the image, and the deployment waits for it.
  const imageCopy = copyOnlyHost ? await buildEngine({ ...buildContext, mode: "mirror" }) : undefined;
  let engineBuild: EngineBuild | undefined;
  let artifact: ModelArtifact;
  if (engineSource.kind === "prebuilt") {
    artifact = new ModelArtifact("artifact", {
      bucket: bucket.bucketName,
      namespace: bucket.namespace,
      repositoryFolder: config.serving.repositoryFolder,
      source: {
        kind: "local",
        repository,
        engineDir: config.engine.prebuiltDir ?? "",
        modelDir: config.model.localDir ?? "",
        cacheDir: join(CACHE_DIR, "artifacts"),
        cacheMaxBytes: (await loadPackCache()).DEFAULT_CACHE_MAX_BYTES,
        region: config.region,
        ociProfile,
      },
    });
  } else if (engineSource.kind === "artifact-hit") {
    artifact = new ModelArtifact("artifact", {
      bucket: bucket.bucketName,
      namespace: bucket.namespace,
      repositoryFolder: config.serving.repositoryFolder,
      source: { kind: "uploaded", manifest: engineSource.manifest },
    });
  } else {
    engineBuild = await buildEngine({ ...buildContext, mode: buildMode ?? "build" });
    artifact = new ModelArtifact("artifact", {
      bucket: bucket.bucketName,
      namespace: bucket.namespace,
      repositoryFolder: config.serving.repositoryFolder,
      source: { kind: "uploaded", manifest: builtManifest(engineBuild) },
    });
  }

  const iam = new Iam("iam", {
    create: config.iam.create,
    compartmentId: config.compartmentId,
    tenancyId: config.tenancyId,
    dynamicGroupName,
    bucketName,
    region: config.region,
    freeformTags: tags,
    provider: homeRegionProvider,
    ociProfile,
  });

  const model = new CatalogModel("model", {
    compartmentId: config.compartmentId,
    projectId: config.projectId,
    displayName: baseName,
    artifact: {
      bucket: artifact.bucket,
      namespace: artifact.namespace,
      objectName: artifact.ready,
      sha256: artifact.sha256,
      bytes: artifact.bytes,
    },
    metadata: artifact.sha256.apply((sha256) => modelProvenance(config, sha256)),
    freeformTags: tags,
    exportDependsOn: iam.resources,
    region: config.region,
    ociProfile,
  });

  const deployment = new TritonDeployment("triton", {
    compartmentId: config.compartmentId,
    projectId: model.projectId,
    modelId: model.modelId,
    imageRef: image.imageRef,
    imageDigest: image.digest,
    container,
    shape: config.deployment.shape,
    instanceCount: config.deployment.instanceCount,
    bandwidthMbps: config.deployment.bandwidthMbps,
    displayName: baseName,
    expiresAt,
    // A copy-only host must have put the image in OCIR before the deployment pulls it.
    dependsOn: imageCopy === undefined ? iam.resources : [...iam.resources, imageCopy.finished],
    freeformTags: tags,
  });

  const sizing = sizingSummary(config);
  return {
    predictUrl: deployment.predictUrl,
    predictStreamUrl: deployment.predictStreamUrl,
    exampleSignedCall: deployment.predictUrl.apply((url) => signedCallCommand(url, config)),
    modelDeploymentId: deployment.modelDeploymentId,
    expiresAt: deployment.expiresAt,
    imageRef: image.imageRef,
    imageDigest: image.digest,
    image: imageMirrorOutput(config.image.source, imageRepository, mirrorLookup),
    modelId: model.modelId,
    artifactObject: {
      bucket: artifact.bucket,
      object: artifact.objectName,
      sha256: artifact.sha256,
      bytes: artifact.bytes,
    },
    engine: {
      source: engineSource.kind,
      detail: describeEngineSource(engineSource),
      engineKey: keys.engineKey,
      artifactKey: keys.artifactKey,
      ...(buildMode === undefined ? {} : { estimate: estimateBuild(config, buildMode) }),
      ...(engineBuild === undefined
        ? {}
        : {
            buildInstanceId: engineBuild.instanceId,
            buildAvailabilityDomain: engineBuild.availabilityDomain,
            // Measured on the build host, per phase: what the estimate above assumed.
            phaseMinutes: builtManifest(engineBuild).apply((manifest) =>
              measuredPhaseMinutes(manifest.phases),
            ),
          }),
      ...(engineSource.kind === "artifact-hit"
        ? { phaseMinutes: measuredPhaseMinutes(engineSource.manifest.phases) }
        : {}),
    },
    iamStatements: config.iam.create ? undefined : iam.statements,
    sizing,
    estimatedUsdPerHour: sizing.cost.deploymentUsdPerHour,
  };
}

// Pulumi awaits the exported promise and takes its value as the stack outputs.
export = main();

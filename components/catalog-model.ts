import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config/config";
import { ociTaskCommand, shellQuote } from "../operations/oci-tasks";

/** Where the real artifact lives: the export copies it from the bucket into the catalog. */
export interface ArtifactLocation {
  bucket: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  objectName: pulumi.Input<string>;
  region: pulumi.Input<string>;
  sha256: pulumi.Input<string>;
  /** Size of the zip: the catalog must report exactly this after the export. */
  bytes: pulumi.Input<number>;
}

export interface CatalogModelArgs {
  compartmentId: pulumi.Input<string>;
  /** An existing Data Science project; a new one is created when absent. */
  projectId?: pulumi.Input<string>;
  displayName: pulumi.Input<string>;
  artifact: ArtifactLocation;
  /** Local path and byte size of the small zip the model is created with before the export. */
  placeholder: { path: pulumi.Input<string>; bytes: pulumi.Input<number> };
  /** Provenance recorded on the model: model id and revision, engine parameters, image digest... */
  metadata: pulumi.Input<Record<string, pulumi.Input<string>>>;
  freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** What the export needs first: the service policies that let Data Science read the bucket. */
  exportDependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Region and OCI CLI profile of the check that reads the exported artifact back. */
  region: string;
  ociProfile?: string;
}

/**
 * The export is checked, not trusted: the provider's `ModelArtifactExport` treats HTTP 409 (an
 * artifact already there, e.g. the placeholder) as success and never reads back
 * (terraform-provider-oci internal/service/datascience/datascience_model_artifact_export_resource.go),
 * so a refused export would leave the model on its placeholder and fail the deployment's health check
 * 10+ GPU minutes later. A local command HEADs the model artifact (`cli/oci-task.ts
 * verify-model-artifact`, the SDK's `HeadModelArtifact`, as the provider's own `getModel` does) and
 * fails the run, before the deployment, unless it has the zip's size.
 */
export function verifyModelArtifactCommand(args: {
  modelId: string;
  bytes: number;
  region: string;
  profile?: string;
}): string {
  return ociTaskCommand(
    "verify-model-artifact",
    `--model-id ${shellQuote(args.modelId)} --bytes ${args.bytes}`,
    args.region,
    args.profile,
  );
}

/**
 * Provenance of the catalog model: what its artifact was built from. Only what the artifact's digest
 * already fixes is recorded, so this never changes without the model being replaced; the image
 * digest and the deployment shape, which change without a new artifact, are tags on the deployment.
 */
export function modelProvenance(config: StackConfig, artifactSha256: string): Record<string, string> {
  const engine = config.engine;
  return {
    huggingFaceId: config.model.huggingFaceId,
    revision: config.model.revision,
    engine: `dtype=${engine.dtype} quantization=${engine.quantization} tp=${engine.tensorParallel} maxBatchSize=${engine.maxBatchSize} maxInputLen=${engine.maxInputLen} maxOutputLen=${engine.maxOutputLen}`,
    artifactSha256,
  };
}

/** Custom metadata entries: OCI's `Other` category holds free keys; values are capped at 255 chars. */
export function customMetadata(
  metadata: Record<string, string>,
): { key: string; value: string; category: string }[] {
  return Object.keys(metadata)
    .sort()
    .map((key) => ({ key, value: metadata[key].slice(0, 255), category: "Other" }));
}

/** The description carries the artifact digest so a new artifact forces a new model. */
export function modelDescription(sha256: string): string {
  return `Triton TensorRT-LLM model repository, artifact sha256:${sha256}`;
}

/**
 * A Data Science catalog model whose artifact is exported from Object Storage, so a multi-GB
 * artifact never streams through one API request. The model is created with a small placeholder
 * zip, then `ModelArtifactExport` copies the real artifact in.
 */
export class CatalogModel extends pulumi.ComponentResource {
  public readonly projectId: pulumi.Output<string>;
  /** Resolves once the export has finished and the catalog reports the real artifact. */
  public readonly modelId: pulumi.Output<string>;

  constructor(name: string, args: CatalogModelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:catalog:CatalogModel", name, {}, opts);
    const projectId =
      args.projectId ??
      new oci.datascience.Project(
        `${name}-project`,
        { compartmentId: args.compartmentId, displayName: args.displayName, freeformTags: args.freeformTags },
        { parent: this },
      ).id;

    const model = new oci.datascience.Model(
      `${name}-model`,
      {
        compartmentId: args.compartmentId,
        projectId,
        displayName: args.displayName,
        description: pulumi.output(args.artifact.sha256).apply(modelDescription),
        modelArtifact: args.placeholder.path,
        artifactContentLength: pulumi.output(args.placeholder.bytes).apply(String),
        artifactContentDisposition: "attachment; filename=placeholder.zip",
        customMetadataLists: pulumi.output(args.metadata).apply(customMetadata),
        freeformTags: args.freeformTags,
      },
      {
        parent: this,
        // After the export OCI reports the real artifact's size; the placeholder fields must not
        // turn that into a replacement. A new artifact digest (in the description) does replace.
        ignoreChanges: ["modelArtifact", "artifactContentLength", "artifactContentDisposition"],
        replaceOnChanges: ["description"],
      },
    );

    const exported = new oci.datascience.ModelArtifactExport(
      `${name}-export`,
      {
        artifactSourceType: "ORACLE_OBJECT_STORAGE",
        modelId: model.id,
        namespace: args.artifact.namespace,
        sourceBucket: args.artifact.bucket,
        sourceObjectName: args.artifact.objectName,
        sourceRegion: args.artifact.region,
      },
      // Copying a 15 GB object between services takes minutes, not the provider's default.
      { parent: this, dependsOn: args.exportDependsOn, customTimeouts: { create: "60m" } },
    );

    this.projectId = pulumi.output(projectId);
    const verified = new command.local.Command(
      `${name}-verify`,
      {
        create: pulumi
          .all([model.id, args.artifact.bytes])
          .apply(([modelId, bytes]) =>
            verifyModelArtifactCommand({ modelId, bytes, region: args.region, profile: args.ociProfile }),
          ),
      },
      { parent: this, dependsOn: [exported] },
    );
    this.modelId = pulumi.all([model.id, verified.stdout]).apply(([modelId]) => modelId);
    this.registerOutputs({ projectId: this.projectId, modelId: this.modelId });
  }
}

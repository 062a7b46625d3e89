import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { customMetadata, modelDescription } from "./deployment/model-metadata";
import { verifyModelArtifactCommand } from "./deployment/oci-task-commands";

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
 * A Data Science catalog model whose artifact is exported from Object Storage, so a multi-GB
 * artifact never streams through one API request. The model is created with a small placeholder
 * zip, then `ModelArtifactExport` copies the real artifact in. The export is checked, not trusted:
 * a local command reads the artifact's size back before anything depends on the model
 * (`verifyModelArtifactCommand` says why).
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

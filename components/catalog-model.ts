import * as command from "@pulumi/command";
import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { customMetadata, modelDescription } from "./deployment/model-metadata";
import { createCatalogModelCommand, deleteCatalogModelCommand } from "./deployment/oci-task-commands";

/** Where the real artifact lives: the export copies it from the bucket into the catalog. */
export interface ArtifactLocation {
  bucket: pulumi.Input<string>;
  namespace: pulumi.Input<string>;
  objectName: pulumi.Input<string>;
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
  /** Provenance recorded on the model: model id and revision, engine parameters, artifact digest. */
  metadata: pulumi.Input<Record<string, pulumi.Input<string>>>;
  freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** What the export needs first: the service policies that let Data Science read the bucket. */
  exportDependsOn?: pulumi.Input<pulumi.Resource>[];
  /** The stack's region (the bucket's too) and the OCI CLI profile the provider uses. */
  region: string;
  ociProfile?: string;
}

// Creating the model, exporting a 15 GB zip and waiting for a new service policy to take effect
// (operations/up-tasks/catalog-model.ts retries the export for up to 15 minutes) takes minutes, not seconds.
export const CATALOG_MODEL_TIMEOUTS: pulumi.CustomTimeouts = { create: "90m", update: "90m", delete: "20m" };

/**
 * A Data Science catalog model whose artifact is the zip in the bucket, there for certain before
 * anything depends on it.
 *
 * Why not the provider's resources: `oci.datascience.Model` requires `modelArtifact` and uploads it
 * at create (terraform-provider-oci v8.28 internal/service/datascience/datascience_model_resource.go
 * lines 38-49: `artifact_content_length` and `model_artifact` Required and ForceNew; line 383: create
 * calls CreateArtifact, which is CreateModelArtifact, lines 1122-1153), and a catalog artifact is
 * immutable, so `ModelArtifactExport` into that model is refused, which the provider reports as
 * success on any HTTP 409 without waiting (datascience_model_artifact_export_resource.go lines
 * 121-126), while its Read and Delete do nothing (lines 81-87). Oracle's large-model sample and ADS's
 * LargeArtifactUploader create the model with no artifact, then export: so does this one.
 *
 * Why a local command calling our CLI and not a Pulumi dynamic resource: the same path as the
 * artifact upload and the instance termination (one OCI client module, the caller's OCI profile,
 * tests with a stand-in SDK), no provider code serialised into state, and the command's contract is
 * the one this needs: create prints the model's OCID, delete receives it as PULUMI_COMMAND_STDOUT,
 * `replaceOnChanges: ["*"]` makes any change (a new artifact above all) a replacement, and Pulumi
 * replaces create-before-delete: the deployment moves to the new model before the old one is deleted
 * (OCI refuses to delete a model an active deployment serves). Without it a changed input would run
 * the create again as an update (pulumi-command v1.2.1 local/commandController.go lines 79-83) and
 * leave the old model behind.
 */
export class CatalogModel extends pulumi.ComponentResource {
  public readonly projectId: pulumi.Output<string>;
  /** Resolves once the model holds the exported artifact of the expected size. */
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
    this.projectId = pulumi.output(projectId);

    const { artifact } = args;
    const model = new command.local.Command(
      `${name}-model`,
      {
        create: pulumi
          .all([
            args.compartmentId,
            projectId,
            args.displayName,
            artifact.sha256,
            args.metadata,
            args.freeformTags ?? {},
            pulumi.all([artifact.namespace, artifact.bucket, artifact.objectName, artifact.bytes]),
          ])
          .apply(([compartmentId, project, displayName, sha256, metadata, tags, zip]) =>
            createCatalogModelCommand({
              compartmentId,
              projectId: project,
              displayName,
              description: modelDescription(sha256),
              metadata: customMetadata(metadata),
              freeformTags: tags,
              artifact: { namespace: zip[0], bucket: zip[1], object: zip[2], bytes: zip[3] },
              region: args.region,
              profile: args.ociProfile,
            }),
          ),
        delete: deleteCatalogModelCommand(args.region, args.ociProfile),
      },
      {
        parent: this,
        dependsOn: args.exportDependsOn,
        replaceOnChanges: ["*"],
        customTimeouts: CATALOG_MODEL_TIMEOUTS,
      },
    );
    this.modelId = model.stdout.apply((stdout) => stdout.trim());
    this.registerOutputs({ projectId: this.projectId, modelId: this.modelId });
  }
}

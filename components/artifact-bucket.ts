import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";
import { bucketImportId } from "./deployment/storage";

export interface ArtifactBucketArgs {
  /** Compartment that owns the bucket. */
  compartmentId: pulumi.Input<string>;
  /** Object Storage namespace of the tenancy. */
  namespace: string;
  /** Bucket name; the IAM statements scope the export and read grants to it. */
  bucketName: string;
  /**
   * The bucket already exists (an earlier stack's, kept on destroy, or one named by
   * `artifact.bucketName`): adopt it instead of failing with 409 BucketAlreadyExists.
   */
  adopt: boolean;
  freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The private, versioned bucket that holds model artifacts. It outlives the stack: `pulumi destroy`
 * of an evaluation leaves it (and the artifacts in it) in place, so a later stack reuses a 15 GB
 * upload instead of paying for it again. When the bucket is already there it is adopted with the
 * `import` option: Pulumi imports it on the first run that sees it and, once it is in the stack's state
 * under the same id, "treats it like any other resource" (pulumi/pulumi
 * developer-docs/architecture/import.md, `import` resource option, case 2), so the same program serves
 * the first `up`, every later one and a destroy-then-up. An import fails on any difference but the
 * ignored ones: a bucket of that name that is not private and versioned is refused, never changed.
 * Tags of an adopted bucket are left as they are: another stack may share it.
 */
export class ArtifactBucket extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: ArtifactBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("triton-trtllm-oci:storage:ArtifactBucket", name, {}, opts);
    const bucket = new oci.objectstorage.Bucket(
      `${name}-bucket`,
      {
        compartmentId: args.compartmentId,
        namespace: args.namespace,
        name: args.bucketName,
        accessType: "NoPublicAccess",
        versioning: "Enabled",
        freeformTags: args.freeformTags,
      },
      {
        parent: this,
        retainOnDelete: true,
        ...(args.adopt
          ? { import: bucketImportId(args.namespace, args.bucketName), ignoreChanges: ["freeformTags"] }
          : {}),
      },
    );
    this.bucketName = bucket.name;
    this.namespace = bucket.namespace;
    this.registerOutputs({ bucketName: this.bucketName, namespace: this.namespace });
  }
}

import * as oci from "@pulumi/oci";
import * as pulumi from "@pulumi/pulumi";

export interface ArtifactBucketArgs {
  /** Compartment that owns the bucket. */
  compartmentId: pulumi.Input<string>;
  /** Object Storage namespace of the tenancy. */
  namespace: pulumi.Input<string>;
  /** Bucket name; the IAM statements scope the export and read grants to it. */
  bucketName: pulumi.Input<string>;
  freeformTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The private, versioned bucket that holds model artifacts. It outlives the stack: `pulumi destroy`
 * of an evaluation leaves it (and the artifacts in it) in place, so a later stack reuses a 15 GB
 * upload instead of paying for it again.
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
      { parent: this, retainOnDelete: true },
    );
    this.bucketName = bucket.name;
    this.namespace = bucket.namespace;
    this.registerOutputs({ bucketName: this.bucketName, namespace: this.namespace });
  }
}

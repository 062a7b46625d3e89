/** Names in Object Storage: the artifact bucket's import id and the artifact objects. */

/**
 * The provider's import id of a bucket (terraform-provider-oci
 * internal/service/objectstorage/objectstorage_bucket_resource.go, `GetBucketCompositeId`).
 */
export function bucketImportId(namespace: string, bucketName: string): string {
  return `n/${namespace}/b/${bucketName}`;
}

/**
 * Hand-built artifacts are named by the zip's digest (known only after packing); built ones by their
 * artifact key (known at preview). Either way equal content is one object and new content a new one.
 */
export function artifactObjectName(repositoryFolder: string, sha256: string): string {
  return `artifacts/${repositoryFolder}-${sha256}.zip`;
}

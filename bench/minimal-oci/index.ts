// One bucket and nothing else: what any @pulumi/oci program pays to start, register and exit.
import * as oci from "@pulumi/oci";

const bucket = new oci.objectstorage.Bucket("bucket", {
  compartmentId: "ocid1.compartment.oc1..aaaaaaaastandincompartmentstandincompartment",
  namespace: "standinnamespace",
  name: "minimal-oci-bench",
  accessType: "NoPublicAccess",
});

export const bucketName = bucket.name;

// The data sources a run calls, answered from the tenancy as the run finds it: the artifact buckets
// and what the builds left in them, the shared OCIR mirror and the digests it holds, and the source
// registry's digest of a tag. The rest (region subscriptions, availability domains, images,
// services) are the dev stack's fixed answers (test/support/dev-stack.ts).

import { devStackInvokes } from "../support/dev-stack";
import type { InvokeHandler } from "../support/pulumi-host";
import type { Cloud } from "./cloud";
import { OciError } from "./commands";

function texts(cloud: Cloud, bucket: string, prefix: string) {
  return [...cloud.objects.entries()]
    .filter(([key]) => key.startsWith(`${bucket}/${prefix}`))
    .map(([key, held]) => ({
      name: key.slice(bucket.length + 1),
      size: String(typeof held === "number" ? held : held.length),
    }));
}

export function cloudInvokes(cloud: Cloud): Record<string, InvokeHandler> {
  return {
    ...devStackInvokes(),
    "oci:ObjectStorage/getBucketSummaries:getBucketSummaries": (args) => {
      const wanted = ((args["filters"] as { values: string[] }[] | undefined)?.[0]?.values ?? [])[0];
      return {
        id: "buckets",
        compartmentId: args["compartmentId"],
        namespace: args["namespace"],
        bucketSummaries: cloud.buckets.has(wanted)
          ? [{ name: wanted, namespace: args["namespace"], accessType: "NoPublicAccess" }]
          : [],
      };
    },
    "oci:ObjectStorage/getObjects:getObjects": (args) => {
      const bucket = String(args["bucket"]);
      if (!cloud.buckets.has(bucket)) throw new OciError(404, `BucketNotFound: ${bucket}`);
      return { id: "objects", objects: texts(cloud, bucket, String(args["prefix"] ?? "")) };
    },
    "oci:ObjectStorage/getObject:getObject": (args) => {
      const key = `${String(args["bucket"])}/${String(args["object"])}`;
      const held = cloud.objects.get(key);
      if (typeof held !== "string") throw new OciError(404, `ObjectNotFound: ${key}`);
      return { id: key, object: args["object"], content: held, contentLength: String(held.length) };
    },
    "docker:index/getRegistryImage:getRegistryImage": (args) => {
      const digest = cloud.sourceDigest(String(args["name"]));
      return { id: digest, name: args["name"], sha256Digest: digest };
    },
    "oci:Artifacts/getContainerRepositories:getContainerRepositories": (args) => {
      const held = cloud.repositories.get(String(args["displayName"]));
      const items =
        held === undefined
          ? []
          : [
              {
                id: held.id,
                compartmentId: args["compartmentId"],
                displayName: args["displayName"],
                isPublic: false,
                state: "AVAILABLE",
              },
            ];
      return {
        id: "repositories",
        compartmentId: args["compartmentId"],
        containerRepositoryCollections: [{ items, repositoryCount: items.length }],
      };
    },
    "oci:Artifacts/getContainerImages:getContainerImages": (args) => {
      const held = cloud.repositories.get(String(args["repositoryName"]));
      const digest = String(args["imageDigest"]);
      const items = held?.digests.has(digest)
        ? [
            {
              id: cloud.newId("containerimage"),
              digest,
              repositoryName: args["repositoryName"],
              state: "AVAILABLE",
            },
          ]
        : [];
      return {
        id: "images",
        compartmentId: args["compartmentId"],
        containerImageCollections: [{ items, remainingItemsCount: 0 }],
      };
    },
  };
}

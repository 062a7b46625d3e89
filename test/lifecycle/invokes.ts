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
    // The Data Science limit of the A10 family, counted in GPUs: what the live deployments hold
    // (a fixed count, or an autoscaling deployment's initial instances) is used, the rest available.
    "oci:Limits/getResourceAvailability:getResourceAvailability": (args) => {
      if (args["limitName"] !== "ds-gpu-a10-count")
        throw new OciError(404, `no limit ${String(args["limitName"])}`);
      const used = cloud.liveDeployments().reduce((sum, deployment) => {
        const scaling = (deployment.configuration["modelConfigurationDetails"] as Record<string, unknown>)[
          "scalingPolicy"
        ] as { instanceCount?: number; autoScalingPolicies?: { initialInstanceCount: number }[] };
        return sum + (scaling.instanceCount ?? scaling.autoScalingPolicies?.[0]?.initialInstanceCount ?? 0);
      }, 0);
      const limit = cloud.behaviour.dataScienceA10Gpus;
      return {
        id: "availability",
        compartmentId: args["compartmentId"],
        serviceName: args["serviceName"],
        limitName: args["limitName"],
        used: String(used),
        available: String(Math.max(0, limit - used)),
        effectiveQuotaValue: limit,
        fractionalAvailability: Math.max(0, limit - used),
        fractionalUsage: used,
      };
    },
    "oci:Core/getSubnet:getSubnet": (args) => {
      const subnetId = String(args["subnetId"]);
      const held = cloud.subnets.get(subnetId);
      if (held === undefined) throw new OciError(404, `NotAuthorizedOrNotFound: subnet ${subnetId}`);
      return { id: subnetId, subnetId, compartmentId: held.compartmentId, state: held.state };
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

// Canned answers of the data sources the `oci` image mirror reads at preview: the source registry's
// digest for a tag (the Docker provider's registry image data source) and OCIR's repositories and
// images in the compartment (OCI's container repository and image lists). Shapes follow
// @pulumi/oci 4.20's GetContainerRepositoriesResult / GetContainerImagesResult and @pulumi/docker
// 5.2's GetRegistryImageResult; the filters are applied here as OCI applies them.

import { createHash } from "node:crypto";

import type { InvokeHandler } from "./pulumi-host";

/** The digest the source registry gives for any tag the tests use. */
export const SOURCE_DIGEST = `sha256:${createHash("sha256").update("nvcr.io tritonserver 25.04 index").digest("hex")}`;
export const SHARED_REPOSITORY_ID = "ocid1.containerrepo.oc1.iad.0.standinnamespace.aaaaaaaasharedmirror";

/** What OCIR holds in the stack's compartment, and what the source registry answers. */
export interface RegistryContents {
  /** The shared repository exists (another stack, or an earlier run, made it). */
  readonly repository?: { readonly displayName: string; readonly isPublic?: boolean };
  /** Digests present in that repository. */
  readonly digests?: readonly string[];
  /** The source registry's failure, instead of a digest. */
  readonly sourceError?: string;
}

/** The shared mirror of the default image, already holding its digest (another stack copied it). */
export const MIRRORED_IMAGE: RegistryContents = {
  repository: { displayName: "triton-trtllm-oci/tritonserver" },
  digests: [SOURCE_DIGEST],
};

export function imageRegistryInvokes(contents: RegistryContents = {}): Record<string, InvokeHandler> {
  return {
    "docker:index/getRegistryImage:getRegistryImage": (args) => {
      if (contents.sourceError !== undefined) throw new Error(contents.sourceError);
      return { id: SOURCE_DIGEST, name: args["name"], sha256Digest: SOURCE_DIGEST };
    },
    "oci:Artifacts/getContainerRepositories:getContainerRepositories": (args) => {
      const repository = contents.repository;
      const items =
        repository !== undefined && repository.displayName === args["displayName"]
          ? [
              {
                id: SHARED_REPOSITORY_ID,
                compartmentId: args["compartmentId"],
                displayName: repository.displayName,
                isPublic: repository.isPublic ?? false,
                state: "AVAILABLE",
              },
            ]
          : [];
      return {
        id: "repositories",
        compartmentId: args["compartmentId"],
        containerRepositoryCollections: [{ items, repositoryCount: items.length }],
      };
    },
    "oci:Artifacts/getContainerImages:getContainerImages": (args) => {
      const present =
        contents.repository?.displayName === args["repositoryName"] &&
        (contents.digests ?? []).includes(String(args["imageDigest"]));
      return {
        id: "images",
        compartmentId: args["compartmentId"],
        containerImageCollections: [
          {
            items: present
              ? [
                  {
                    id: "ocid1.containerimage.oc1.iad.0.standinnamespace.aaaaaaaaimage",
                    digest: args["imageDigest"],
                    repositoryName: args["repositoryName"],
                    state: "AVAILABLE",
                  },
                ]
              : [],
            remainingItemsCount: 0,
          },
        ],
      };
    },
  };
}

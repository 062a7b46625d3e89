import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../components/config/config";
import {
  describeMirrorLookup,
  type ImageMirrorLookup,
  lookupImageMirror,
} from "../components/registry/image-mirror";
import { fail } from "./validation";

/**
 * The `oci` mirror's preview lookup. The registry is read through a Docker provider that never
 * contacts a daemon (`disable_docker_daemon_check`: kreuzwerker/terraform-provider-docker
 * internal/provider/provider.go:163-167, config.go:193-196), so no Docker is needed here. A digest
 * it does not find is copied by a build host: the build's own when one runs, else a `mirror` one.
 */
export async function lookUpMirror(config: StackConfig, repositoryName: string): Promise<ImageMirrorLookup> {
  const registry = new docker.Provider("image-registry", { disableDockerDaemonCheck: true });
  const input = { compartmentId: config.compartmentId, source: config.image.source, repositoryName };
  const found = await lookupImageMirror(input, registry);
  if (!found.ok) fail(found.errors);
  pulumi.log.info(describeMirrorLookup(found.lookup, repositoryName));
  return found.lookup;
}

/**
 * `image.mirror`: how the serving image reaches OCI Container Registry (OCIR).
 *
 * - `oci`: a registry-to-registry copy by digest inside OCI into one repository shared by every stack
 *   of the compartment and region; the operator's machine needs no Docker daemon.
 * - `local`: the Docker daemon of the machine running `pulumi up` (or `docker.host`) pulls and pushes
 *   into a repository of the stack's own; for a source registry OCI cannot reach.
 *
 * Its own piece of the schema: `schema.ts` only names it under `image`.
 */
import { z } from "zod";

export const IMAGE_MIRRORS = ["oci", "local"] as const;
export type ImageMirror = (typeof IMAGE_MIRRORS)[number];

export const DEFAULT_IMAGE_MIRROR: ImageMirror = "oci";

export const imageMirrorSchema = z.enum(IMAGE_MIRRORS).default(DEFAULT_IMAGE_MIRROR);

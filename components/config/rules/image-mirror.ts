/** Advice on `image.mirror` and the settings that only one of its modes reads. */
import type { Rule } from "../schema";

/** `docker.host` only steers the `local` mirror: set with `oci` it would be silently unused. */
export const unusedDockerHostWarning: Rule = (config) =>
  config.docker.host !== undefined && config.image.mirror !== "local"
    ? [
        {
          key: "docker.host",
          value: config.docker.host,
          message: `is only used with image.mirror local; image.mirror is ${config.image.mirror}, so no Docker daemon is used`,
          fix: "remove it (pulumi config rm --path docker.host), or set image.mirror local to push through that daemon",
        },
      ]
    : [];

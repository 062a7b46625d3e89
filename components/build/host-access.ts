/**
 * What reaches the build instance besides its files: the secrets, on the build command's stdin, and
 * the only grants its instance principal gets.
 */

/**
 * Secrets travel on the remote command's stdin, one per line; never on a command line. `username` is
 * the OCIR login name as `docker login` wants it, `<namespace>/<user>` (`ocirLoginUser`).
 */
export function buildHostStdin(username: string, token: string, hfToken: string | undefined): string {
  return `${username}\n${token}\n${hfToken ?? ""}\n`;
}

/** Statements that let the build instance (and nothing else) write the cache objects. */
export function buildHostPolicyStatements(
  dynamicGroupName: string,
  compartmentId: string,
  bucketName: string,
): string[] {
  const inBucket = `in compartment id ${compartmentId} where ALL {target.bucket.name='${bucketName}'}`;
  return [
    `allow dynamic-group ${dynamicGroupName} to read buckets ${inBucket}`,
    `allow dynamic-group ${dynamicGroupName} to manage objects ${inBucket}`,
  ];
}

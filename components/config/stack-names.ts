/**
 * Names the stack derives from its own name: the prefix of every display name, the artifact bucket
 * unless one is configured, the deployments' dynamic group. The program and `check` (which prints
 * the IAM statements for an administrator) both take them from here.
 */
import { PROJECT, type StackConfig } from "./schema";

export interface StackNames {
  readonly baseName: string;
  readonly bucketName: string;
  readonly dynamicGroupName: string;
}

export function stackNames(stack: string, config: Pick<StackConfig, "artifact">): StackNames {
  const baseName = `${PROJECT}-${stack}`;
  return {
    baseName,
    bucketName: config.artifact.bucketName ?? `${baseName}-artifacts`,
    dynamicGroupName: `${baseName}-deployments`,
  };
}

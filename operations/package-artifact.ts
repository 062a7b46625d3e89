/**
 * Packs a complete model repository folder into the deterministic zip OCI Data Science takes as a
 * model artifact (`cli/package-artifact.ts`, and the build host through its esbuild bundle). Ctrl-C,
 * SIGTERM and SIGHUP remove the partial zip; one left by a run killed outright is removed by the next.
 */
import path from "node:path";
import { PackError, packZip, type PackResult } from "../components/artifact/packer";
import { UserError } from "./errors";

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The zip's top folder is named after `repoDir`; an incomplete repository is a `UserError`. */
export async function packRepositoryFolder(
  repoDir: string,
  outPath: string,
  signals: Pick<NodeJS.Process, "once" | "off"> = process,
): Promise<PackResult> {
  const folder = path.basename(repoDir);
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  for (const signal of STOP_SIGNALS) signals.once(signal, abort);
  try {
    return await packZip([{ dir: repoDir, zipPrefix: folder }], outPath, {
      requireCompleteArtifact: { repositoryFolder: folder },
      signal: controller.signal,
    });
  } catch (error) {
    if (error instanceof PackError) throw new UserError(error.message);
    throw error;
  } finally {
    for (const signal of STOP_SIGNALS) signals.off(signal, abort);
  }
}

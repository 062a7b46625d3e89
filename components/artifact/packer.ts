/**
 * Deterministic, streaming zip of a model artifact: the Triton model repository, the TensorRT-LLM
 * engine (tens of GB) and the tokenizer files, combined from several directories without copying.
 * `walk.ts` chooses the entries and their order, `zip-writer.ts` writes them reproducibly,
 * `artifact-layout.ts` says what a servable artifact holds.
 *
 * Before it writes, a run removes the partial zips that earlier runs killed without a chance to
 * clean up (SIGKILL, SIGHUP, a reboot) left beside the output, and checks that the output's disk
 * has room for the zip. Every I/O error names the file it happened on.
 */
import { randomBytes } from "node:crypto";
import { readdir, realpath, rename, statfs, unlink } from "node:fs/promises";
import path from "node:path";
import { checkArtifactLayout } from "./artifact-layout";
import { ensureFastCrc32 } from "./crc32";
import { PackError, throwIfAborted } from "./pack-error";
import { isInside, type PackSource, planEntries, statOrUndefined } from "./walk";
import { formatBytes, type PackResult, writeZip, type ZipWriteOptions, zipSizeBound } from "./zip-writer";

// The packer's whole API from one module: the CLI (and so the build host's bundle), the pack cache
// and the model artifact import it from here.
export { checkArtifactLayout, isTokenizerFile } from "./artifact-layout";
export { ensureFastCrc32 } from "./crc32";
export { PackError, type PackErrorCode } from "./pack-error";
export type { PackSource } from "./walk";
export { type PackProgress, type PackResult, ZIP_ENTRY_TIME, zipSizeBound } from "./zip-writer";

export interface PackOptions extends ZipWriteOptions {
  /** Refuse, before writing anything, unless the zip holds a complete model repository under this folder. */
  requireCompleteArtifact?: { repositoryFolder: string };
}

async function checkOutput(outPath: string, sources: PackSource[]): Promise<string> {
  const absOut = path.resolve(outPath);
  const outDir = path.dirname(absOut);
  const dirStats = await statOrUndefined(outDir);
  if (dirStats === undefined || !dirStats.isDirectory()) {
    throw new PackError("BAD_OUTPUT", `output folder ${outDir} does not exist; create it first`);
  }
  if ((await statOrUndefined(absOut))?.isDirectory()) {
    throw new PackError("BAD_OUTPUT", `output path ${absOut} is a directory; name the zip file to write`);
  }
  const realOut = path.join(await realpath(outDir), path.basename(absOut));
  for (const source of sources) {
    const realDir = await realpath(source.dir).catch(() => undefined);
    if (realDir !== undefined && isInside(realOut, realDir)) {
      throw new PackError(
        "BAD_OUTPUT",
        `output ${absOut} lies inside source dir ${source.dir}, so a later run would pack the zip into itself; write it elsewhere`,
      );
    }
  }
  return absOut;
}

function temporaryPathBeside(absOut: string): string {
  return path.join(
    path.dirname(absOut),
    `.${path.basename(absOut)}.${process.pid}.${randomBytes(6).toString("hex")}.partial`,
  );
}

/** Why a zip of up to `neededBytes` cannot be written into `outDir`, or undefined when it fits. */
export function spaceShortfall(outDir: string, neededBytes: number, freeBytes: number): string | undefined {
  if (freeBytes >= neededBytes) return undefined;
  return `not enough free space in ${outDir}: the zip needs up to ${formatBytes(neededBytes)}, the disk has ${formatBytes(freeBytes)} free; free ${formatBytes(neededBytes - freeBytes)} or write the zip to another disk`;
}

// temporaryPathBeside's names: hidden, the output's name, the writer's pid, 12 random hex digits.
const PARTIAL_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.partial$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the partial zips in `dir` whose writer is gone: a run killed by SIGKILL or SIGHUP, or cut
 * by a reboot, never removed its own. Partials of runs still going are left alone; one that another
 * run removes first is no error.
 */
async function removeStalePartials(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const match = PARTIAL_NAME.exec(name);
    if (match === null || isRunning(Number(match[1]))) continue;
    await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

/**
 * Packs the sources into one zip at `outPath`, streaming (memory does not grow with file sizes) and
 * hashing as it writes. Everything that can be refused is refused before the output is touched; the
 * zip is written to a hidden temporary file beside `outPath` and renamed into place only when
 * complete, so a failed or aborted run leaves nothing at `outPath` (and an earlier zip there intact).
 */
export async function packZip(
  sources: PackSource[],
  outPath: string,
  options: PackOptions = {},
): Promise<PackResult> {
  throwIfAborted(options.signal);
  const absOut = await checkOutput(outPath, sources);
  const entries = await planEntries(sources, options.signal);
  if (options.requireCompleteArtifact !== undefined) {
    const problems = checkArtifactLayout(
      entries.map((e) => e.zipPath),
      options.requireCompleteArtifact.repositoryFolder,
    );
    if (problems.length > 0) {
      throw new PackError(
        "INCOMPLETE_ARTIFACT",
        `not a complete model artifact (${problems.length} problem(s)):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      );
    }
  }
  throwIfAborted(options.signal);
  const outDir = path.dirname(absOut);
  await removeStalePartials(outDir);
  const { bavail, bsize } = await statfs(outDir);
  const shortfall = spaceShortfall(outDir, zipSizeBound(entries), bavail * bsize);
  if (shortfall !== undefined) throw new PackError("NO_SPACE", shortfall);
  ensureFastCrc32();
  const tmpPath = temporaryPathBeside(absOut);
  try {
    const result = await writeZip(entries, tmpPath, absOut, options);
    await rename(tmpPath, absOut).catch((err: NodeJS.ErrnoException) => {
      throw new PackError(
        "WRITE_FAILED",
        `moving the finished zip ${tmpPath} to ${absOut} failed (${err.code ?? err.message}); check that ${absOut} is not a folder and ${outDir} is writable`,
      );
    });
    return result;
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
}

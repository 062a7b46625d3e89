/**
 * Which files enter the zip, and under which zip paths: the sources' directory trees (the rendered
 * model repository, the engine dir, the tokenizer snapshot) walked, filtered and merged into one
 * list in the order the zip is written. Reads directory listings and file metadata, never contents.
 *
 * The list is sorted by the bytes of each UTF-8 zip path, whatever the directory listing order, and
 * holds a directory entry for every folder that holds an entry, plus every empty folder (Triton
 * needs `ensemble/1/` even though it is empty), so `PackResult.entries` counts files and folders
 * alike and equals the length of the zip's central directory.
 *
 * Symlinks are followed and stored as the content of their target, never as links: the artifact is
 * unpacked by OCI, where a link could point anywhere. A link must resolve to a regular file under its
 * source's `symlinkRoot`: the source dir by default, or, for a Hugging Face cache snapshot
 * (`<cache>/models--<owner>--<name>/snapshots/<rev>`, whose files link to `../../blobs/`), that
 * model's cache folder. Links to directories are refused because they can loop or duplicate a tree.
 */
import { constants, type Stats } from "node:fs";
import { access, lstat, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { PackError, throwIfAborted } from "./pack-error";
import { checkRelativePath, normalizeZipFolder } from "./zip-paths";

export interface PackSource {
  /** Directory whose files go into the zip. */
  dir: string;
  /** Zip folder the files land under: posix, relative, no `.` or `..`; "" for the zip root. */
  zipPrefix: string;
  /**
   * Chooses what to pack, by path relative to `dir` (posix). Called for every file, and for every
   * empty directory with a trailing "/". A folder is written when something under it is chosen.
   * Default: everything.
   */
  include?: (relativePosixPath: string) => boolean;
  /**
   * Symlinks under `dir` may resolve anywhere below this directory. Default: `dir` itself, or the
   * model's cache folder (the one holding `snapshots/` and `blobs/`) when `dir` is a Hugging Face
   * cache snapshot.
   */
  symlinkRoot?: string;
}

export interface FileEntry {
  kind: "file";
  zipPath: string;
  /** What to read: the file, or the target of a followed symlink. */
  readPath: string;
  /** How the user knows it, for messages. */
  displayPath: string;
  size: number;
  mtimeMs: number;
}

export interface DirEntry {
  kind: "dir";
  /** Ends with "/". */
  zipPath: string;
}

export type PlannedEntry = FileEntry | DirEntry;

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await stat(p);
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === "ENOENT" ||
      (err as NodeJS.ErrnoException).code === "ENOTDIR"
    ) {
      return undefined;
    }
    throw err;
  }
}

interface ResolvedSource {
  source: PackSource;
  realDir: string;
  realSymlinkRoot: string;
  /** How messages name the folder links may point into. */
  symlinkRootLabel: string;
  prefix: string;
}

/**
 * The model's cache folder when `realDir` is a snapshot of the Hugging Face cache layout
 * (`huggingface-cli download` without `--local-dir`): `<cache>/snapshots/<rev>` beside `<cache>/blobs`.
 */
async function huggingFaceCacheRoot(realDir: string): Promise<string | undefined> {
  const snapshots = path.dirname(realDir);
  if (path.basename(snapshots) !== "snapshots") return undefined;
  const cacheRoot = path.dirname(snapshots);
  return (await statOrUndefined(path.join(cacheRoot, "blobs")))?.isDirectory() ? cacheRoot : undefined;
}

async function resolveSource(source: PackSource): Promise<ResolvedSource> {
  const prefix = normalizeZipFolder(source.zipPrefix, "zipPrefix");
  const dirStats = await statOrUndefined(source.dir);
  if (dirStats === undefined || !dirStats.isDirectory()) {
    throw new PackError(
      "SOURCE_MISSING",
      `source dir ${source.dir} ${dirStats === undefined ? "does not exist" : "is not a directory"}; check the path (zip folder '${prefix}')`,
    );
  }
  const realDir = await realpath(source.dir);
  let realSymlinkRoot = realDir;
  let symlinkRootLabel = `the folder ${source.dir}`;
  const cacheRoot = await huggingFaceCacheRoot(realDir);
  if (source.symlinkRoot === undefined && cacheRoot !== undefined) {
    realSymlinkRoot = cacheRoot;
    symlinkRootLabel = `the Hugging Face cache folder ${cacheRoot} of this snapshot`;
  }
  if (source.symlinkRoot !== undefined) {
    symlinkRootLabel = `the folder ${source.symlinkRoot}`;
    const rootStats = await statOrUndefined(source.symlinkRoot);
    if (rootStats === undefined || !rootStats.isDirectory()) {
      throw new PackError(
        "SOURCE_MISSING",
        `symlinkRoot ${source.symlinkRoot} of source ${source.dir} is not an existing directory; check the path`,
      );
    }
    realSymlinkRoot = await realpath(source.symlinkRoot);
  }
  return { source, realDir, realSymlinkRoot, symlinkRootLabel, prefix };
}

/** Files and empty directories chosen from one source, with paths relative to it. */
async function walkSource(
  resolved: ResolvedSource,
  signal: AbortSignal | undefined,
): Promise<{ files: Omit<FileEntry, "zipPath">[]; relFiles: string[]; emptyDirs: string[] }> {
  const { source, realSymlinkRoot, symlinkRootLabel } = resolved;
  const include = source.include ?? (() => true);
  const files: Omit<FileEntry, "zipPath">[] = [];
  const relFiles: string[] = [];
  const emptyDirs: string[] = [];

  const walk = async (absDir: string, relDir: string): Promise<void> => {
    throwIfAborted(signal);
    const names = await readdir(absDir);
    if (names.length === 0 && relDir !== "" && include(`${relDir}/`)) {
      checkRelativePath(relDir, absDir);
      emptyDirs.push(relDir);
    }
    for (const name of names) {
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      const abs = path.join(absDir, name);
      const info = await lstat(abs);
      if (info.isDirectory()) {
        await walk(abs, rel);
        continue;
      }
      if (!include(rel)) continue;
      checkRelativePath(rel, abs);
      let readPath = abs;
      let target = info;
      if (info.isSymbolicLink()) {
        const resolvedPath = await realpath(abs).catch((err: NodeJS.ErrnoException) => {
          throw new PackError(
            "UNSUPPORTED_FILE",
            `symlink ${abs} cannot be resolved (${err.code ?? err.message}); fix or remove the link`,
          );
        });
        if (!isInside(resolvedPath, realSymlinkRoot)) {
          throw new PackError(
            "SYMLINK_OUTSIDE",
            `symlink ${abs} points to ${resolvedPath}, outside ${symlinkRootLabel}, and is not packed; replace the link with the file itself (cp --remove-destination '${resolvedPath}' '${abs}')`,
          );
        }
        readPath = resolvedPath;
        target = await stat(resolvedPath);
        if (target.isDirectory()) {
          throw new PackError(
            "UNSUPPORTED_FILE",
            `symlink ${abs} points to a directory (${resolvedPath}); links to directories are not followed, because they can loop or duplicate a tree: copy the directory in, or make it a source of its own`,
          );
        }
      }
      if (!target.isFile()) {
        throw new PackError(
          "UNSUPPORTED_FILE",
          `${abs} is not a regular file, directory or symlink to a file; remove it or exclude it with the source's include filter`,
        );
      }
      await access(readPath, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
        throw new PackError(
          "UNREADABLE_FILE",
          `${abs}${readPath === abs ? "" : ` (link to ${readPath})`} cannot be read (${err.code ?? err.message}); make it readable by this user, or leave it out of the folder`,
        );
      });
      files.push({ kind: "file", readPath, displayPath: abs, size: target.size, mtimeMs: target.mtimeMs });
      relFiles.push(rel);
    }
  };

  await walk(resolved.realDir, "");
  return { files, relFiles, emptyDirs };
}

function byZipPathBytes(a: PlannedEntry, b: PlannedEntry): number {
  return Buffer.compare(Buffer.from(a.zipPath), Buffer.from(b.zipPath));
}

/** The entries a pack would write, sorted as written. Reads directory listings only. */
export async function planEntries(
  sources: PackSource[],
  signal: AbortSignal | undefined,
): Promise<PlannedEntry[]> {
  if (sources.length === 0) {
    throw new PackError("NO_SOURCES", "nothing to pack: give at least one source directory");
  }
  const files = new Map<string, FileEntry>();
  const dirs = new Set<string>();
  const addDirWithAncestors = (zipDir: string): void => {
    const segments = zipDir.split("/");
    for (let i = 1; i <= segments.length; i++) dirs.add(`${segments.slice(0, i).join("/")}/`);
  };
  for (const source of sources) {
    const resolved = await resolveSource(source);
    const walked = await walkSource(resolved, signal);
    if (walked.files.length === 0) {
      throw new PackError(
        "EMPTY_SOURCE",
        `source dir ${source.dir} (zip folder '${resolved.prefix}') has no files${source.include ? " that its include filter accepts" : ""}; check the path, or drop the source`,
      );
    }
    const toZip = (rel: string): string => (resolved.prefix === "" ? rel : `${resolved.prefix}/${rel}`);
    if (resolved.prefix !== "") addDirWithAncestors(resolved.prefix);
    for (const rel of walked.emptyDirs) addDirWithAncestors(toZip(rel));
    walked.files.forEach((file, i) => {
      const zipPath = toZip(walked.relFiles[i]);
      const earlier = files.get(zipPath);
      if (earlier !== undefined) {
        throw new PackError(
          "DUPLICATE_PATH",
          `zip path ${zipPath} comes from both ${earlier.displayPath} and ${file.displayPath}; exclude one with an include filter or give the sources different zip folders`,
        );
      }
      files.set(zipPath, { ...file, zipPath });
      const parent = path.posix.dirname(zipPath);
      if (parent !== ".") addDirWithAncestors(parent);
    });
  }
  for (const [zipPath, file] of files) {
    if (dirs.has(`${zipPath}/`)) {
      throw new PackError(
        "DUPLICATE_PATH",
        `zip path ${zipPath} is both a file (${file.displayPath}) and a folder of another source; give the sources different zip folders`,
      );
    }
    if (Buffer.byteLength(zipPath) > 0xffff) {
      throw new PackError("BAD_ZIP_PATH", `zip path of ${file.displayPath} exceeds 65535 bytes; shorten it`);
    }
  }
  const entries: PlannedEntry[] = [
    ...files.values(),
    ...[...dirs].map((zipPath): DirEntry => ({ kind: "dir", zipPath })),
  ];
  return entries.sort(byZipPathBytes);
}

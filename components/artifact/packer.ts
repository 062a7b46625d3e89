/**
 * Deterministic, streaming zip of a model artifact: the Triton model repository, the TensorRT-LLM
 * engine (tens of GB) and the tokenizer files, combined from several directories without copying.
 *
 * Built on archiver (zip-stream). What makes the bytes reproducible:
 * - entries are written in byte order of their UTF-8 zip path, whatever the directory listing order;
 * - every entry carries the same time, ZIP_ENTRY_TIME (1980-01-01 00:00:00, the DOS epoch, the
 *   earliest a zip can hold), and no extended-time fields, so mtimes never reach the archive;
 * - files are 0644 and directories 0755, whatever the disk says. The executable bit is dropped on
 *   purpose: nothing in the artifact is executed by path (Triton loads engines through its backend
 *   and runs model.py through its Python stub), and a bit that differs between checkouts must not
 *   change the artifact's hash;
 * - a directory entry is written for every folder that holds an entry, plus every empty folder
 *   (Triton needs `ensemble/1/` even though it is empty), so `PackResult.entries` counts files and
 *   folders alike and equals the length of the zip's central directory;
 * - DEFLATE output comes from Node's bundled zlib: the same inputs give the same bytes under the
 *   same Node release; another release may compress text files differently.
 *
 * ZIP64 is zip-stream's: an entry over 4 GiB gets ZIP64 sizes in its data descriptor and central
 * directory record, and an archive whose central directory starts past 4 GiB gets ZIP64 end
 * records (`forceZip64` writes those for any size). Info-ZIP unzip and Python's zipfile accept both
 * (test/packer.test.ts forces them; bench/artifact.ts packs and checks a 5 GiB engine).
 *
 * Symlinks are followed and stored as the content of their target, never as links: the artifact is
 * unpacked by OCI, where a link could point anywhere. A link must resolve to a regular file under its
 * source's `symlinkRoot`: the source dir by default, or, for a Hugging Face cache snapshot
 * (`<cache>/models--<owner>--<name>/snapshots/<rev>`, whose files link to `../../blobs/`), that
 * model's cache folder. Links to directories are refused because they can loop or duplicate a tree.
 *
 * Before it writes, a run removes the partial zips that earlier runs killed without a chance to
 * clean up (SIGKILL, SIGHUP, a reboot) left beside the output, and checks that the output's disk
 * has room for the zip. Every I/O error names the file it happened on.
 */
import { randomBytes } from "node:crypto";
import { close, constants, createReadStream, open, read, type Stats, writev } from "node:fs";
import { access, lstat, readdir, realpath, rename, stat, statfs, unlink } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { ZipArchive } from "archiver";

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

export interface PackProgress {
  zipPath: string;
  entriesWritten: number;
  entriesTotal: number;
  /** Bytes of zip output so far. */
  bytesWritten: number;
}

export interface PackOptions {
  /** Refuse, before writing anything, unless the zip holds a complete model repository under this folder. */
  requireCompleteArtifact?: { repositoryFolder: string };
  /** Write ZIP64 end-of-archive records even for a small zip (entries over 4 GiB get ZIP64 fields anyway). */
  forceZip64?: boolean;
  /** Aborting stops the run, removes the partial output and rejects with PackError "ABORTED". */
  signal?: AbortSignal;
  /** Called after each entry is written; throwing from it fails the run like any other error. */
  onEntryWritten?: (progress: PackProgress) => void;
}

export interface PackResult {
  /** Hex SHA-256 of the zip file. */
  sha256: string;
  /** Size of the zip file. */
  bytes: number;
  /** Entries in the zip's central directory, files and directories alike. */
  entries: number;
}

export type PackErrorCode =
  | "NO_SOURCES"
  | "SOURCE_MISSING"
  | "EMPTY_SOURCE"
  | "BAD_ZIP_PATH"
  | "DUPLICATE_PATH"
  | "SYMLINK_OUTSIDE"
  | "UNSUPPORTED_FILE"
  | "BAD_OUTPUT"
  | "INCOMPLETE_ARTIFACT"
  | "FILE_CHANGED"
  | "UNREADABLE_FILE"
  | "NO_SPACE"
  | "WRITE_FAILED"
  | "ABORTED";

/** An expected refusal: the message says what is wrong and how to fix it. */
export class PackError extends Error {
  readonly code: PackErrorCode;

  constructor(code: PackErrorCode, message: string) {
    super(message);
    this.name = "PackError";
    this.code = code;
  }
}

export const ZIP_ENTRY_TIME = new Date(Date.UTC(1980, 0, 1));
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** Formats that are already compressed or are dense binary; deflating them costs time and saves nothing. */
const STORED_EXTENSIONS = new Set([
  ".engine",
  ".plan",
  ".safetensors",
  ".bin",
  ".pt",
  ".pth",
  ".ckpt",
  ".onnx",
  ".h5",
  ".msgpack",
  ".gguf",
  ".npy",
  ".npz",
  ".so",
  ".gz",
  ".bz2",
  ".xz",
  ".zst",
  ".zip",
  ".tgz",
]);
/** Above this an unknown file is most likely weights or another binary: store it rather than deflate GBs. */
const DEFLATE_MAX_BYTES = 64 * 1024 * 1024;
/** Read size: 1 MiB was the fastest of 256 KiB to 4 MiB on a 3 GiB engine (larger reads cost more page faults). */
const READ_CHUNK_BYTES = 1024 * 1024;

function isStored(zipPath: string, size: number): boolean {
  return (
    size === 0 || size > DEFLATE_MAX_BYTES || STORED_EXTENSIONS.has(path.posix.extname(zipPath).toLowerCase())
  );
}

const TOKENIZER_FILES = new Set([
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "vocab.txt",
  "added_tokens.json",
  "generation_config.json",
  // AutoTokenizer reads the model config to pick the tokenizer class.
  "config.json",
]);

/**
 * Whether a file of a Hugging Face model snapshot belongs in the artifact's tokenizer folder. Takes
 * the path relative to the snapshot root; only top-level files qualify, because AutoTokenizer reads
 * the root, and subfolders of a snapshot hold other variants (onnx/, original/...). Weights, indexes
 * and READMEs never qualify. Usable as `PackSource.include` as is.
 */
export function isTokenizerFile(name: string): boolean {
  return !name.includes("/") && TOKENIZER_FILES.has(name);
}

const TRITON_MODELS = ["ensemble", "preprocessing", "postprocessing", "tensorrt_llm"] as const;
const PYTHON_MODELS = ["preprocessing", "postprocessing"] as const;

/**
 * Problems that keep a zip from being a servable artifact, one sentence each (what is missing, how to
 * fix it); empty when complete. `entryPaths` are zip paths, directories ending in "/";
 * `repositoryFolder` is the zip folder of the Triton model repository ("" for the zip root).
 */
export function checkArtifactLayout(entryPaths: string[], repositoryFolder: string): string[] {
  const folder = normalizeZipFolder(repositoryFolder, "repositoryFolder");
  const at = (rel: string): string => (folder === "" ? rel : `${folder}/${rel}`);
  const entries = new Set(entryPaths);
  const problems: string[] = [];
  for (const model of TRITON_MODELS) {
    if (!entries.has(at(`${model}/config.pbtxt`))) {
      problems.push(
        `missing ${at(`${model}/config.pbtxt`)}: Triton cannot load model '${model}' without it; render the model repository into the packed folder`,
      );
    }
  }
  for (const model of PYTHON_MODELS) {
    if (!entries.has(at(`${model}/1/model.py`))) {
      problems.push(
        `missing ${at(`${model}/1/model.py`)}: the Python backend runs version 1 of '${model}' from it; render the model repository into the packed folder`,
      );
    }
  }
  const ensembleVersion = at("ensemble/1/");
  if (!entryPaths.some((p) => p.startsWith(ensembleVersion))) {
    problems.push(
      `missing folder ${ensembleVersion}: Triton needs a version folder for the ensemble even though it is empty; create it (mkdir) in the packed folder`,
    );
  }
  const engineDir = at("tensorrt_llm/1/");
  const engineFiles = entryPaths
    .filter((p) => p.startsWith(engineDir))
    .map((p) => p.slice(engineDir.length))
    .filter((name) => name !== "" && !name.includes("/"));
  if (!engineFiles.some((name) => name.endsWith(".engine"))) {
    problems.push(
      `missing engine in ${engineDir}: it must hold the rank<N>.engine files written by trtllm-build; copy the build's output dir there`,
    );
  }
  if (!engineFiles.includes("config.json")) {
    problems.push(
      `missing ${engineDir}config.json: the TensorRT-LLM backend reads the engine's build config from it; copy it from the trtllm-build output dir beside the engine`,
    );
  }
  const tokenizerDir = at("tokenizer/");
  if (!entries.has(`${tokenizerDir}tokenizer.json`) && !entries.has(`${tokenizerDir}tokenizer.model`)) {
    problems.push(
      `missing tokenizer in ${tokenizerDir}: pre/postprocessing load tokenizer.json or tokenizer.model from it; pack the model snapshot's tokenizer files there (include: isTokenizerFile)`,
    );
  }
  return problems;
}

/** A zip folder in canonical form: segments joined by "/", no leading slash, one trailing slash dropped. */
function normalizeZipFolder(folder: string, what: string): string {
  const trimmed = folder.endsWith("/") ? folder.slice(0, -1) : folder;
  if (trimmed === "") return "";
  for (const segment of trimmed.split("/")) checkZipSegment(segment, `${what} '${folder}'`);
  return trimmed;
}

function checkZipSegment(segment: string, where: string): void {
  const problem =
    segment === ""
      ? "has an empty segment (leading or doubled '/')"
      : segment === "." || segment === ".."
        ? `has a '${segment}' segment, which would escape or alias the folder when unpacked`
        : /[\\:]/.test(segment)
          ? "contains '\\' or ':', which Windows-style unzippers read as path separators or drive letters"
          : // eslint-disable-next-line no-control-regex
            /[\u0000-\u001f\u007f\ufffd]/.test(segment)
            ? "contains a control character or bytes that are not UTF-8"
            : undefined;
  if (problem !== undefined) {
    throw new PackError("BAD_ZIP_PATH", `${where} ${problem}; use a relative posix path of plain names`);
  }
}

function checkRelativePath(rel: string, abs: string): void {
  for (const segment of rel.split("/")) checkZipSegment(segment, `${abs}: name '${segment}'`);
}

interface FileEntry {
  kind: "file";
  zipPath: string;
  /** What to read: the file, or the target of a followed symlink. */
  readPath: string;
  /** How the user knows it, for messages. */
  displayPath: string;
  size: number;
  mtimeMs: number;
}

interface DirEntry {
  kind: "dir";
  /** Ends with "/". */
  zipPath: string;
}

type PlannedEntry = FileEntry | DirEntry;

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PackError("ABORTED", "packing was aborted; nothing was written");
}

async function statOrUndefined(p: string): Promise<Stats | undefined> {
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
async function planEntries(sources: PackSource[], signal: AbortSignal | undefined): Promise<PlannedEntry[]> {
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

let fastCrc32: boolean | undefined;

/**
 * zip-stream checksums every byte with the pure-JavaScript `crc-32` package (about 1 GB/s here), the
 * main CPU cost of packing a multi-GB engine. Node's zlib.crc32 (native, about 5 GB/s here) computes
 * the same function, so this swaps it into the copies of `crc-32` that archiver's zip engine loads,
 * found along archiver's own dependency chain. The swap happens only if the native function agrees
 * with every copy on probe data; otherwise, or when the chain or zlib.crc32 is missing, the
 * JavaScript path stays (slower, same bytes). Returns whether the native path is in use. Idempotent.
 */
export function ensureFastCrc32(): boolean {
  if (fastCrc32 !== undefined) return fastCrc32;
  fastCrc32 = false;
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (typeof native !== "function") return fastCrc32;
  type Crc32Module = { buf: (data: Uint8Array, seed?: unknown) => number };
  const modules = new Set<Crc32Module>();
  try {
    const resolveFrom = (from: string, id: string): string => createRequire(from).resolve(id);
    const zipStream = resolveFrom(resolveFrom(__filename, "archiver"), "zip-stream");
    const compressCommons = resolveFrom(zipStream, "compress-commons");
    const crc32Stream = resolveFrom(compressCommons, "crc32-stream");
    for (const from of [compressCommons, crc32Stream]) {
      const mod = createRequire(from)("crc-32") as Crc32Module;
      if (typeof mod.buf === "function") modules.add(mod);
    }
  } catch {
    return fastCrc32;
  }
  // crc-32 takes the running CRC as a signed int32 (zip-stream's first seed is a zeroed Buffer,
  // which coerces to 0) and returns a signed int32; zlib.crc32 works unsigned.
  const swapped = (data: Uint8Array, seed?: unknown): number => native(data, Number(seed ?? 0) >>> 0) | 0;
  const probe = randomBytes(4099);
  const agrees = (mod: Crc32Module): boolean =>
    [undefined, 0, -1, 0x1234567, Buffer.alloc(4)].every((seed) =>
      [probe, probe.subarray(1, 7)].every((data) => swapped(data, seed) === mod.buf(data, seed)),
    );
  if (modules.size === 0 || ![...modules].every(agrees)) return fastCrc32;
  for (const mod of modules) mod.buf = swapped;
  fastCrc32 = true;
  return fastCrc32;
}

function temporaryPathBeside(absOut: string): string {
  return path.join(
    path.dirname(absOut),
    `.${path.basename(absOut)}.${process.pid}.${randomBytes(6).toString("hex")}.partial`,
  );
}

/**
 * Read buffers for stored entries, reused once the output writer has written them. Allocating a
 * fresh 1 MiB buffer per read cost page faults and garbage collection that showed up as a large
 * share of the packer's time on multi-GB engines (bench/artifact.ts). Reuse is safe because every
 * stage between reader and writer (archiver, zip-stream's CRC pass-through) forwards the same chunk
 * object without keeping it, and the writer hands a buffer back only once it is written and hashed.
 * Deflated entries never reach the writer as read, so they read into fresh buffers instead. The
 * buffers live in shared memory so the hashing thread reads them without a copy.
 */
class ChunkPool {
  private readonly free: Buffer[] = [];
  private readonly lent = new Set<ArrayBufferLike>();

  constructor(
    private readonly chunkBytes: number,
    private readonly maxFree: number,
  ) {}

  take(): Buffer {
    const chunk = this.free.pop() ?? Buffer.from(new SharedArrayBuffer(this.chunkBytes));
    this.lent.add(chunk.buffer);
    return chunk;
  }

  /** Accepts any chunk; only buffers this pool lent (or views of them) are kept for reuse. */
  release(chunk: Buffer): void {
    if (!this.lent.delete(chunk.buffer)) return;
    if (this.free.length < this.maxFree) this.free.push(Buffer.from(chunk.buffer, 0, this.chunkBytes));
  }
}

/** A file as a stream of chunks read into pooled buffers. */
/** Closes a stream's descriptor, if it opened one, reporting the stream's own error first. */
function closeAfterError(
  fd: number | undefined,
  err: Error | null,
  callback: (err?: Error | null) => void,
): void {
  if (fd === undefined) callback(err);
  else close(fd, (closeErr) => callback(err ?? closeErr));
}

class PooledFileReader extends Readable {
  bytesRead = 0;
  private fd: number | undefined;

  constructor(
    private readonly file: string,
    private readonly pool: ChunkPool,
  ) {
    super({ highWaterMark: 1 });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    open(this.file, "r", (err, fd) => {
      this.fd = fd;
      callback(err);
    });
  }

  override _read(): void {
    const chunk = this.pool.take();
    read(this.fd as number, chunk, 0, chunk.length, this.bytesRead, (err, n) => {
      if (err !== null || n === 0 || this.destroyed) this.pool.release(chunk);
      if (this.destroyed) return;
      if (err !== null) {
        this.destroy(err);
        return;
      }
      this.bytesRead += n;
      this.push(n === 0 ? null : n === chunk.length ? chunk : chunk.subarray(0, n));
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    closeAfterError(this.fd, err, callback);
    this.fd = undefined;
  }
}

const HASHER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const hash = require("node:crypto").createHash("sha256");
parentPort.on("message", ({ id, chunks }) => {
  if (chunks === undefined) {
    parentPort.postMessage({ id, digest: hash.digest("hex") });
    return;
  }
  for (const chunk of chunks) hash.update(chunk);
  parentPort.postMessage({ id });
});
`;

/**
 * SHA-256 on a worker thread. Hashing was the largest cost left on the main thread, which also
 * checksums and drives the streams; on its own thread it overlaps with them. Chunks on shared memory
 * (the pooled read buffers) are hashed in place, the rest (headers, deflated text) are copied.
 */
class WorkerSha256 {
  private readonly worker = new Worker(HASHER_SOURCE, { eval: true });
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (digest: string) => void; reject: (err: Error) => void }
  >();
  private failure: Error | undefined;

  constructor() {
    this.worker.on("message", ({ id, digest }: { id: number; digest?: string }) => {
      this.waiting.get(id)?.resolve(digest ?? "");
      this.waiting.delete(id);
    });
    this.worker.on("error", (err: Error) => this.fail(err));
    this.worker.on("exit", (code) => this.fail(new Error(`the hashing thread exited with code ${code}`)));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }

  private request(chunks: Uint8Array[] | undefined): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, chunks });
    });
  }

  /** Resolves once the worker has hashed the chunks (in call order), so they may be reused. */
  async update(chunks: Buffer[]): Promise<void> {
    await this.request(chunks.map((c) => (c.buffer instanceof SharedArrayBuffer ? c : new Uint8Array(c))));
  }

  digest(): Promise<string> {
    return this.request(undefined);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}

/** Writes the zip to a new file, hashing and counting the bytes on the way, and returns read buffers to the pool. */
class HashingFileWriter extends Writable {
  bytes = 0;
  readonly hash = new WorkerSha256();
  private fd: number | undefined;

  constructor(
    private readonly file: string,
    private readonly pool: ChunkPool,
  ) {
    super({ highWaterMark: READ_CHUNK_BYTES });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    open(this.file, "wx", 0o644, (err, fd) => {
      this.fd = fd;
      callback(err);
    });
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    const position = this.bytes;
    this.bytes += buffers.reduce((sum, b) => sum + b.length, 0);
    const written = new Promise<void>((resolve, reject) =>
      writeFully(this.fd as number, buffers, position, (err) => (err === null ? resolve() : reject(err))),
    );
    Promise.all([this.hash.update(buffers), written]).then(() => {
      for (const buffer of buffers) this.pool.release(buffer);
      callback();
    }, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    close(this.fd as number, callback);
    this.fd = undefined;
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    closeAfterError(this.fd, err, callback);
    this.fd = undefined;
  }
}

/** writev until every byte is down: a regular file may take fewer bytes than asked (near a full disk). */
function writeFully(
  fd: number,
  buffers: Buffer[],
  position: number,
  callback: (err: NodeJS.ErrnoException | null) => void,
): void {
  writev(fd, buffers, position, (err, written) => {
    if (err !== null) {
      callback(err);
      return;
    }
    const rest: Buffer[] = [];
    let skip = written;
    for (const buffer of buffers) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    if (rest.length === 0) callback(null);
    else writeFully(fd, rest, position + written, callback);
  });
}

type ZipArchiveInstance = InstanceType<typeof ZipArchive>;

/** Appends one entry and waits until archiver has written it, so only one source file is open at a time. */
function appendEntry(
  archive: ZipArchiveInstance,
  source: Readable | Buffer,
  data: { name: string; date: Date; mode: number; store?: boolean; type?: "directory" },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEntry = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`the zip stream closed before ${data.name} was written`));
    };
    const cleanup = (): void => {
      archive.off("entry", onEntry);
      archive.off("error", onError);
      archive.off("close", onClose);
      if (source instanceof Readable) source.off("error", onError);
    };
    archive.once("entry", onEntry);
    archive.once("error", onError);
    archive.once("close", onClose);
    // archiver pipes the source into a stream of its own, and pipe() does not forward errors.
    if (source instanceof Readable) source.once("error", onError);
    archive.append(source, data);
  });
}

async function writeZip(
  entries: PlannedEntry[],
  tmpPath: string,
  absOut: string,
  options: PackOptions,
): Promise<PackResult> {
  const internal = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, internal.signal]) : internal.signal;
  const archive = new ZipArchive({ forceZip64: options.forceZip64 === true, zlib: { level: 9 } });
  const pool = new ChunkPool(READ_CHUNK_BYTES, 16);
  const writer = new HashingFileWriter(tmpPath, pool);
  const written = pipeline(archive, writer, { signal });
  let reading: (Readable & { bytesRead: number }) | undefined;

  const feed = async (): Promise<void> => {
    let entriesWritten = 0;
    for (const entry of entries) {
      throwIfAborted(options.signal);
      if (entry.kind === "dir") {
        await appendEntry(archive, Buffer.alloc(0), {
          name: entry.zipPath,
          type: "directory",
          date: ZIP_ENTRY_TIME,
          mode: DIR_MODE,
        });
      } else {
        const store = isStored(entry.zipPath, entry.size);
        reading = store
          ? new PooledFileReader(entry.readPath, pool)
          : createReadStream(entry.readPath, { highWaterMark: READ_CHUNK_BYTES });
        await appendEntry(archive, reading, {
          name: entry.zipPath,
          date: ZIP_ENTRY_TIME,
          mode: FILE_MODE,
          store,
        }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") {
            throw new PackError(
              "FILE_CHANGED",
              `${entry.displayPath} disappeared while the zip was being written; let whatever removes it finish, then pack again`,
            );
          }
          // The writing side's failures reach this entry too, when the pipeline tears the archive down.
          const fromReader = (err.syscall === "open" || err.syscall === "read") && err.path !== tmpPath;
          if (!fromReader || reading === undefined) throw err;
          throw new PackError(
            "UNREADABLE_FILE",
            `${entry.displayPath} could not be read after ${reading.bytesRead} of ${entry.size} bytes (${err.code ?? err.message}); check the disk it is on, then pack again`,
          );
        });
        const after = await stat(entry.readPath);
        if (
          reading.bytesRead !== entry.size ||
          after.size !== entry.size ||
          after.mtimeMs !== entry.mtimeMs
        ) {
          throw new PackError(
            "FILE_CHANGED",
            `${entry.displayPath} changed while it was being packed (${entry.size} bytes when listed, ${reading.bytesRead} read, ${after.size} now); let whatever writes it finish, then pack again`,
          );
        }
        reading = undefined;
      }
      entriesWritten++;
      options.onEntryWritten?.({
        zipPath: entry.zipPath,
        entriesWritten,
        entriesTotal: entries.length,
        bytesWritten: writer.bytes,
      });
    }
    await archive.finalize();
  };

  try {
    const [fed, piped] = await Promise.allSettled([
      feed().catch((err: unknown) => {
        internal.abort(err);
        throw err;
      }),
      written,
    ]);
    reading?.destroy();
    if (options.signal?.aborted) {
      throw new PackError("ABORTED", "packing was aborted; the partial zip was removed");
    }
    if (fed.status === "rejected" && fed.reason instanceof PackError) throw fed.reason;
    if (piped.status === "rejected") throw writeFailure(piped.reason, tmpPath, absOut, writer.bytes);
    if (fed.status === "rejected") throw fed.reason;
    return { sha256: await writer.hash.digest(), bytes: writer.bytes, entries: entries.length };
  } finally {
    await writer.hash.close();
  }
}

function writeFailure(reason: unknown, tmpPath: string, absOut: string, bytesWritten: number): unknown {
  const err = reason as NodeJS.ErrnoException;
  if (!(reason instanceof Error) || err.syscall === undefined) return reason;
  const fix =
    err.code === "ENOSPC" || err.code === "EDQUOT"
      ? `the disk holding ${path.dirname(absOut)} is full: free space, or write the zip to another disk`
      : `check that ${path.dirname(absOut)} is writable and its disk healthy, then pack again`;
  return new PackError(
    "WRITE_FAILED",
    `writing ${absOut} failed after ${formatBytes(bytesWritten)} (${err.code ?? err.message}, temporary file ${tmpPath}, removed); ${fix}`,
  );
}

function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** zlib's deflateBound for the default window and memory level: the most DEFLATE can grow data. */
function deflateBound(bytes: number): number {
  return bytes + Math.floor(bytes / 4096) + Math.floor(bytes / 16384) + Math.floor(bytes / 33554432) + 13;
}

/**
 * The most bytes the zip of these entries can take: the data (stored as is, or deflated at worst
 * slightly larger), and per entry a local header, a data descriptor and a central directory record,
 * each with its name and ZIP64 fields, plus the end records.
 */
export function zipSizeBound(
  entries: readonly { kind: "file" | "dir"; zipPath: string; size?: number }[],
): number {
  let bytes = 22 + 56 + 20;
  for (const entry of entries) {
    bytes += 2 * Buffer.byteLength(entry.zipPath) + 256;
    if (entry.kind === "file") {
      const size = entry.size ?? 0;
      bytes += isStored(entry.zipPath, size) ? size : deflateBound(size);
    }
  }
  return bytes;
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

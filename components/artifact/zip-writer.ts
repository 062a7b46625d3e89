/**
 * Writes the planned entries as a deterministic zip, streaming: memory does not grow with file
 * sizes, and the output is hashed as it is written.
 *
 * Built on archiver (zip-stream). What makes the bytes reproducible, besides the order of the
 * entries (`planEntries`):
 * - every entry carries the same time, ZIP_ENTRY_TIME (1980-01-01 00:00:00, the DOS epoch, the
 *   earliest a zip can hold), and no extended-time fields, so mtimes never reach the archive;
 * - files are 0644 and directories 0755, whatever the disk says. The executable bit is dropped on
 *   purpose: nothing in the artifact is executed by path (Triton loads engines through its backend
 *   and runs model.py through its Python stub), and a bit that differs between checkouts must not
 *   change the artifact's hash;
 * - DEFLATE output comes from Node's bundled zlib: the same inputs give the same bytes under the
 *   same Node release; another release may compress text files differently.
 *
 * ZIP64 is zip-stream's: an entry over 4 GiB gets ZIP64 sizes in its data descriptor and central
 * directory record, and an archive whose central directory starts past 4 GiB gets ZIP64 end
 * records (`forceZip64` writes those for any size). Info-ZIP unzip and Python's zipfile accept both
 * (test/zip-writer.test.ts forces them; bench/artifact.ts packs and checks a 5 GiB engine).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ZipArchive } from "archiver";
import { PackError, throwIfAborted } from "./pack-error";
import type { PlannedEntry } from "./walk";
import { ChunkPool, HashingFileWriter, PooledFileReader, READ_CHUNK_BYTES } from "./zip-streams";

export interface PackProgress {
  zipPath: string;
  entriesWritten: number;
  entriesTotal: number;
  /** Bytes of zip output so far. */
  bytesWritten: number;
}

export interface ZipWriteOptions {
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

function isStored(zipPath: string, size: number): boolean {
  return (
    size === 0 || size > DEFLATE_MAX_BYTES || STORED_EXTENSIONS.has(path.posix.extname(zipPath).toLowerCase())
  );
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

export async function writeZip(
  entries: PlannedEntry[],
  tmpPath: string,
  absOut: string,
  options: ZipWriteOptions,
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

export function formatBytes(bytes: number): string {
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

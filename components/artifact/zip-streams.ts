/**
 * The byte plumbing under the zip writer: pooled read buffers, a file reader that fills them, and
 * the output file writer that hashes on a worker thread and hands the buffers back.
 */
import { close, open, read, writev } from "node:fs";
import { Readable, Writable } from "node:stream";
import { Worker } from "node:worker_threads";

/** Read size: 1 MiB was the fastest of 256 KiB to 4 MiB on a 3 GiB engine (larger reads cost more page faults). */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Read buffers for stored entries, reused once the output writer has written them. Allocating a
 * fresh 1 MiB buffer per read cost page faults and garbage collection that showed up as a large
 * share of the packer's time on multi-GB engines (bench/artifact.ts). Reuse is safe because every
 * stage between reader and writer (archiver, zip-stream's CRC pass-through) forwards the same chunk
 * object without keeping it, and the writer hands a buffer back only once it is written and hashed.
 * Deflated entries never reach the writer as read, so they read into fresh buffers instead. The
 * buffers live in shared memory so the hashing thread reads them without a copy.
 */
export class ChunkPool {
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

/** Closes a stream's descriptor, if it opened one, reporting the stream's own error first. */
function closeAfterError(
  fd: number | undefined,
  err: Error | null,
  callback: (err?: Error | null) => void,
): void {
  if (fd === undefined) callback(err);
  else close(fd, (closeErr) => callback(err ?? closeErr));
}

/** A file as a stream of chunks read into pooled buffers. */
export class PooledFileReader extends Readable {
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
export class HashingFileWriter extends Writable {
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

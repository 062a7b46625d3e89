/** The zip's CRC-32 on Node's native zlib, in place of archiver's JavaScript one. */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import zlib from "node:zlib";

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

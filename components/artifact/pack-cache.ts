/**
 * Local cache of packed artifacts. Packing a 15 GB engine takes minutes, and both `pulumi preview`
 * and `pulumi up` need the zip's sha256 to name the object, so the result is kept under a
 * fingerprint of everything that goes into the zip: each file's path, size, modification time and
 * inode, and the rendered repository's bytes. Any changed file changes the fingerprint, so a stale
 * zip is never reused; an unchanged tree is never packed twice.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, posix } from "node:path";
import type { PackResult, PackSource } from "./packer";

// The packer (and archiver under it) is required only when the cache misses: a preview that finds
// its zip here does not load them. require(), not import(): see program/engine-build.ts.
const onDemand = createRequire(__filename);

/** A packed artifact on local disk. */
export interface PackedArtifact extends PackResult {
  readonly zipPath: string;
}

// Bumped whenever the packer's output bytes change for the same input, so old cache entries are not
// mistaken for what the current packer would write.
const PACK_FORMAT = 1;

function listFiles(dir: string, relative = ""): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
    const path = relative ? posix.join(relative, entry.name) : entry.name;
    if (entry.isDirectory()) files.push(path + "/", ...listFiles(dir, path));
    else files.push(path);
  }
  return files;
}

/** Fingerprint of the sources as they are on disk now (metadata only: no file is read). */
export function fingerprintSources(sources: readonly PackSource[]): string {
  const hash = createHash("sha256").update(`pack-format ${PACK_FORMAT}\n`);
  for (const source of sources) {
    hash.update(`source ${source.zipPrefix}\n`);
    for (const path of listFiles(source.dir).sort()) {
      if (!path.endsWith("/") && source.include && !source.include(path)) continue;
      const stat = statSync(join(source.dir, path), { bigint: true });
      hash.update(`${path}\0${stat.size}\0${stat.mtimeNs}\0${stat.ino}\n`);
    }
  }
  return hash.digest("hex");
}

interface CacheEntry extends PackResult {
  readonly zipBytes: number;
}

/**
 * The packed artifact for these sources: from the cache when the fingerprint matches and the zip is
 * still there with its recorded size, packed into the cache otherwise.
 */
export async function packCached(
  sources: readonly PackSource[],
  cacheDir: string,
  repositoryFolder: string,
): Promise<PackedArtifact> {
  mkdirSync(cacheDir, { recursive: true });
  const fingerprint = fingerprintSources(sources);
  const zipPath = join(cacheDir, `${fingerprint}.zip`);
  const indexPath = join(cacheDir, `${fingerprint}.json`);
  if (existsSync(indexPath) && existsSync(zipPath)) {
    const entry = JSON.parse(readFileSync(indexPath, "utf8")) as CacheEntry;
    if (statSync(zipPath).size === entry.zipBytes) {
      // The index's mtime is the entry's last use: eviction keeps what was used recently.
      const now = new Date();
      utimesSync(indexPath, now, now);
      return { zipPath, sha256: entry.sha256, bytes: entry.bytes, entries: entry.entries };
    }
  }
  const { packZip } = onDemand("./packer") as typeof import("./packer");
  const result = await packZip([...sources], zipPath, { requireCompleteArtifact: { repositoryFolder } });
  const entry: CacheEntry = { ...result, zipBytes: statSync(zipPath).size };
  writeFileSync(`${indexPath}.tmp`, JSON.stringify(entry));
  renameSync(`${indexPath}.tmp`, indexPath);
  return { zipPath, ...result };
}

/** Default bound of the pack cache: room for two 7B engines in bf16 beside the one in use. */
export const DEFAULT_CACHE_MAX_BYTES = 40e9;

/**
 * Evicts the least recently used zips until the cache holds at most `maxBytes`; the entry in use is
 * never evicted, even alone over the bound. Torn entries (a zip without its index, from a run that
 * was killed) go first.
 */
export function pruneArtifactCache(cacheDir: string, maxBytes: number, keepZip: string): string[] {
  if (!existsSync(cacheDir)) return [];
  const removed: string[] = [];
  const entries: { zip: string; index: string; bytes: number; usedAt: number }[] = [];
  for (const name of readdirSync(cacheDir)) {
    if (!name.endsWith(".zip")) continue;
    const zip = join(cacheDir, name);
    const index = zip.replace(/\.zip$/, ".json");
    if (!existsSync(index)) {
      if (zip !== keepZip) {
        rmSync(zip, { force: true });
        removed.push(zip);
      }
      continue;
    }
    entries.push({ zip, index, bytes: statSync(zip).size, usedAt: statSync(index).mtimeMs });
  }
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  for (const entry of entries.sort((a, b) => a.usedAt - b.usedAt)) {
    if (total <= maxBytes) break;
    if (entry.zip === keepZip) continue;
    rmSync(entry.index, { force: true });
    rmSync(entry.zip, { force: true });
    removed.push(entry.zip);
    total -= entry.bytes;
  }
  return removed;
}

// What the program's require hook (require-hook.cjs) does to a TypeScript file, apart from hooking it,
// so that it can be tested without hooking the test's own process. See require-hook.cjs for why.
"use strict";
const { createHash } = require("node:crypto");
const { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
const { transform } = require("sucrase");
const { version: sucraseVersion } = require("sucrase/package.json");

const OPTIONS = { transforms: ["imports", "typescript"] };
const KEY_PREFIX = `sucrase ${sucraseVersion} ${JSON.stringify(OPTIONS)}\n`;

function transformed(code, filePath) {
  return transform(code, { ...OPTIONS, filePath }).code;
}

/**
 * The cache folder, created private (0700) if missing; undefined when it cannot be, or when what is
 * there could hold another user's files: the temporary folder is shared, and whatever is read from
 * the cache runs with the user's cloud credentials. Not a symbolic link, owned by this user, written
 * by nobody else; otherwise the program runs uncached.
 */
function privateCacheDir() {
  const uid = process.getuid?.();
  const dir = path.join(tmpdir(), `triton-trtllm-oci-sucrase-${uid ?? "user"}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    const ownedHere = uid === undefined || stat.uid === uid;
    return stat.isDirectory() && ownedHere && (stat.mode & 0o022) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

let cacheDir;

function cachedTransform(code, filePath) {
  if (cacheDir === undefined) cacheDir = privateCacheDir() ?? null;
  if (cacheDir === null) return transformed(code, filePath);
  const key = createHash("sha256").update(KEY_PREFIX).update(code).digest("hex");
  const cached = path.join(cacheDir, `${key}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    // Not cached yet (or unreadable): transform below.
  }
  const output = transformed(code, filePath);
  try {
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, output);
    renameSync(partial, cached);
  } catch {
    // A full temporary folder costs speed only.
  }
  return output;
}

module.exports = { transformed, cachedTransform };

// The program's TypeScript loader (Pulumi.yaml `nodeargs`): Sucrase's transform with the options
// `sucrase/register/ts` uses, through the same hook library (pirates), with two differences that
// make a preview start faster (`npm run bench:launch`):
// - No inline source map. Sucrase keeps every line of the source where it was (its author in
//   alangpierce/sucrase#223: "the lines all correspond to the original"), and the program formats
//   stack traces with V8's own formatter (program/stack-traces.ts), so a map would be computed, about
//   a quarter of the transform's time, and never read.
// - A cache of transformed files under the OS temporary folder, keyed by Sucrase's version, the
//   options and the file's bytes: an unchanged file is read on the next run, not parsed again. A cache
//   that cannot be read or written is skipped; the file is transformed as if there were none.
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
const { addHook } = require("pirates");
const { transform } = require("sucrase");
const { version: sucraseVersion } = require("sucrase/package.json");

const OPTIONS = { transforms: ["imports", "typescript"] };
const CACHE_DIR = path.join(tmpdir(), `triton-trtllm-oci-sucrase-${process.getuid?.() ?? "user"}`);
const KEY_PREFIX = `sucrase ${sucraseVersion} ${JSON.stringify(OPTIONS)}\n`;

function transformed(code, filePath) {
  return transform(code, { ...OPTIONS, filePath }).code;
}

function cachedTransform(code, filePath) {
  const key = createHash("sha256").update(KEY_PREFIX).update(code).digest("hex");
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    // Not cached yet (or unreadable): transform below.
  }
  const output = transformed(code, filePath);
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, output);
    renameSync(partial, cached);
  } catch {
    // A read-only or full temporary folder costs speed only.
  }
  return output;
}

addHook(cachedTransform, { exts: [".ts"] });

module.exports = { transformed, cachedTransform, CACHE_DIR };

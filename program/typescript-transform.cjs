// What the program's require hook (require-hook.cjs) does to a TypeScript file, apart from hooking it,
// so that it can be tested without hooking the test's own process. See require-hook.cjs for why.
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
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

module.exports = { transformed, cachedTransform };

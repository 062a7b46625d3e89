// The program's TypeScript loader (Pulumi.yaml `nodeargs`): Sucrase's transform with the options
// `sucrase/register/ts` uses, through the same hook library (pirates), with two differences that
// make a preview start faster (`npm run bench:launch`):
// - No inline source map. Sucrase keeps every line of the source where it was (its author in
//   alangpierce/sucrase#223: "the lines all correspond to the original"), and the program formats
//   stack traces with V8's own formatter (program/stack-traces.ts), so a map would be computed, about
//   a quarter of the transform's time, and never read.
// - A cache of transformed files in a private folder (0700, this user's) under the OS temporary
//   folder, keyed by Sucrase's version, the options and the file's bytes: an unchanged file is read
//   on the next run, not parsed again. A cache that cannot be made private, read or written is
//   skipped; the file is transformed as if there were none.
"use strict";
const { addHook } = require("pirates");
const { cachedTransform } = require("./typescript-transform.cjs");

addHook(cachedTransform, { exts: [".ts"] });

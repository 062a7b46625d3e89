/**
 * Pulumi records where each resource was created: a full-depth `new Error().stack` per resource
 * (@pulumi/pulumi 3.248.0 resource.js:282, `Resource.callsites` :311-343), formatted by
 * source-map-support, which the language host's entry installs (cmd/run/index.js:30) and which
 * re-maps every frame through its file's source map: about 0.16 s of a dev stack preview
 * (`npm run bench:launch`). Under the program's own require hook that buys nothing: Sucrase keeps
 * every line of the TypeScript source where it was (program/require-hook.cjs; `test/startup.test.ts`
 * checks it on every file of the project), so V8's own trace already names the right file and line.
 * Under any other loader (ts-node's emit moves lines) the formatter stays.
 */
import { createRequire } from "node:module";

const projectRequire = createRequire(__filename);
/** The hook Pulumi.yaml starts the program with, as `require.cache` names it once loaded. */
export const LINE_EXACT_HOOK = projectRequire.resolve("./require-hook.cjs");

/**
 * Lets V8 format stack traces again when the program runs under the line-exact hook; returns
 * whether it did.
 */
export function useV8StackTraces(loaded: NodeJS.Dict<NodeJS.Module> = projectRequire.cache): boolean {
  if (loaded[LINE_EXACT_HOOK] === undefined) return false;
  Reflect.deleteProperty(Error, "prepareStackTrace");
  return true;
}

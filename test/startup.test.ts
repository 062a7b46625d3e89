// What makes a preview start fast without changing what it does: the program's require hook
// (program/require-hook.cjs) keeps every line where the source has it and caches what it transformed,
// and the program lets V8 format stack traces only under that hook (program/stack-traces.ts).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

import { LINE_EXACT_HOOK, useV8StackTraces } from "../program/stack-traces";
import { PROJECT_DIR } from "./support/dev-stack";
import { projectSources } from "./support/import-graph";

const HOOK = path.join(PROJECT_DIR, "program", "require-hook.cjs");
const scratch = mkdtempSync(path.join(tmpdir(), "startup-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs node with the program's require hook on `file`, TMPDIR pointing at `tmp`. */
function runUnderHook(file: string, tmp: string) {
  return spawnSync(process.execPath, ["--require", HOOK, file], {
    encoding: "utf8",
    env: { ...process.env, TMPDIR: tmp, NODE_OPTIONS: "" },
  });
}

describe("the program's require hook", () => {
  const { transformed } = createRequire(__filename)("../program/typescript-transform.cjs") as {
    transformed: (code: string, file: string) => string;
  };

  test("keeps every line of every project file where the source has it", () => {
    const files = projectSources(PROJECT_DIR);
    assert.ok(files.length > 150, `read ${files.length} files`);
    const moved: string[] = [];
    for (const file of files) {
      const source = readFileSync(path.join(PROJECT_DIR, file), "utf8").split("\n");
      const output = transformed(source.join("\n"), file).split("\n");
      if (output.length !== source.length) moved.push(`${file}: ${source.length} → ${output.length} lines`);
      // Every declared function and class name stays on its line.
      source.forEach((line, i) => {
        const name = /^(?:export )?(?:async )?(?:function\*? |class )(\w+)/.exec(line)?.[1];
        if (name !== undefined && !(output[i] ?? "").includes(name)) moved.push(`${file}:${i + 1}: ${name}`);
      });
    }
    assert.deepEqual(moved, []);
  });

  test("a stack trace under the hook names the TypeScript file and line", () => {
    const file = path.join(scratch, "throws.ts");
    writeFileSync(
      file,
      [
        'import { join } from "node:path";',
        "interface Shape {",
        "  readonly name: string;",
        "}",
        "const shape: Shape = { name: join('a', 'b') as string };",
        "if (shape.name.length > 0) throw new Error(`thrown at line 6`);",
        "",
      ].join("\n"),
    );
    const run = runUnderHook(file, mkdtempSync(path.join(scratch, "tmp-")));
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /thrown at line 6/);
    assert.match(run.stderr, new RegExp(`${file.replace(/[.]/g, "\\.")}:6:`));
  });

  test("caches what it transformed, keyed by the file's bytes; an unusable cache is skipped", () => {
    const tmp = mkdtempSync(path.join(scratch, "tmp-"));
    const file = path.join(scratch, "prints.ts");
    writeFileSync(file, 'const word: string = "first";\nconsole.log(word);\n');
    assert.equal(runUnderHook(file, tmp).stdout, "first\n");
    const [cacheDir] = readdirSync(tmp).filter((name) => name.startsWith("triton-trtllm-oci-sucrase-"));
    assert.ok(cacheDir !== undefined, "a cache folder under TMPDIR");
    const entries = readdirSync(path.join(tmp, cacheDir));
    assert.equal(entries.length, 1);
    assert.match(entries[0], /^[0-9a-f]{64}\.js$/);

    // The next run reads the cached output instead of transforming: proven by changing that output.
    writeFileSync(path.join(tmp, cacheDir, entries[0]), 'console.log("from the cache");\n');
    assert.equal(runUnderHook(file, tmp).stdout, "from the cache\n");

    // Changed source, new key: transformed again, cached beside the old entry.
    writeFileSync(file, 'const word: string = "second";\nconsole.log(word);\n');
    assert.equal(runUnderHook(file, tmp).stdout, "second\n");
    assert.equal(readdirSync(path.join(tmp, cacheDir)).length, 2);

    // A TMPDIR that cannot hold the cache (a file) costs speed only.
    const notAFolder = path.join(scratch, "not-a-folder");
    writeFileSync(notAFolder, "");
    const run = runUnderHook(file, notAFolder);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "second\n");
  });
});

test("a cache folder another user could write to, or a link, is never read", () => {
  const file = path.join(scratch, "poison.ts");
  writeFileSync(file, 'const word: string = "genuine";\nconsole.log(word);\n');
  const primed = mkdtempSync(path.join(scratch, "tmp-"));
  assert.equal(runUnderHook(file, primed).stdout, "genuine\n");
  const [cacheName] = readdirSync(primed);
  const [entry] = readdirSync(path.join(primed, cacheName));

  // The same entry name, poisoned, in a folder writable by all.
  const shared = mkdtempSync(path.join(scratch, "tmp-"));
  mkdirSync(path.join(shared, cacheName));
  chmodSync(path.join(shared, cacheName), 0o777);
  writeFileSync(path.join(shared, cacheName, entry), 'console.log("poisoned");\n');
  assert.equal(runUnderHook(file, shared).stdout, "genuine\n");

  // A link in place of the folder, to one holding the poisoned entry.
  const linked = mkdtempSync(path.join(scratch, "tmp-"));
  const elsewhere = mkdtempSync(path.join(scratch, "elsewhere-"));
  writeFileSync(path.join(elsewhere, entry), 'console.log("poisoned");\n');
  symlinkSync(elsewhere, path.join(linked, cacheName));
  assert.equal(runUnderHook(file, linked).stdout, "genuine\n");
});

describe("stack traces of the program", () => {
  test("V8 formats them under the line-exact hook; under any other loader the installed formatter stays", () => {
    const installed = Error.prepareStackTrace;
    const formatter = (error: Error) => `formatted ${error.message}`;
    try {
      Error.prepareStackTrace = formatter;
      assert.equal(useV8StackTraces({}), false);
      assert.equal(Error.prepareStackTrace, formatter);

      const loaded = { [LINE_EXACT_HOOK]: {} as NodeJS.Module };
      assert.equal(useV8StackTraces(loaded), true);
      assert.equal(Error.prepareStackTrace, undefined);
      assert.match(new Error("plain").stack ?? "", /^Error: plain\n {4}at /);
    } finally {
      Error.prepareStackTrace = installed;
    }
  });

  test("the hook it looks for is the one Pulumi.yaml starts the program with", () => {
    const pulumiYaml = readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
    assert.match(pulumiYaml, /nodeargs: --require \.\/program\/require-hook\.cjs\n/);
    assert.equal(LINE_EXACT_HOOK, HOOK);
  });
});

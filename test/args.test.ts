// The command-line helper every CLI shares: how it reads arguments and where relative paths start.

import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";

import { parseCommandLine, UsageError, userPath } from "../cli/args";

const spec = {
  name: "demo",
  synopsis: "--stack <name> <file>",
  help: "demo",
  options: { stack: { type: "string" }, json: { type: "boolean" } },
  positionals: 1,
} as const;

describe("parseCommandLine", () => {
  test("reads options and positionals", () => {
    const parsed = parseCommandLine(spec, ["--stack", "dev", "--json", "a.zip"]);
    assert.equal(parsed?.values.stack, "dev");
    assert.equal(parsed?.values.json, true);
    assert.deepEqual(parsed?.positionals, ["a.zip"]);
  });

  test("--help and -h ask for help, whatever else is given", () => {
    assert.equal(parseCommandLine(spec, ["--help"]), undefined);
    assert.equal(parseCommandLine(spec, ["--stak", "x", "-h"]), undefined);
  });

  test("an unknown option, a missing value and a wrong argument count are usage errors naming them", () => {
    assert.throws(
      () => parseCommandLine(spec, ["--stak", "dev", "a"]),
      (e: unknown) => {
        return e instanceof UsageError && /--stak/.test(e.message);
      },
    );
    assert.throws(
      () => parseCommandLine(spec, ["a", "--stack"]),
      (e: unknown) => {
        return e instanceof UsageError && /--stack/.test(e.message);
      },
    );
    assert.throws(() => parseCommandLine(spec, []), /expected 1 argument\(s\), got 0/);
    assert.throws(() => parseCommandLine({ ...spec, positionals: 0 }, ["x"]), /unexpected argument "x"/);
  });
});

describe("userPath", () => {
  test("a relative path starts in INIT_CWD (where the user ran npm), else the working directory", () => {
    assert.equal(userPath("out/a.zip", { INIT_CWD: "/home/me/work" }), "/home/me/work/out/a.zip");
    assert.equal(userPath("out", {}), path.resolve(process.cwd(), "out"));
    assert.equal(userPath("/abs/x", { INIT_CWD: "/home/me" }), "/abs/x");
  });
});

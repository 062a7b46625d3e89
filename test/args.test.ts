// The command-line helper every CLI shares: how it reads arguments, prints help and mistakes in
// either layout with their exit codes, where relative paths start, and the shared flags.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";

import type { ParseArgsConfig } from "node:util";
import {
  authOptions,
  type CommandMain,
  type CommandSpec,
  commandExitCode,
  EXIT_CODES,
  EXIT_INVALID,
  EXIT_NOT_DEPLOYABLE,
  EXIT_OK,
  EXIT_USAGE,
  exitCodeHelp,
  parseCommandLine,
  positiveInteger,
  positiveNumber,
  stackArgument,
  UsageError,
  userCwd,
  userPath,
} from "../cli/args";
import { UserError } from "../operations/errors";
import { captureIo } from "./support/capture-io";

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

describe("usage mistakes in the project's words", () => {
  // Found in a newcomer run: parseArgs' own text ("Unknown option '--stak'. To specify a positional
  // argument starting with a '-', ...") and no hint of the option meant.
  test("an unknown long option gets the option meant; with none near, the options there are", () => {
    const mistake = (argv: string[]) => {
      try {
        parseCommandLine(spec, argv);
      } catch (error) {
        assert.ok(error instanceof UsageError);
        return error.message;
      }
      assert.fail(`${argv.join(" ")} parsed`);
    };
    assert.equal(mistake(["--stak", "dev", "a"]), "unknown option --stak; did you mean --stack?");
    assert.equal(mistake(["--stak=dev", "a"]), "unknown option --stak; did you mean --stack?");
    assert.equal(mistake(["--jsno", "a"]), "unknown option --jsno; did you mean --json?");
    assert.equal(mistake(["--bogus", "a"]), "unknown option --bogus; the options are --stack, --json");
    assert.equal(mistake(["-s", "a"]), "unknown option -s; the options are --stack, --json");
    assert.equal(mistake(["a", "--stack"]), "--stack needs a value: --stack <value>");
    assert.equal(mistake(["--json=yes", "a"]), "--json takes no value");
  });
});

describe("one exit-code table for every command", () => {
  test("0, 1, 2 and 3, each once, as the constants the commands return", () => {
    assert.deepEqual(
      EXIT_CODES.map((row) => row.code),
      [EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_NOT_DEPLOYABLE],
    );
    assert.deepEqual([EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_NOT_DEPLOYABLE], [0, 1, 2, 3]);
  });

  test("docs/configuration.md shows the same table", () => {
    const docs = readFileSync(path.join(__dirname, "..", "docs", "configuration.md"), "utf8");
    const rows = [...docs.matchAll(/^\| (\d) \| (.+?) \| .+ \|$/gm)].map(([, code, meaning]) => ({
      code: Number(code),
      meaning: meaning.replace(/`/g, ""),
    }));
    assert.deepEqual(rows, EXIT_CODES);
  });

  test("the help's table: one entry a code, lines within 100 columns, every word of each meaning", () => {
    const lines = exitCodeHelp().split("\n");
    assert.equal(lines[0], "exit status (the same for every command of this project):");
    for (const line of lines) assert.ok(line.length <= 100, line);
    const entries = lines
      .slice(1)
      .join("\n")
      .split(/\n(?= {2}\d {2})/);
    assert.equal(entries.length, EXIT_CODES.length);
    EXIT_CODES.forEach(({ code, meaning }, i) => {
      assert.equal(entries[i].replace(/\s+/g, " ").trim(), `${code} ${meaning}`);
    });
  });
});

describe("userPath", () => {
  test("a relative path starts in INIT_CWD (where the user ran npm), else the working directory", () => {
    assert.equal(userPath("out/a.zip", userCwd({ INIT_CWD: "/home/me/work" })), "/home/me/work/out/a.zip");
    assert.equal(userPath("out", userCwd({})), path.resolve(process.cwd(), "out"));
    assert.equal(userPath("/abs/x", "/home/me"), "/abs/x");
  });
});

describe("commandExitCode: help, mistakes and exit codes in both layouts", () => {
  const full = {
    name: "demo",
    synopsis: "--stack <name>",
    help: "  --stack <name>  the stack\n  --help          this text",
    options: { stack: { type: "string" }, help: { type: "boolean", default: false } },
    layout: "full",
  } as const;
  const short = { ...spec, positionals: 0, layout: "short" } as const;
  const run = async <O extends NonNullable<ParseArgsConfig["options"]>>(
    command: CommandSpec<O>,
    argv: string[],
    main: CommandMain<O> = () => EXIT_OK,
  ) => {
    const io = captureIo("/");
    const code = await commandExitCode(command, main, argv, io);
    return { code, out: io.out(), err: io.err() };
  };
  const refuse = (error: Error) => () => {
    throw error;
  };
  const systemError = Object.assign(new Error("EACCES: permission denied, open '/x'"), { syscall: "open" });

  test("short: help after a blank line, `<name>: <message>`, the usage line and a pointer to --help", async () => {
    assert.deepEqual(await run(short, ["--bogus", "-h"]), {
      code: EXIT_OK,
      out: `usage: npm run -s demo -- --stack <name> <file>\n\ndemo\n\n${exitCodeHelp()}\n`,
      err: "",
    });
    const usage = await run(short, ["--stack", "dev"], refuse(new UsageError("--out is required")));
    assert.deepEqual(usage, {
      code: EXIT_USAGE,
      out: "",
      err: "demo: --out is required\nusage: npm run -s demo -- --stack <name> <file> (--help for more)\n",
    });
    assert.equal((await run(short, ["x"])).err.split("\n")[0], 'demo: unexpected argument "x"');
    const invalid = await run(short, [], refuse(new UserError("Pulumi.dev.yaml is not YAML")));
    assert.deepEqual(invalid, { code: EXIT_INVALID, out: "", err: "demo: Pulumi.dev.yaml is not YAML\n" });
    assert.equal((await run(short, [], refuse(systemError))).err, `demo: ${systemError.message}\n`);
    await assert.rejects(run(short, [], refuse(new TypeError("a bug"))), /a bug/, "a bug keeps its stack");
  });

  test("full: help is the usage and the options, a usage mistake prints both, `error: <message>`", async () => {
    const helpText = `usage: npm run -s demo -- --stack <name>\n  --stack <name>  the stack\n  --help          this text\n\n${exitCodeHelp()}`;
    assert.deepEqual(await run(full, ["--help"]), { code: EXIT_OK, out: `${helpText}\n`, err: "" });
    const unknownShort = await run(full, ["-h"]);
    assert.equal(unknownShort.code, EXIT_USAGE, "-h is not an option of a full-layout command");
    const usage = await run(full, ["--stack", "dev"], refuse(new UsageError("pass --stack <name>")));
    assert.deepEqual(usage, { code: EXIT_USAGE, out: "", err: `pass --stack <name>\n${helpText}\n` });
    const invalid = await run(full, [], refuse(new UserError("401 NotAuthenticated")));
    assert.deepEqual(invalid, { code: EXIT_INVALID, out: "", err: "error: 401 NotAuthenticated\n" });
    const bug = await run(full, [], refuse(new TypeError("a bug")));
    assert.equal(bug.code, EXIT_INVALID);
    assert.match(bug.err, /^TypeError: a bug\n\s+at /, "a bug is printed with its stack");
    assert.equal((await run(full, ["extra"])).code, EXIT_USAGE);
    assert.equal(
      (await run({ ...full, positionals: "any" }, ["extra"])).code,
      EXIT_OK,
      "the command checks them",
    );
  });

  test("the command's own exit code is returned", async () => {
    assert.equal((await run(full, [], async () => EXIT_INVALID)).code, EXIT_INVALID);
  });
});

describe("the flags several commands share", () => {
  test("--stack must be a Pulumi stack name; the mistake names the name probably meant", () => {
    assert.equal(stackArgument("eval-a10"), "eval-a10");
    assert.throws(
      () => stackArgument("my stack"),
      (e: unknown) =>
        e instanceof UsageError && /^--stack "my stack" .*did you mean "my-stack"\?$/.test(e.message),
    );
  });

  test("counts: the fallback when unset, a usage mistake naming the flag and an example otherwise", () => {
    assert.equal(positiveInteger(undefined, "--concurrency", 2), 2);
    assert.equal(positiveInteger("4", "--concurrency", 2), 4);
    assert.throws(
      () => positiveInteger("1.5", "--concurrency", 2),
      /--concurrency '1.5' is not a positive integer: pass e.g. --concurrency 2/,
    );
    assert.equal(positiveNumber("0.01", "--poll-seconds", 15), 0.01);
    assert.throws(() => positiveNumber("0", "--poll-seconds", 15), UsageError);
  });

  test("the profile and config file default to the OCI CLI's variables; flags win", () => {
    const env = { OCI_CLI_CONFIG_FILE: "oci/config", OCI_CLI_PROFILE: "EVAL" };
    assert.deepEqual(authOptions({}, "/work/project", env), {
      method: "api_key",
      profile: "EVAL",
      configFile: "/work/project/oci/config",
    });
    assert.deepEqual(
      authOptions({ profile: "P", "config-file": "/etc/oci", auth: "security_token" }, "/work/project", env),
      { method: "security_token", profile: "P", configFile: "/etc/oci" },
    );
    assert.deepEqual(authOptions({}, "/work/project", {}), {
      method: "api_key",
      profile: undefined,
      configFile: undefined,
    });
    assert.throws(
      () => authOptions({ auth: "password" }, "/", {}),
      (e: unknown) =>
        e instanceof UsageError && /^--auth 'password' is not an authentication method/.test(e.message),
    );
  });
});

/**
 * What every command-line tool of this project shares: one way to read arguments (node:util
 * parseArgs), `--help`, the same exit code for the same kind of mistake, no stack trace for a user
 * error, and relative paths taken from the directory the user ran `npm run` in.
 *
 *   0  ok
 *   1  invalid configuration or input: the stack file, a folder or a file the command was given
 *   2  usage: an unknown or missing option, or an argument that names nothing
 *
 * A command, or the operations module it calls, throws `UsageError` or `UserError` (operations/
 * errors.ts) for the two kinds of mistake; a system error (EACCES, ENOSPC...) is the user's to fix
 * too and is printed as its message, exit 1. Anything else is a bug and keeps its stack trace.
 */
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError, UserError } from "../operations/errors";

export { UsageError };

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface CommandSpec<O extends NonNullable<ParseArgsConfig["options"]>> {
  /** `npm run -s <name> -- ...` */
  readonly name: string;
  /** Arguments after `--`, e.g. `--stack <name> [--json]`. */
  readonly synopsis: string;
  /** What `--help` prints under the usage line: what the command does, its options. */
  readonly help: string;
  readonly options: O;
  /** How many positional arguments the command takes (default none). */
  readonly positionals?: number;
}

export function usageLine(spec: { name: string; synopsis: string }): string {
  return `usage: npm run -s ${spec.name} -- ${spec.synopsis}`;
}

/**
 * A path the user typed, made absolute from the directory they ran the command in: npm runs scripts
 * from the project root but records the caller's directory in INIT_CWD.
 */
export function userPath(given: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.INIT_CWD ?? process.cwd(), given);
}

export interface ParsedCommandLine<O extends NonNullable<ParseArgsConfig["options"]>> {
  readonly values: ReturnType<
    typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
  >["values"];
  readonly positionals: string[];
}

/** Parses `argv` for `spec`; `undefined` means `--help` was asked for. Throws UsageError. */
export function parseCommandLine<O extends NonNullable<ParseArgsConfig["options"]>>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): ParsedCommandLine<O> | undefined {
  if (argv.includes("--help") || argv.includes("-h")) return undefined;
  let parsed: ParsedCommandLine<O>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const expected = spec.positionals ?? 0;
  if (parsed.positionals.length !== expected) {
    throw new UsageError(
      expected === 0
        ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
        : `expected ${expected} argument(s), got ${parsed.positionals.length}`,
    );
  }
  return parsed;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string";
}

/** Runs a command and sets the exit code; user errors are printed as one message, never a stack. */
export async function runCommand<O extends NonNullable<ParseArgsConfig["options"]>>(
  spec: CommandSpec<O>,
  main: (args: ParsedCommandLine<O>) => number | Promise<number>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  process.exitCode = await exitCodeOf(spec, main, argv);
}

async function exitCodeOf<O extends NonNullable<ParseArgsConfig["options"]>>(
  spec: CommandSpec<O>,
  main: (args: ParsedCommandLine<O>) => number | Promise<number>,
  argv: readonly string[],
): Promise<number> {
  try {
    const args = parseCommandLine(spec, argv);
    if (args === undefined) {
      console.log(`${usageLine(spec)}\n\n${spec.help}`);
      return EXIT_OK;
    }
    return await main(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${spec.name}: ${error.message}\n${usageLine(spec)} (--help for more)`);
      return EXIT_USAGE;
    }
    if (error instanceof UserError || isSystemError(error)) {
      console.error(`${spec.name}: ${error.message}`);
      return EXIT_INVALID;
    }
    throw error;
  }
}

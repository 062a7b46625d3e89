/**
 * What every command-line tool of this project shares: one way to read arguments (node:util
 * parseArgs), `--help`, one table of exit codes (`EXIT_CODES`, printed at the end of every command's
 * help), no stack trace for a user error, relative paths taken from the directory the user ran
 * `npm run` in, and the flags several commands take (`--stack`, counts, the OCI authentication flags).
 *
 * A command, or the operations module it calls, throws `UsageError` or `UserError` (operations/
 * errors.ts) for the two kinds of mistake; a system error (EACCES, ENOSPC...) is the user's to fix
 * too. Anything else is a bug and keeps its stack trace.
 */
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { stackNameProblem, suggestStackName } from "../components/config/grammars";
import { closest } from "../components/config/spelling";
import { describeError, UsageError, UserError } from "../operations/errors";
import { AUTH_METHODS, type AuthMethod, type AuthOptions } from "../operations/oci-client";
import type { OutputSink } from "../operations/output";

export { UsageError };

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_DEPLOYABLE = 3;

/** The exit status of every command, `check` to `oci-task`: the same code for the same kind of outcome. */
export const EXIT_CODES: readonly { readonly code: number; readonly meaning: string }[] = [
  { code: EXIT_OK, meaning: "done (check: deployable, though warnings may remain)" },
  {
    code: EXIT_INVALID,
    meaning:
      "invalid input or failed work: a stack file, folder or file the command reads is wrong or missing, or what it did failed (an OCI call, an evaluation, a deletion); the message says which",
  },
  {
    code: EXIT_USAGE,
    meaning:
      "usage: an unknown or missing option or argument, a value of the wrong form, or a stack or task name that names none; the usage line follows",
  },
  {
    code: EXIT_NOT_DEPLOYABLE,
    meaning:
      "valid but not deployable yet (check only): pulumi up refuses the stack until the inputs named are supplied (placeholder OCIDs, unset secrets, folders not on this machine)",
  },
];

const HELP_WIDTH = 100;

/** Words of `text` in lines of at most HELP_WIDTH columns, each after `indent`. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line].map((text) => `${indent}${text}`);
}

/** The exit-code table as every command's `--help` ends with it. */
export function exitCodeHelp(): string {
  return [
    "exit status (the same for every command of this project):",
    ...EXIT_CODES.flatMap(({ code, meaning }) => {
      const [first, ...rest] = wrap(meaning, "     ");
      return [`  ${code}  ${first.trimStart()}`, ...rest];
    }),
  ].join("\n");
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * How a command prints its help and its mistakes. Both layouts are kept as they were when the
 * commands were written, since scripts and the CI workflows read these lines:
 * - `short` (check, render, package-artifact): help is the usage line, a blank line and `help`;
 *   a mistake is `<name>: <message>`, a usage mistake adds the usage line and a pointer to --help;
 *   `--help` or `-h` anywhere asks for help.
 * - `full` (invoke, evaluate, reap): help is the usage line followed by `help` (the option list); a
 *   usage mistake is the message and that whole text, any other error `error: <message>`, a bug its
 *   stack; `--help` is an option like the others, so it must be declared in `options`.
 */
export type HelpLayout = "short" | "full";

export interface CommandSpec<O extends Options> {
  /** `npm run -s <name> -- ...` */
  readonly name: string;
  /** Arguments after `--`, e.g. `--stack <name> [--json]`. */
  readonly synopsis: string;
  /** What `--help` prints under the usage line: what the command does, its options. */
  readonly help: string;
  readonly options: O;
  /** How many positional arguments the command takes (default none); `any`: the command checks. */
  readonly positionals?: number | "any";
  /** Default `short`. */
  readonly layout?: HelpLayout;
}

export function usageLine(spec: { name: string; synopsis: string }): string {
  return `usage: npm run -s ${spec.name} -- ${spec.synopsis}`;
}

function helpText(spec: CommandSpec<Options>): string {
  const body = `${spec.help}\n\n${exitCodeHelp()}`;
  return spec.layout === "full" ? `${usageLine(spec)}\n${body}` : `${usageLine(spec)}\n\n${body}`;
}

/** The terminal a command prints to, and the directory the user typed its relative paths in. */
export interface CliIo extends OutputSink {
  readonly cwd: string;
}

/** npm runs scripts from the project root but records the caller's directory in INIT_CWD. */
export function userCwd(env: NodeJS.ProcessEnv = process.env): string {
  return env.INIT_CWD ?? process.cwd();
}

/** A path the user typed, made absolute from the directory they ran the command in. */
export function userPath(given: string, cwd: string = userCwd()): string {
  return path.resolve(cwd, given);
}

export function processIo(): CliIo {
  return {
    write: (text) => process.stdout.write(text),
    error: (line) => process.stderr.write(`${line}\n`),
    cwd: userCwd(),
  };
}

export interface ParsedCommandLine<O extends Options> {
  readonly values: ReturnType<
    typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
  >["values"];
  readonly positionals: string[];
}

/** Parses `argv` for `spec`; `undefined` means help was asked for. Throws UsageError. */
export function parseCommandLine<O extends Options>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): ParsedCommandLine<O> | undefined {
  if (spec.layout !== "full" && (argv.includes("--help") || argv.includes("-h"))) return undefined;
  let parsed: ParsedCommandLine<O>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageErrorOf(error, spec.options);
  }
  if ((parsed.values as { help?: unknown }).help === true) return undefined;
  const expected = spec.positionals ?? 0;
  if (expected !== "any" && parsed.positionals.length !== expected) {
    throw new UsageError(
      expected === 0
        ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
        : `expected ${expected} argument(s), got ${parsed.positionals.length}`,
    );
  }
  return parsed;
}

/** The name in `candidates` nearest to a misspelt `name`, when it is near enough to be a typo. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  return closest(name, candidates);
}

/** `--name` for each long option, `-x` for each short one. */
function flagsOf(options: Options): string[] {
  return Object.entries(options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short === undefined ? [] : [`-${option.short}`]),
  ]);
}

/**
 * parseArgs' complaint in this project's words: an unknown option with the option meant, an option
 * without its value. Anything else parseArgs throws is a bug and keeps its stack.
 */
export function usageErrorOf(error: unknown, options: Options): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const named = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && named !== undefined) {
    const known = flagsOf(options);
    // A one-letter flag is a near miss of every other one: only a long option gets a suggestion.
    const meant = named.startsWith("--")
      ? closest(
          named,
          known.filter((flag) => flag.startsWith("--")),
        )
      : undefined;
    return new UsageError(
      `unknown option ${named}${meant === undefined ? `; the options are ${known.join(", ")}` : `; did you mean ${meant}?`}`,
    );
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && named !== undefined) {
    const option = options[named.replace(/^-+/, "")] as { type?: string } | undefined;
    return new UsageError(
      option?.type === "boolean" ? `${named} takes no value` : `${named} needs a value: ${named} <value>`,
    );
  }
  if (error instanceof TypeError && typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
    return new UsageError(message);
  }
  throw error;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === "string";
}

/** What a command's body gets: its parsed arguments and where to print. */
export type CommandMain<O extends Options> = (
  args: ParsedCommandLine<O>,
  io: CliIo,
) => number | Promise<number>;

/** Runs a command and sets the process's exit code. */
export async function runCommand<O extends Options>(
  spec: CommandSpec<O>,
  main: CommandMain<O>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  process.exitCode = await commandExitCode(spec, main, argv, processIo());
}

/** Runs a command against `io`: prints help or the mistake in the spec's layout, returns the code. */
export async function commandExitCode<O extends Options>(
  spec: CommandSpec<O>,
  main: CommandMain<O>,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  try {
    const args = parseCommandLine(spec, argv);
    if (args === undefined) {
      io.write(`${helpText(spec)}\n`);
      return EXIT_OK;
    }
    return await main(args, io);
  } catch (error) {
    if (spec.layout === "full") {
      if (error instanceof UsageError) {
        io.error(`${error.message}\n${helpText(spec)}`);
        return EXIT_USAGE;
      }
      io.error(error instanceof UserError ? `error: ${error.message}` : describeError(error));
      return EXIT_INVALID;
    }
    if (error instanceof UsageError) {
      io.error(`${spec.name}: ${error.message}\n${usageLine(spec)} (--help for more)`);
      return EXIT_USAGE;
    }
    if (error instanceof UserError || isSystemError(error)) {
      io.error(`${spec.name}: ${error.message}`);
      return EXIT_INVALID;
    }
    throw error;
  }
}

/** A `--stack` value: a Pulumi stack name, else a usage error naming the name probably meant. */
export function stackArgument(stack: string): string {
  const problem = stackNameProblem(stack);
  if (problem === undefined) return stack;
  const meant = suggestStackName(stack);
  throw new UsageError(
    `--stack ${JSON.stringify(stack)} ${problem}${meant === undefined ? "" : `; did you mean ${JSON.stringify(meant)}?`}`,
  );
}

export function positiveInteger(value: string | undefined, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new UsageError(`${key} '${value}' is not a positive integer: pass e.g. ${key} ${fallback}`);
  }
  return parsed;
}

export function positiveNumber(value: string | undefined, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new UsageError(`${key} '${value}' is not a positive number: pass e.g. ${key} ${fallback}`);
  }
  return parsed;
}

function authMethod(value: string): AuthMethod {
  if ((AUTH_METHODS as readonly string[]).includes(value)) return value as AuthMethod;
  throw new UsageError(
    `--auth '${value}' is not an authentication method: use one of ${AUTH_METHODS.join(", ")}`,
  );
}

/**
 * The authentication flags invoke, evaluate and reap share. Unset flags fall back to the OCI CLI's
 * own variables, so a shell set up for `oci` signs the same way.
 */
export function authOptions(
  values: { auth?: string; profile?: string; "config-file"?: string },
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): AuthOptions {
  const configFile = values["config-file"] ?? env.OCI_CLI_CONFIG_FILE;
  return {
    method: authMethod(values.auth ?? "api_key"),
    profile: values.profile ?? env.OCI_CLI_PROFILE,
    configFile: configFile === undefined ? undefined : userPath(configFile, cwd),
  };
}

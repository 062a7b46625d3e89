/**
 * What the operations entry points share: where output goes, how an error reaches the terminal
 * (one line, no stack, for anything the user can fix), and the exit codes every CLI of the project
 * uses: 0 ok, 1 invalid input or a failure, 2 usage.
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { describeError, UsageError, UserError } from "./errors";
import { stackNameProblem, suggestStackName } from "../components/config/grammars";

export interface CliIo {
  /** Text as is (streamed pieces); callers add newlines. */
  write(text: string): void;
  /** One diagnostic line. */
  error(line: string): void;
  /** Where relative paths start: npm's INIT_CWD, so `npm run` from a subfolder still works. */
  readonly cwd: string;
}

export function processIo(): CliIo {
  return {
    write: (text) => process.stdout.write(text),
    error: (line) => process.stderr.write(`${line}\n`),
    cwd: process.env.INIT_CWD ?? process.cwd(),
  };
}

export function resolveFrom(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** `parseArgs` with its errors turned into usage errors. */
export function parseCommandLine<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
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

/** Runs a command body and maps what it throws to a printed line and an exit code. */
export async function runCommand(io: CliIo, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      io.error(`${error.message}\n${usage}`);
      return 2;
    }
    io.error(error instanceof UserError ? `error: ${error.message}` : describeError(error));
    return 1;
  }
}

/**
 * Errors the operations commands print as one line, without a stack trace: a bad argument, an
 * unusable OCI profile, an endpoint that refuses the call. Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Wrong command-line usage: printed with the usage line, exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The one line to print for an error that reached a command's edge. */
export function describeError(error: unknown): string {
  if (error instanceof UserError) return error.message;
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}

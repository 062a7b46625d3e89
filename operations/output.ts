/**
 * Where a long-running operation prints as it goes: the terminal for a user, a buffer in tests.
 * Relative paths are resolved by the CLI before an operation sees them, so this is only a sink.
 */
export interface OutputSink {
  /** Text as is (streamed pieces); callers add newlines. */
  write(text: string): void;
  /** One diagnostic line. */
  error(line: string): void;
}

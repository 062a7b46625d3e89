/** A `CliIo` that keeps what a command printed, for assertions; operations take it as their output sink. */
import type { CliIo } from "../../cli/args";

export interface CapturedIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
}

export function captureIo(cwd: string): CapturedIo {
  let out = "";
  let err = "";
  return {
    cwd,
    write: (text) => {
      out += text;
    },
    error: (line) => {
      err += `${line}\n`;
    },
    out: () => out,
    err: () => err,
  };
}

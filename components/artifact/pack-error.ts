/** The packer's refusals: each names what is wrong and how to fix it. */

export type PackErrorCode =
  | "NO_SOURCES"
  | "SOURCE_MISSING"
  | "EMPTY_SOURCE"
  | "BAD_ZIP_PATH"
  | "DUPLICATE_PATH"
  | "SYMLINK_OUTSIDE"
  | "UNSUPPORTED_FILE"
  | "BAD_OUTPUT"
  | "INCOMPLETE_ARTIFACT"
  | "FILE_CHANGED"
  | "UNREADABLE_FILE"
  | "NO_SPACE"
  | "WRITE_FAILED"
  | "ABORTED";

/** An expected refusal: the message says what is wrong and how to fix it. */
export class PackError extends Error {
  readonly code: PackErrorCode;

  constructor(code: PackErrorCode, message: string) {
    super(message);
    this.name = "PackError";
    this.code = code;
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PackError("ABORTED", "packing was aborted; nothing was written");
}

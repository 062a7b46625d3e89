/** Zip paths the packer accepts: relative posix paths of plain names, the same on every unzipper. */
import { PackError } from "./pack-error";

/** A zip folder in canonical form: segments joined by "/", no leading slash, one trailing slash dropped. */
export function normalizeZipFolder(folder: string, what: string): string {
  const trimmed = folder.endsWith("/") ? folder.slice(0, -1) : folder;
  if (trimmed === "") return "";
  for (const segment of trimmed.split("/")) checkZipSegment(segment, `${what} '${folder}'`);
  return trimmed;
}

function checkZipSegment(segment: string, where: string): void {
  const problem =
    segment === ""
      ? "has an empty segment (leading or doubled '/')"
      : segment === "." || segment === ".."
        ? `has a '${segment}' segment, which would escape or alias the folder when unpacked`
        : /[\\:]/.test(segment)
          ? "contains '\\' or ':', which Windows-style unzippers read as path separators or drive letters"
          : // eslint-disable-next-line no-control-regex
            /[\u0000-\u001f\u007f\ufffd]/.test(segment)
            ? "contains a control character or bytes that are not UTF-8"
            : undefined;
  if (problem !== undefined) {
    throw new PackError("BAD_ZIP_PATH", `${where} ${problem}; use a relative posix path of plain names`);
  }
}

export function checkRelativePath(rel: string, abs: string): void {
  for (const segment of rel.split("/")) checkZipSegment(segment, `${abs}: name '${segment}'`);
}

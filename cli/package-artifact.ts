/**
 * Packs a complete model repository (Triton models + engine + tokenizer) into the deterministic zip
 * OCI Data Science takes as a model artifact:
 *   npm run -s package-artifact -- <modelRepoDir> <out.zip>
 * The zip's top folder is named after <modelRepoDir>. Prints one JSON line {"sha256","bytes","entries"}
 * on stdout; on error prints the message on stderr and exits 1. Ctrl-C removes the partial zip.
 */
import path from "node:path";
import { packZip, PackError } from "../components/packer";

async function main(args: string[]): Promise<number> {
  if (args.length !== 2) {
    console.error("usage: npm run -s package-artifact -- <modelRepoDir> <out.zip>");
    return 1;
  }
  const [repoDir, outPath] = args;
  const folder = path.basename(path.resolve(repoDir));
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once("SIGINT", abort);
  process.once("SIGTERM", abort);
  try {
    const result = await packZip([{ dir: repoDir, zipPrefix: folder }], outPath, {
      requireCompleteArtifact: { repositoryFolder: folder },
      signal: controller.signal,
    });
    console.log(JSON.stringify({ sha256: result.sha256, bytes: result.bytes, entries: result.entries }));
    return 0;
  } catch (err) {
    // Refusals and system errors (EACCES, ENOSPC...) are the user's to fix: the message says it all.
    const expected = err instanceof PackError || (err instanceof Error && "syscall" in err);
    console.error(expected ? `package-artifact: ${(err as Error).message}` : err);
    return 1;
  } finally {
    process.off("SIGINT", abort);
    process.off("SIGTERM", abort);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

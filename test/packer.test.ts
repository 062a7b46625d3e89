import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  checkArtifactLayout,
  ensureFastCrc32,
  isTokenizerFile,
  PackError,
  type PackErrorCode,
  type PackSource,
  packZip,
  spaceShortfall,
  zipSizeBound,
} from "../components/artifact/packer";

const scratch = mkdtempSync(path.join(os.tmpdir(), "packer-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Files by relative path; a path ending in "/" is an (empty) directory. */
type Tree = Record<string, string | Buffer>;

function writeTree(root: string, tree: Tree, order: string[] = Object.keys(tree)): string {
  for (const rel of order) {
    const target = path.join(root, rel);
    if (rel.endsWith("/")) {
      mkdirSync(target, { recursive: true });
    } else {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, tree[rel]);
    }
  }
  return root;
}

const ENGINE = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251));
const REPOSITORY: Tree = {
  "ensemble/config.pbtxt": 'name: "ensemble"\nplatform: "ensemble"\n',
  "ensemble/1/": "",
  "preprocessing/config.pbtxt": 'name: "preprocessing"\nbackend: "python"\n',
  "preprocessing/1/model.py": "class TritonPythonModel:\n    pass\n",
  "postprocessing/config.pbtxt": 'name: "postprocessing"\nbackend: "python"\n',
  "postprocessing/1/model.py": "class TritonPythonModel:\n    pass\n",
  "tensorrt_llm/config.pbtxt": 'name: "tensorrt_llm"\nbackend: "tensorrtllm"\n',
  "tensorrt_llm/1/rank0.engine": ENGINE,
  "tensorrt_llm/1/config.json": '{"build_config": {"max_batch_size": 8}}',
  "tokenizer/tokenizer.json": '{"model": {"type": "BPE"}}'.repeat(50),
  "tokenizer/tokenizer_config.json": '{"eos_token": "<|endoftext|>"}',
};

interface ZipEntryInfo {
  name: string;
  method: number;
  date: number[];
  mode: number;
  size: number;
  sha256: string;
}

/** Reads the zip with Python's zipfile: every entry's metadata and content hash, and testzip's verdict. */
function inspectZip(zipPath: string): { bad: string | null; entries: ZipEntryInfo[] } {
  const script = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps({"bad": z.testzip(), "entries": [{"name": i.filename, "method": i.compress_type,
        "date": list(i.date_time), "mode": i.external_attr >> 16, "size": i.file_size,
        "sha256": hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist()]}))
`;
  return JSON.parse(execFileSync("python3", ["-c", script, zipPath], { encoding: "utf8" })) as {
    bad: string | null;
    entries: ZipEntryInfo[];
  };
}

function unzipTest(zipPath: string): { status: number | null; output: string } {
  const result = spawnSync("unzip", ["-t", zipPath], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function partialFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".partial"));
}

async function assertRefused(
  sources: PackSource[],
  code: PackErrorCode,
  messagePart: RegExp,
  options: Parameters<typeof packZip>[2] = {},
): Promise<void> {
  const outDir = freshDir("out");
  const outPath = path.join(outDir, "artifact.zip");
  await assert.rejects(packZip(sources, outPath, options), (err: unknown) => {
    assert.ok(err instanceof PackError, `expected a PackError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, messagePart);
    return true;
  });
  assert.deepEqual(readdirSync(outDir), [], "a refused run must leave nothing in the output folder");
}

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

describe("packZip refusals", () => {
  test("no sources, a missing source dir, a file given as a source", async () => {
    await assertRefused([], "NO_SOURCES", /at least one source/);
    await assertRefused(
      [{ dir: path.join(scratch, "nope"), zipPrefix: "m" }],
      "SOURCE_MISSING",
      /does not exist/,
    );
    const file = path.join(freshDir("file"), "f.txt");
    writeFileSync(file, "x");
    await assertRefused([{ dir: file, zipPrefix: "m" }], "SOURCE_MISSING", /is not a directory/);
  });

  test("an empty tree, or a filter that leaves nothing", async () => {
    const empty = freshDir("empty");
    mkdirSync(path.join(empty, "sub"));
    await assertRefused([{ dir: empty, zipPrefix: "m" }], "EMPTY_SOURCE", /has no files; check the path/);
    const weightsOnly = writeTree(freshDir("weights"), { "model.safetensors": ENGINE });
    await assertRefused(
      [{ dir: weightsOnly, zipPrefix: "m", include: isTokenizerFile }],
      "EMPTY_SOURCE",
      /no files that its include filter accepts/,
    );
  });

  test("path traversal and non-portable names", async () => {
    const repo = writeTree(freshDir("repo"), { "a.txt": "a" });
    for (const zipPrefix of ["../up", "/abs", "a//b", "a/./b", "a/../../b", "C:/x", "a\\b"]) {
      await assertRefused([{ dir: repo, zipPrefix }], "BAD_ZIP_PATH", /zipPrefix/);
    }
    const odd = writeTree(freshDir("odd"), { "dir\\..\\escape.txt": "x" });
    await assertRefused([{ dir: odd, zipPrefix: "m" }], "BAD_ZIP_PATH", /escape\.txt.*contains '\\'/);
    await assertRefused([{ dir: repo, zipPrefix: "m" }], "BAD_ZIP_PATH", /repositoryFolder/, {
      requireCompleteArtifact: { repositoryFolder: "../m" },
    });
  });

  test("symlinks that leave the source, point to a directory, or are broken; special files", async () => {
    const outside = writeTree(freshDir("outside"), { "secret.txt": "s" });
    const leaking = writeTree(freshDir("leak"), { "a.txt": "a" });
    symlinkSync(path.join(outside, "secret.txt"), path.join(leaking, "link.txt"));
    await assertRefused(
      [{ dir: leaking, zipPrefix: "m" }],
      "SYMLINK_OUTSIDE",
      /link\.txt points to .*secret\.txt/,
    );

    const toDir = writeTree(freshDir("todir"), { "a.txt": "a", "sub/b.txt": "b" });
    symlinkSync("sub", path.join(toDir, "alias"));
    await assertRefused([{ dir: toDir, zipPrefix: "m" }], "UNSUPPORTED_FILE", /points to a directory/);

    const broken = writeTree(freshDir("broken"), { "a.txt": "a" });
    symlinkSync("missing.txt", path.join(broken, "dangling.txt"));
    await assertRefused([{ dir: broken, zipPrefix: "m" }], "UNSUPPORTED_FILE", /cannot be resolved/);

    const special = writeTree(freshDir("fifo"), { "a.txt": "a" });
    execFileSync("mkfifo", [path.join(special, "pipe")]);
    await assertRefused([{ dir: special, zipPrefix: "m" }], "UNSUPPORTED_FILE", /pipe is not a regular file/);
    const outPath = path.join(freshDir("out"), "ok.zip");
    await packZip([{ dir: special, zipPrefix: "m", include: (p) => p !== "pipe" }], outPath);
    assert.deepEqual(
      inspectZip(outPath).entries.map((e) => e.name),
      ["m/", "m/a.txt"],
      "an excluded special file is ignored",
    );
  });

  test("duplicate zip paths across sources, and a file where another source has a folder", async () => {
    const one = writeTree(freshDir("one"), { "config.json": "1" });
    const two = writeTree(freshDir("two"), { "config.json": "2" });
    await assertRefused(
      [
        { dir: one, zipPrefix: "m" },
        { dir: two, zipPrefix: "m/" },
      ],
      "DUPLICATE_PATH",
      /m\/config\.json comes from both/,
    );
    const fileAsFolder = writeTree(freshDir("three"), { tokenizer: "not a folder" });
    await assertRefused(
      [
        { dir: fileAsFolder, zipPrefix: "m" },
        { dir: two, zipPrefix: "m/tokenizer" },
      ],
      "DUPLICATE_PATH",
      /m\/tokenizer is both a file/,
    );
  });

  test("a missing output folder, a directory as output, an output inside a source", async () => {
    const repo = writeTree(freshDir("repo"), { "a.txt": "a" });
    const sources = [{ dir: repo, zipPrefix: "m" }];
    await assert.rejects(
      packZip(sources, path.join(scratch, "no-such-dir", "a.zip")),
      /does not exist; create it/,
    );
    const outDir = freshDir("out");
    await assert.rejects(
      packZip(sources, outDir),
      (err: unknown) => err instanceof PackError && err.code === "BAD_OUTPUT",
    );
    await assert.rejects(packZip(sources, path.join(repo, "self.zip")), /inside source dir/);
    assert.deepEqual(readdirSync(repo), ["a.txt"]);
  });

  test("an incomplete artifact is refused before anything is written", async () => {
    const tree = { ...REPOSITORY };
    delete tree["tensorrt_llm/1/config.json"];
    delete tree["tokenizer/tokenizer.json"];
    const repo = writeTree(freshDir("repo"), tree);
    const options = { requireCompleteArtifact: { repositoryFolder: "model_repository" } };
    await assertRefused(
      [{ dir: repo, zipPrefix: "model_repository" }],
      "INCOMPLETE_ARTIFACT",
      /2 problem\(s\)[\s\S]*tensorrt_llm\/1\/config\.json[\s\S]*model_repository\/tokenizer\//,
      options,
    );
  });

  test("a file changed during the run fails it, removes the partial zip and keeps the earlier one", async () => {
    const repo = writeTree(freshDir("repo"), REPOSITORY);
    const outDir = freshDir("out");
    const outPath = path.join(outDir, "artifact.zip");
    writeFileSync(outPath, "previous artifact");
    await assert.rejects(
      packZip([{ dir: repo, zipPrefix: "m" }], outPath, {
        onEntryWritten: ({ entriesWritten }) => {
          if (entriesWritten === 1) appendFileSync(path.join(repo, "tokenizer/tokenizer.json"), "more");
        },
      }),
      (err: unknown) =>
        err instanceof PackError &&
        err.code === "FILE_CHANGED" &&
        /tokenizer\.json changed/.test(err.message),
    );
    assert.equal(readFileSync(outPath, "utf8"), "previous artifact");
    assert.deepEqual(partialFiles(outDir), []);
  });

  test("a file removed during the run fails it the same way", async () => {
    const repo = writeTree(freshDir("repo"), REPOSITORY);
    const outDir = freshDir("out");
    await assert.rejects(
      packZip([{ dir: repo, zipPrefix: "m" }], path.join(outDir, "a.zip"), {
        onEntryWritten: ({ entriesWritten }) => {
          if (entriesWritten === 1) rmSync(path.join(repo, "tensorrt_llm/1/rank0.engine"));
        },
      }),
      (err: unknown) =>
        err instanceof PackError &&
        err.code === "FILE_CHANGED" &&
        /rank0\.engine disappeared/.test(err.message),
    );
    assert.deepEqual(readdirSync(outDir), []);
  });

  test("aborting stops the run and leaves no output", async () => {
    const repo = writeTree(freshDir("repo"), REPOSITORY);
    const outDir = freshDir("out");
    const controller = new AbortController();
    await assert.rejects(
      packZip([{ dir: repo, zipPrefix: "m" }], path.join(outDir, "a.zip"), {
        signal: controller.signal,
        onEntryWritten: ({ entriesWritten }) => {
          if (entriesWritten === 3) controller.abort();
        },
      }),
      (err: unknown) => err instanceof PackError && err.code === "ABORTED",
    );
    assert.deepEqual(readdirSync(outDir), []);
    await assertRefused([{ dir: repo, zipPrefix: "m" }], "ABORTED", /aborted/, {
      signal: AbortSignal.abort(),
    });
  });
});

describe("isTokenizerFile", () => {
  test("accepts the tokenizer files of a snapshot's root", () => {
    for (const name of [
      "tokenizer.json",
      "tokenizer_config.json",
      "special_tokens_map.json",
      "tokenizer.model",
      "vocab.json",
      "merges.txt",
      "vocab.txt",
      "added_tokens.json",
      "generation_config.json",
      "config.json",
    ]) {
      assert.equal(isTokenizerFile(name), true, name);
    }
  });

  test("rejects weights, indexes, docs and anything in a subfolder", () => {
    for (const name of [
      "model.safetensors",
      "model-00001-of-00002.safetensors",
      "model.safetensors.index.json",
      "pytorch_model.bin",
      "pytorch_model.bin.index.json",
      "tf_model.h5",
      "flax_model.msgpack",
      "model.pt",
      "falcon.gguf",
      "README.md",
      ".gitattributes",
      "tokenizer.json.bak",
      "onnx/tokenizer.json",
      "original/tokenizer.model",
    ]) {
      assert.equal(isTokenizerFile(name), false, name);
    }
  });
});

describe("checkArtifactLayout", () => {
  const complete = (folder: string): string[] => {
    const at = (rel: string): string => (folder === "" ? rel : `${folder}/${rel}`);
    return [
      ...Object.keys(REPOSITORY).map(at),
      ...["ensemble/", "preprocessing/1/", "tensorrt_llm/1/", "tokenizer/"].map(at),
    ];
  };

  test("a complete layout has no problems, under a folder or at the zip root", () => {
    assert.deepEqual(checkArtifactLayout(complete("model_repository"), "model_repository"), []);
    assert.deepEqual(checkArtifactLayout(complete(""), ""), []);
    const withModelTokenizer = complete("m")
      .filter((p) => p !== "m/tokenizer/tokenizer.json")
      .concat("m/tokenizer/tokenizer.model");
    assert.deepEqual(checkArtifactLayout(withModelTokenizer, "m/"), []);
  });

  test("names each missing piece", () => {
    const paths = complete("m");
    const without = (...gone: string[]): string[] => paths.filter((p) => !gone.includes(p));
    const cases: [string[], RegExp][] = [
      [
        without("m/tensorrt_llm/1/rank0.engine"),
        /^missing engine in m\/tensorrt_llm\/1\/: .*rank<N>\.engine/,
      ],
      [without("m/tensorrt_llm/1/config.json"), /^missing m\/tensorrt_llm\/1\/config\.json: .*trtllm-build/],
      [
        without("m/tokenizer/tokenizer.json"),
        /^missing tokenizer in m\/tokenizer\/: .*tokenizer\.json or tokenizer\.model/,
      ],
      [without("m/ensemble/1/"), /^missing folder m\/ensemble\/1\/: .*mkdir/],
      [without("m/preprocessing/1/model.py"), /^missing m\/preprocessing\/1\/model\.py/],
      ...["ensemble", "preprocessing", "postprocessing", "tensorrt_llm"].map((model): [string[], RegExp] => [
        without(`m/${model}/config.pbtxt`),
        new RegExp(`^missing m/${model}/config\\.pbtxt`),
      ]),
    ];
    for (const [entries, problem] of cases) {
      const problems = checkArtifactLayout(entries, "m");
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0], problem);
    }
  });

  test("an engine in a subfolder or beside the wrong version does not count", () => {
    const paths = complete("m")
      .filter((p) => p !== "m/tensorrt_llm/1/rank0.engine")
      .concat("m/tensorrt_llm/1/old/rank0.engine", "m/tensorrt_llm/2/rank0.engine");
    assert.equal(checkArtifactLayout(paths, "m").length, 1);
    assert.equal(checkArtifactLayout([], "m").length, 10);
  });
});

test("CRC-32 runs on Node's native zlib.crc32 (the packer's speed depends on it)", () => {
  assert.equal(ensureFastCrc32(), true);
});

describe("packZip housekeeping", () => {
  // Found in a newcomer run: a run killed by SIGHUP or SIGKILL left a multi-GB hidden partial zip
  // that no later run removed.
  test("partial zips of runs that are gone are removed; a running writer's partial is kept", async () => {
    const repo = writeTree(freshDir("repo"), { "a.txt": "a" });
    const outDir = freshDir("out");
    const gone = spawnSync("true").pid;
    const stale = path.join(outDir, `.artifact.zip.${gone}.0123456789ab.partial`);
    const staleOther = path.join(outDir, `.other.zip.${gone}.abcdefabcdef.partial`);
    const live = path.join(outDir, `.artifact.zip.${process.pid}.ba9876543210.partial`);
    for (const file of [stale, staleOther, live]) writeFileSync(file, Buffer.alloc(4096));
    writeFileSync(path.join(outDir, "notes.partial"), "not ours");
    await packZip([{ dir: repo, zipPrefix: "m" }], path.join(outDir, "artifact.zip"));
    assert.deepEqual(
      readdirSync(outDir).sort(),
      [path.basename(live), "artifact.zip", "notes.partial"].sort(),
    );
  });

  test("the free-space check: the bound covers the data and headers, and a short disk is refused with both sizes", () => {
    const entries = [
      { kind: "dir" as const, zipPath: "m/" },
      { kind: "file" as const, zipPath: "m/rank0.engine", size: 10 * 1024 ** 3 },
      { kind: "file" as const, zipPath: "m/tokenizer.json", size: 1000 },
    ];
    const bound = zipSizeBound(entries);
    assert.ok(bound > 10 * 1024 ** 3 + 1000 && bound < 10 * 1024 ** 3 + 4096, String(bound));
    assert.equal(spaceShortfall("/data/out", bound, bound), undefined);
    const message = spaceShortfall("/data/out", bound, 2 * 1024 ** 3);
    assert.match(
      message ?? "",
      /\/data\/out: the zip needs up to 10\.0 GiB, the disk has 2\.0 GiB free; free 8\.0 GiB/,
    );
  });

  test(
    "an unreadable file is refused before anything is written, naming it",
    { skip: process.getuid?.() === 0 && "root reads every file" },
    async () => {
      const repo = writeTree(freshDir("repo"), { "a.txt": "a", "locked.bin": "b" });
      chmodSync(path.join(repo, "locked.bin"), 0o000);
      await assertRefused(
        [{ dir: repo, zipPrefix: "m" }],
        "UNREADABLE_FILE",
        /locked\.bin cannot be read \(EACCES\)/,
      );
    },
  );
});

// packZip's refusals, each before or instead of an output, and its housekeeping around the output.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import {
  isTokenizerFile,
  PackError,
  packZip,
  spaceShortfall,
  zipSizeBound,
} from "../components/artifact/packer";
import {
  assertRefused,
  ENGINE,
  freshDir,
  inspectZip,
  partialFiles,
  REPOSITORY,
  scratch,
  writeTree,
} from "./support/packer-fixtures";

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

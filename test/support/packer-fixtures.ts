// Trees, zips and checks shared by the packer's tests: a scratch folder per test file, the model
// repository every artifact test packs, and readers of the zip (Info-ZIP unzip, Python's zipfile).

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after } from "node:test";
import { PackError, type PackErrorCode, type PackSource, packZip } from "../../components/artifact/packer";

export const scratch = mkdtempSync(path.join(os.tmpdir(), "packer-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
export function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Files by relative path; a path ending in "/" is an (empty) directory. */
export type Tree = Record<string, string | Buffer>;

export function writeTree(root: string, tree: Tree, order: string[] = Object.keys(tree)): string {
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

export const ENGINE = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251));
export const REPOSITORY: Tree = {
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
export function inspectZip(zipPath: string): { bad: string | null; entries: ZipEntryInfo[] } {
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

export function unzipTest(zipPath: string): { status: number | null; output: string } {
  const result = spawnSync("unzip", ["-t", zipPath], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function partialFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".partial"));
}

export async function assertRefused(
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

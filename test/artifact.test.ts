// The artifact path of the stack: staging the rendered repository beside the engine and snapshot,
// the pack cache that keeps previews fast, and the pure builders of what the catalog model and the stack outputs record.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { fingerprintSources, packCached } from "../components/artifact/pack-cache";
import { stageArtifactSources } from "../components/deployment/artifact-sources";
import { customMetadata, modelDescription, modelProvenance } from "../components/deployment/model-metadata";
import { artifactObjectName } from "../components/deployment/storage";
import { modelRepositorySpec, renderModelRepository } from "../components/model-repository";
import { exampleRequestBody, signedCallCommand } from "../components/deployment/stack-outputs";
import { validConfig } from "./support/stack-fixtures";

function workspace() {
  const root = mkdtempSync(join(tmpdir(), "artifact-test-"));
  const engineDir = join(root, "engine");
  const modelDir = join(root, "model");
  mkdirSync(engineDir);
  mkdirSync(join(modelDir, "original"), { recursive: true });
  writeFileSync(join(engineDir, "rank0.engine"), Buffer.alloc(4096, 3));
  writeFileSync(join(engineDir, "config.json"), "{}");
  writeFileSync(join(modelDir, "tokenizer.json"), "{}");
  writeFileSync(join(modelDir, "special_tokens_map.json"), "{}");
  writeFileSync(join(modelDir, "model.safetensors"), Buffer.alloc(512, 1));
  writeFileSync(join(modelDir, "original", "tokenizer.json"), "{}");
  return { root, engineDir, modelDir, cacheDir: join(root, "cache") };
}

function stage(ws: ReturnType<typeof workspace>) {
  const config = validConfig();
  return stageArtifactSources({
    repositoryFolder: config.serving.repositoryFolder,
    repository: renderModelRepository(modelRepositorySpec(config)),
    engineDir: ws.engineDir,
    modelDir: ws.modelDir,
    cacheDir: ws.cacheDir,
  });
}

describe("staging and packing the artifact", () => {
  test("packs repository, engine and top-level tokenizer files, never weights", async () => {
    const ws = workspace();
    const packed = await packCached(stage(ws), join(ws.cacheDir, "artifacts"), "triton");
    const entries = execFileSync("unzip", ["-Z1", packed.zipPath], { encoding: "utf8" }).trim().split("\n");
    assert.ok(entries.includes("triton/tensorrt_llm/1/rank0.engine"));
    assert.ok(entries.includes("triton/tokenizer/tokenizer.json"));
    assert.ok(entries.includes("triton/tokenizer/special_tokens_map.json"));
    assert.ok(entries.includes("triton/ensemble/config.pbtxt"));
    assert.equal(entries.filter((e) => e.includes("safetensors") || e.includes("original")).length, 0);
    const sha256 = createHash("sha256").update(readFileSync(packed.zipPath)).digest("hex");
    assert.equal(packed.sha256, sha256);
    assert.equal(packed.bytes, statSync(packed.zipPath).size);
  });

  test("a missing engine or snapshot is refused naming both config keys", () => {
    const ws = workspace();
    assert.throws(
      () =>
        stageArtifactSources({
          repositoryFolder: "triton",
          repository: [],
          engineDir: join(ws.root, "nope-engine"),
          modelDir: join(ws.root, "nope-model"),
          cacheDir: ws.cacheDir,
        }),
      /engine\.prebuiltDir .*nope-engine does not exist; model\.localDir .*nope-model does not exist/,
    );
  });

  test("an unchanged tree is served from the cache; a touched file is repacked to the same digest", async () => {
    const ws = workspace();
    const cache = join(ws.cacheDir, "artifacts");
    const first = await packCached(stage(ws), cache, "triton");
    const firstMtime = statSync(first.zipPath).mtimeMs;
    const again = await packCached(stage(ws), cache, "triton");
    assert.equal(again.zipPath, first.zipPath);
    assert.equal(statSync(again.zipPath).mtimeMs, firstMtime, "cache hit: the zip was not rewritten");

    const before = fingerprintSources(stage(ws));
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(ws.engineDir, "rank0.engine"), later, later);
    assert.notEqual(fingerprintSources(stage(ws)), before, "a touched engine changes the fingerprint");
    const touched = await packCached(stage(ws), cache, "triton");
    assert.notEqual(touched.zipPath, first.zipPath);
    assert.equal(touched.sha256, first.sha256, "same content, same bytes");
  });

  test("changed engine bytes give a new digest and object name", async () => {
    const ws = workspace();
    const cache = join(ws.cacheDir, "artifacts");
    const first = await packCached(stage(ws), cache, "triton");
    writeFileSync(join(ws.engineDir, "rank0.engine"), Buffer.alloc(4096, 4));
    const second = await packCached(stage(ws), cache, "triton");
    assert.notEqual(second.sha256, first.sha256);
    assert.notEqual(artifactObjectName("triton", second.sha256), artifactObjectName("triton", first.sha256));
    assert.equal(artifactObjectName("triton", first.sha256), `artifacts/triton-${first.sha256}.zip`);
  });
});

describe("what the catalog model and the outputs record", () => {
  test("custom metadata is sorted, in the Other category, and capped at OCI's 255 characters", () => {
    const entries = customMetadata({ zeta: "z", alpha: "a".repeat(300) });
    assert.deepEqual(
      entries.map((e) => e.key),
      ["alpha", "zeta"],
    );
    assert.equal(entries[0].value.length, 255);
    assert.ok(entries.every((e) => e.category === "Other"));
  });

  test("the model description carries the artifact digest that forces replacement", () => {
    assert.equal(modelDescription("ab12"), "Triton TensorRT-LLM model repository, artifact sha256:ab12");
  });

  test("model provenance names model, revision, engine and artifact digest, and nothing the artifact does not fix", () => {
    const metadata = modelProvenance(validConfig(), "c0ffee");
    assert.equal(metadata.huggingFaceId, "tiiuae/falcon-7b-instruct");
    assert.deepEqual(Object.keys(metadata).sort(), ["artifactSha256", "engine", "huggingFaceId", "revision"]);
    assert.equal(metadata.artifactSha256, "c0ffee");
    assert.equal(
      metadata.engine,
      "dtype=bfloat16 quantization=none tp=1 maxBatchSize=32 maxInputLen=1024 maxOutputLen=1024",
    );
    for (const value of Object.values(metadata)) assert.ok(value.length <= 255);
  });

  test("the example call uses the model's own end and pad ids", () => {
    assert.deepEqual(
      [exampleRequestBody(validConfig()).end_id, exampleRequestBody(validConfig()).pad_id],
      [11, 11],
    );
    const llama = validConfig({
      "model.huggingFaceId": "meta-llama/Llama-3.1-8B-Instruct",
      "engine.maxBatchSize": 4,
    });
    assert.equal(exampleRequestBody(llama).end_id, 128009);
    const command = signedCallCommand("https://md.example/ocid1.x/predict", validConfig());
    assert.match(
      command,
      /^oci raw-request --http-method POST --target-uri https:\/\/md\.example\/ocid1\.x\/predict /,
    );
    const body = JSON.parse(command.slice(command.indexOf("'") + 1, command.lastIndexOf("'")));
    assert.equal(body.text_input, "What is the capital of France?");
  });
});

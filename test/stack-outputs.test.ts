// The request bodies the stack hands out (the example call, and the builder `invoke` uses): the
// names the serving image reads, the model's own ids, and `stream` only on a stack that can stream.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  exampleRequestBody,
  generateRequestBody,
  signedCallCommand,
  validationRequestBody,
} from "../components/deployment/stack-outputs";
import { validConfig } from "./support/stack-fixtures";

describe("request bodies", () => {
  test("the example on a non-streaming stack sends no stream and the 0.18 seed name", () => {
    assert.deepEqual(exampleRequestBody(validConfig()), {
      text_input: "What is the capital of France?",
      max_tokens: 64,
      temperature: 0.7,
      top_p: 0.9,
      random_seed: 42,
      end_id: 11,
      pad_id: 11,
    });
  });

  // TensorRT-LLM decodes greedily when topK and topP are both 0, their defaults
  // (docs/source/advanced/gpt-runtime.md): a body that sets neither ignores its temperature and seed.
  const samples = (body: Record<string, unknown>) =>
    (typeof body.top_p === "number" && body.top_p > 0) || (typeof body.top_k === "number" && body.top_k > 1);

  test("found in a newcomer run: the example set temperature and seed but decoded greedily; it samples", () => {
    for (const config of [validConfig(), validConfig({ "deployment.streaming": true })]) {
      const body = exampleRequestBody(config);
      assert.equal(samples(body), true, JSON.stringify(body));
      assert.equal(typeof body.temperature, "number");
    }
  });

  test("the build host's known-answer request stays greedy: top_k 1, no top_p, no temperature, no seed", () => {
    for (const config of [validConfig(), validConfig({ "deployment.streaming": true })]) {
      const body = validationRequestBody(config);
      assert.equal(body.top_k, 1);
      assert.equal(samples(body), false, JSON.stringify(body));
      for (const key of ["top_p", "temperature", "random_seed"]) assert.equal(key in body, false, key);
    }
  });

  test("the example on a streaming stack asks for a stream", () => {
    const body = exampleRequestBody(validConfig({ "deployment.streaming": true }));
    assert.equal(body.stream, true);
    const command = signedCallCommand(
      "https://md.example/ocid1.x/predict",
      validConfig({ "deployment.streaming": true }),
    );
    assert.match(command, /"stream":true/);
  });

  test("every knob gets the name the serving image's backend reads", () => {
    const body = generateRequestBody(validConfig({ "deployment.streaming": true }), {
      prompt: "Hi",
      maxTokens: 8,
      topK: 5,
      topP: 0.9,
      minTokens: 3,
      seed: 7,
      stopWords: ["\n\n"],
      badWords: ["Falcon"],
      stream: false,
    });
    assert.deepEqual(body, {
      text_input: "Hi",
      max_tokens: 8,
      top_p: 0.9,
      top_k: 5,
      min_length: 3,
      random_seed: 7,
      stop_words: ["\n\n"],
      bad_words: ["Falcon"],
      end_id: 11,
      pad_id: 11,
      stream: false,
    });
  });

  test("a stream asked of a stack that cannot stream is refused, saying how to enable it", () => {
    assert.throws(
      () => generateRequestBody(validConfig(), { prompt: "Hi", maxTokens: 8, stream: true }),
      /deployment\.streaming: true/,
    );
    assert.equal(
      "stream" in generateRequestBody(validConfig(), { prompt: "Hi", maxTokens: 8, stream: false }),
      false,
    );
  });

  test("an image outside the catalogue gives no guessed names", () => {
    assert.throws(
      () => exampleRequestBody(validConfig({ "image.source": "localhost:5000/triton" })),
      /image\.source/,
    );
  });
});

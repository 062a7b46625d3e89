/** Pure builders for what the stack records and exports beside resource outputs. */
import type { StackConfig } from "./config";

/** The request body of a first call: the model's real end and pad ids, never the walkthrough's 2/3. */
export function exampleRequestBody(config: StackConfig): Record<string, unknown> {
  return {
    text_input: "What is the capital of France?",
    max_tokens: 64,
    temperature: 0.7,
    end_id: config.model.resolved.eosTokenId,
    pad_id: config.model.resolved.padTokenId,
  };
}

/** A pasteable, signed call with the OCI CLI (request signing from the caller's OCI profile). */
export function signedCallCommand(predictUrl: string, config: StackConfig): string {
  const body = JSON.stringify(exampleRequestBody(config));
  return `oci raw-request --http-method POST --target-uri ${predictUrl} --request-body '${body}'`;
}

/**
 * What a `/generate` request may send: the inputs of the ensemble and of `tensorrt_llm_bls`, and
 * the sampling knobs passed straight to the engine under the names the serving image reads.
 */
import type { RequestTensorNames } from "../config/image-catalog";
import type { DataType, ModelInput } from "./model-config";

export const scalar = (name: string, dataType: DataType, optional = false): ModelInput => ({
  name,
  dataType,
  dims: [1],
  ...(optional ? { optional } : {}),
});

/** Phrases that end the answer; one element per phrase. */
export const STOP_WORDS: ModelInput = {
  name: "stop_words",
  dataType: "TYPE_STRING",
  dims: [-1],
  optional: true,
};

/**
 * The request inputs preprocessing reads. `stream` is read only to refuse it: the ensemble decodes
 * each partial response alone, which breaks multi-byte characters, so it never streams.
 */
export const PREPROCESSING_REQUEST_INPUTS: readonly ModelInput[] = [
  scalar("text_input", "TYPE_STRING"),
  scalar("max_tokens", "TYPE_INT32"),
  { name: "bad_words", dataType: "TYPE_STRING", dims: [-1], optional: true },
  STOP_WORDS,
  scalar("end_id", "TYPE_INT32", true),
  scalar("pad_id", "TYPE_INT32", true),
  scalar("stream", "TYPE_BOOL", true),
];

/** Keep the stop string at the end of the answer instead of ending just before it (vLLM's name). */
export const INCLUDE_STOP_STRING: ModelInput = scalar("include_stop_str_in_output", "TYPE_BOOL", true);

/** A request knob passed straight to the engine: the request's name, the engine's, the type. */
export interface SamplingKnob {
  readonly request: string;
  readonly engine: string;
  readonly dataType: DataType;
}

/**
 * The sampling knobs a request may send. The names of the two that TensorRT-LLM renamed come from
 * the image catalogue; request and engine use the same name for them, as NVIDIA's ensemble does.
 */
export function samplingKnobs(names: RequestTensorNames): SamplingKnob[] {
  return [
    { request: "top_k", engine: "runtime_top_k", dataType: "TYPE_INT32" },
    { request: "top_p", engine: "runtime_top_p", dataType: "TYPE_FP32" },
    { request: "temperature", engine: "temperature", dataType: "TYPE_FP32" },
    { request: "repetition_penalty", engine: "repetition_penalty", dataType: "TYPE_FP32" },
    { request: "presence_penalty", engine: "presence_penalty", dataType: "TYPE_FP32" },
    { request: "frequency_penalty", engine: "frequency_penalty", dataType: "TYPE_FP32" },
    { request: names.minTokens, engine: names.minTokens, dataType: "TYPE_INT32" },
    { request: names.seed, engine: names.seed, dataType: "TYPE_UINT64" },
  ];
}

/** Every input a client may send to the model the deployment serves, with its type. */
export function requestInputs(names: RequestTensorNames): ModelInput[] {
  return [
    ...PREPROCESSING_REQUEST_INPUTS,
    INCLUDE_STOP_STRING,
    ...samplingKnobs(names).map((knob) => scalar(knob.request, knob.dataType, true)),
  ];
}

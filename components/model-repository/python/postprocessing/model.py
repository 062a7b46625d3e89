"""Triton Python model "postprocessing": the engine's token ids become the completion text.

Runs in Triton's Python backend inside the Triton TensorRT-LLM container. Parameters (config.pbtxt):

- tokenizer_dir: folder of the Hugging Face tokenizer files, loaded once with AutoTokenizer.
- skip_special_tokens: drop eos and other control tokens from the text (default true).

The engine runs with exclude_input_in_output, so output_ids hold the generated tokens only; each
beam's ids beyond its sequence_length are padding. Inputs carry a leading batch dimension
(max_batch_size > 0): output_ids is [batch, beams, tokens], sequence_length [batch, beams], and
text_output comes back as [batch, beams].

Optional inputs, which the ensemble of a stack that does not stream maps from preprocessing and
from the request (a stack that streams serves tensorrt_llm_bls instead, and Triton lets no step mix
the responses of its decoupled engine with other tensors):
- input_ids / input_lengths: the prompt, whose last tokens the completion is decoded behind so a
  SentencePiece completion keeps its leading space (incremental_text.py).
- stop_words / include_stop_str_in_output: the answer ends at the first stop string in its text
  (stop_strings.py), as tensorrt_llm_bls does; the engine has already stopped on the phrase's
  tokens when it could.
Decoding and cutting are the same as tensorrt_llm_bls's, so both give the same text for the same
tokens.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from incremental_text import IncrementalText, make_decode, prompt_context
from stop_strings import Answer, StopStrings
from transformers import AutoTokenizer


def _parameter(model_config, key):
    value = model_config.get("parameters", {}).get(key, {}).get("string_value", "")
    return value if value != "" else None


def _optional(request, name):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy()


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        tokenizer_dir = _parameter(model_config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise pb_utils.TritonModelException("postprocessing: parameter tokenizer_dir is not set")
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        skip = _parameter(model_config, "skip_special_tokens")
        self.decode = make_decode(tokenizer, skip is None or skip.strip().lower() in ("true", "1", "yes"))
        self.text_dtype = pb_utils.triton_string_to_numpy(
            pb_utils.get_output_config_by_name(model_config, "text_output")["data_type"]
        )

    def execute(self, requests):
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("text_output", self._texts(request))])
            for request in requests
        ]

    def _texts(self, request):
        output_ids = pb_utils.get_input_tensor_by_name(request, "output_ids").as_numpy()
        batch, beams = output_ids.shape[0], output_ids.shape[1]
        lengths = pb_utils.get_input_tensor_by_name(request, "sequence_length").as_numpy().reshape(batch, beams)
        prompt_ids = _optional(request, "input_ids")
        prompt_lengths = _optional(request, "input_lengths")
        stop_words = _optional(request, "stop_words")
        include = _optional(request, "include_stop_str_in_output")
        texts = np.empty((batch, beams), dtype=self.text_dtype)
        for row in range(batch):
            context = (
                prompt_context(prompt_ids[row], prompt_lengths.reshape(batch)[row]) if prompt_ids is not None else []
            )
            stops = StopStrings(
                [] if stop_words is None else [_text(word) for word in stop_words.reshape(batch, -1)[row]],
                include is not None and bool(include.reshape(batch)[row]),
            )
            for beam in range(beams):
                answer = Answer(IncrementalText(self.decode, context), stops)
                answer.extend(output_ids[row, beam, : int(lengths[row, beam])])
                texts[row, beam] = answer.finish().encode("utf-8")
        return texts

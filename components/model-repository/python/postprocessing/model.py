"""Triton Python model "postprocessing": the engine's token ids become the completion text.

Runs in Triton's Python backend inside the Triton TensorRT-LLM container. Parameters (config.pbtxt):

- tokenizer_dir: folder of the Hugging Face tokenizer files, loaded once with AutoTokenizer.
- skip_special_tokens: drop eos and other control tokens from the text (default true).

The engine runs with exclude_input_in_output, so output_ids hold the generated tokens only; each
beam's ids beyond its sequence_length are padding. Inputs carry a leading batch dimension
(max_batch_size > 0): output_ids is [batch, beams, tokens], sequence_length [batch, beams], and
text_output comes back as [batch, beams]. The ensemble never streams; decoding is the same as the
streaming model's (incremental_text.decode_completion), so both give the same text for the same
tokens.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from incremental_text import decode_completion
from transformers import AutoTokenizer


def _parameter(model_config, key):
    value = model_config.get("parameters", {}).get(key, {}).get("string_value", "")
    return value if value != "" else None


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        tokenizer_dir = _parameter(model_config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise pb_utils.TritonModelException("postprocessing: parameter tokenizer_dir is not set")
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        skip = _parameter(model_config, "skip_special_tokens")
        self.skip_special_tokens = skip is None or skip.strip().lower() in ("true", "1", "yes")
        self.text_dtype = pb_utils.triton_string_to_numpy(
            pb_utils.get_output_config_by_name(model_config, "text_output")["data_type"]
        )

    def execute(self, requests):
        responses = []
        for request in requests:
            output_ids = pb_utils.get_input_tensor_by_name(request, "output_ids").as_numpy()
            lengths = pb_utils.get_input_tensor_by_name(request, "sequence_length").as_numpy()
            batch, beams = output_ids.shape[0], output_ids.shape[1]
            lengths = lengths.reshape(batch, beams)
            texts = np.empty((batch, beams), dtype=self.text_dtype)
            for row in range(batch):
                for beam in range(beams):
                    ids = output_ids[row, beam, : int(lengths[row, beam])].tolist()
                    text = decode_completion(self.tokenizer, ids, self.skip_special_tokens)
                    texts[row, beam] = text.encode("utf-8")
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("text_output", texts)]))
        return responses

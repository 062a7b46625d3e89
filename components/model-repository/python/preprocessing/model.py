"""Triton Python model "preprocessing": a text request becomes the tensors the TensorRT-LLM engine reads.

Runs in Triton's Python backend inside the Triton TensorRT-LLM container. Parameters (config.pbtxt):

- tokenizer_dir: folder of the Hugging Face tokenizer files, loaded once with AutoTokenizer.
- add_special_tokens: whether the prompt gets the tokenizer's special tokens (BOS for Llama).
- default_end_id / default_pad_id: ids used when a request sends no end_id / pad_id. The stack
  writes the model's catalogued ids here; without them the tokenizer's eos (and pad, falling back to
  eos) is used. When the tokenizer disagrees with the configured end id, the configured id wins and
  a warning is logged: instruct models often end turns with a token other than the tokenizer's eos.
- max_input_len: longest prompt, in tokens, the engine was built for.
- streaming_model: the decoupled model that streams on this stack, or empty when the stack does not
  stream (and its engine is not decoupled). On a streaming stack the ensemble refuses what only that
  model does right: `stream: true` (the ensemble would decode each partial response alone) and
  stop_words (that model cuts the text at a stop string; the ensemble's postprocessing cannot be
  given the request's words there, see postprocessing/model.py). Without it, a request of several
  rows is refused: the tensorrt_llm backend takes several rows only when decoupled (tensorrtllm_backend
  v0.18.2 inflight_batcher_llm/src/utils.cc:790-793).

Bad and stop words: each element of the bad_words / stop_words tensor is one phrase, taken verbatim
(commas, spaces and newlines included, so "Hello, world" or "\\n\\n" are single stop sequences). To
send several phrases, send several elements (a JSON array on /generate). Empty strings are ignored,
so a client that always sends "" for no words works. Each phrase goes to the engine as every token
sequence it may be generated as (word_lists.py); postprocessing then cuts the text at the phrase.

Every input arrives with a leading batch dimension (max_batch_size > 0): one row per prompt.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from transformers import AutoTokenizer
from word_lists import word_list

OUTPUT_NAMES = (
    "input_ids",
    "input_lengths",
    "request_output_len",
    "bad_words_list",
    "stop_words_list",
    "resolved_end_id",
    "resolved_pad_id",
)


def _parameter(model_config, key):
    value = model_config.get("parameters", {}).get(key, {}).get("string_value", "")
    return value if value != "" else None


def _flag(value, default):
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        tokenizer_dir = _parameter(model_config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise pb_utils.TritonModelException("preprocessing: parameter tokenizer_dir is not set")
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        self.add_special_tokens = _flag(_parameter(model_config, "add_special_tokens"), True)
        self.streaming_model = _parameter(model_config, "streaming_model")
        max_input_len = _parameter(model_config, "max_input_len")
        self.max_input_len = int(max_input_len) if max_input_len is not None else None

        tokenizer_eos = self.tokenizer.eos_token_id
        configured_end = _parameter(model_config, "default_end_id")
        configured_pad = _parameter(model_config, "default_pad_id")
        if configured_end is not None:
            self.end_id = int(configured_end)
            if tokenizer_eos is not None and tokenizer_eos != self.end_id:
                pb_utils.Logger.log_warn(
                    f"preprocessing: default_end_id {self.end_id} differs from the tokenizer's "
                    f"eos_token_id {tokenizer_eos}; using {self.end_id}"
                )
        elif tokenizer_eos is not None:
            self.end_id = int(tokenizer_eos)
        else:
            raise pb_utils.TritonModelException(
                "preprocessing: the tokenizer has no eos token and default_end_id is not set"
            )
        if configured_pad is not None:
            self.pad_id = int(configured_pad)
        elif self.tokenizer.pad_token_id is not None:
            self.pad_id = int(self.tokenizer.pad_token_id)
        else:
            self.pad_id = self.end_id

        self.dtypes = {
            name: pb_utils.triton_string_to_numpy(
                pb_utils.get_output_config_by_name(model_config, name)["data_type"]
            )
            for name in OUTPUT_NAMES
        }

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                outputs = self._process(request)
            except ValueError as error:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error))))
                continue
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor(name, outputs[name].astype(self.dtypes[name]))
                        for name in OUTPUT_NAMES
                    ]
                )
            )
        return responses

    def _optional(self, request, name):
        tensor = pb_utils.get_input_tensor_by_name(request, name)
        return None if tensor is None else tensor.as_numpy()

    def _ids_or_default(self, request, name, default, batch):
        given = self._optional(request, name)
        if given is None:
            return np.full((batch, 1), default, dtype=np.int64)
        return given.reshape(batch, 1).astype(np.int64)

    def _phrases(self, request, name, batch):
        given = self._optional(request, name)
        if given is None:
            return [[] for _ in range(batch)]
        return [[_text(value) for value in row.reshape(-1)] for row in given.reshape(batch, -1)]

    def _refuse_what_this_stack_serves_elsewhere(self, request, batch):
        if self.streaming_model is None and batch > 1:
            raise ValueError(
                f"text_input holds {batch} rows; this deployment (deployment.streaming: false) answers "
                "one prompt per request: send one request per prompt"
            )
        if self.streaming_model is not None and any(
            phrase != "" for phrases in self._phrases(request, "stop_words", batch) for phrase in phrases
        ):
            raise ValueError(
                f"stop_words on this stack are applied by {self.streaming_model}, which ends the answer at "
                "the stop string in its text; the ensemble cannot: send the request to "
                f"/v2/models/{self.streaming_model}/generate_stream"
            )
        stream = self._optional(request, "stream")
        if stream is None or not stream.any():
            return
        if self.streaming_model is None:
            raise ValueError(
                "stream: true needs a streaming stack (deployment.streaming: true); this deployment "
                "answers once: send stream: false or leave it out"
            )
        raise ValueError(
            "stream: true is not served by the ensemble, which would decode each piece alone and "
            f"break multi-byte characters; send the request to /v2/models/{self.streaming_model}"
            "/generate_stream"
        )

    def _process(self, request):
        prompts = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy()
        batch = prompts.shape[0]
        self._refuse_what_this_stack_serves_elsewhere(request, batch)
        max_tokens = pb_utils.get_input_tensor_by_name(request, "max_tokens").as_numpy().reshape(batch, 1)
        if (max_tokens < 1).any():
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens.reshape(-1).tolist()}")

        token_rows = [
            self.tokenizer.encode(_text(prompt), add_special_tokens=self.add_special_tokens)
            for prompt in prompts.reshape(batch, -1)[:, 0]
        ]
        lengths = [len(tokens) for tokens in token_rows]
        for row, length in enumerate(lengths):
            if length == 0:
                raise ValueError(f"text_input of row {row} is empty after tokenization")
            if self.max_input_len is not None and length > self.max_input_len:
                raise ValueError(
                    f"text_input of row {row} is {length} tokens; the engine accepts at most "
                    f"{self.max_input_len}"
                )

        end_ids = self._ids_or_default(request, "end_id", self.end_id, batch)
        pad_ids = self._ids_or_default(request, "pad_id", self.pad_id, batch)
        # Rows are padded to the longest prompt for transport only: input_lengths tells the engine
        # where each row's prompt ends.
        input_ids = np.empty((batch, max(lengths)), dtype=np.int64)
        for row, tokens in enumerate(token_rows):
            input_ids[row, :] = pad_ids[row, 0]
            input_ids[row, : len(tokens)] = tokens

        return {
            "input_ids": input_ids,
            "input_lengths": np.array(lengths, dtype=np.int64).reshape(batch, 1),
            "request_output_len": max_tokens,
            "bad_words_list": word_list(self._phrases(request, "bad_words", batch), self.tokenizer),
            "stop_words_list": word_list(self._phrases(request, "stop_words", batch), self.tokenizer),
            "resolved_end_id": end_ids,
            "resolved_pad_id": pad_ids,
        }

"""Triton Python model "tensorrt_llm_bls": the decoupled model a streaming stack serves.

Rendered only on a decoupled stack. It takes the same request as the ensemble, calls "preprocessing"
and then "tensorrt_llm" itself (business logic scripting), and answers with text whose streamed
pieces add up to exactly the non-streamed text: the tokens generated so far are re-decoded behind
the prompt's last tokens and only text later tokens cannot change is sent (incremental_text.py).
Stop strings end the answer by text (stop_strings.py): the answer stops before the first stop
string (after it with include_stop_str_in_output), a stream never sends part of one, and the engine
request is cancelled once every row has its answer. The engine also gets every token sequence each
stop phrase may be generated as (word_lists.py), so it usually stops by itself first; this model
encodes them, since preprocessing on this stack refuses stop_words from the ensemble, which cannot
apply them to the text. Parameters (config.pbtxt):

- tokenizer_dir: folder of the Hugging Face tokenizer files, loaded once with AutoTokenizer.
- skip_special_tokens: drop eos and other control tokens from the text (default true).
- engine_inputs: JSON object, request knob name -> tensorrt_llm input name (from the stack's image
  catalogue: the names the serving image's TensorRT-LLM backend reads).

What the engine answers (tensorrtllm_backend v0.18.2 inflight_batcher_llm/src/model_instance_state.cc,
fillTritonResponse and WaitForResponse): output_ids [1, beams, tokens] and sequence_length
[1, beams] per response, the new tokens only when streaming; batch_index [1, 1] only when the
request holds more than one row (:1103), so a one-row response has none and is row 0; Triton's
final flag only on the last row's last response (:1226-1228).

Requests: `stream: true` sends text as it is generated; otherwise one response per row carries the
whole text. Every response has text_output [1, 1] and batch_index [1, 1] (the request row). The last
response carries Triton's final flag (alone, when no text is left). Errors, including a field that
is not an input of this model, come back as error responses; a cancelled request stops the engine
request. Python backend semantics used (python_backend r25.04 README): async execute for decoupled
models ("Async Execute"), the response sender and its final flag ("Decoupled mode"),
`exec(decoupled=True)` and `ResponseIterator.cancel()` ("Cancelling decoupled BLS requests").
"""

import asyncio
import json

import numpy as np
import triton_python_backend_utils as pb_utils
from incremental_text import IncrementalText, make_decode, prompt_context
from stop_strings import Answer, StopStrings
from transformers import AutoTokenizer
from word_lists import word_list

# stop_words stays here: preprocessing refuses it on this stack (see the module docstring).
PREPROCESSING_INPUTS = ("text_input", "max_tokens", "bad_words", "end_id", "pad_id")
# preprocessing output -> tensorrt_llm input
ENGINE_FROM_PREPROCESSING = {
    "input_ids": "input_ids",
    "input_lengths": "input_lengths",
    "request_output_len": "request_output_len",
    "bad_words_list": "bad_words_list",
    "resolved_end_id": "end_id",
    "resolved_pad_id": "pad_id",
}
ENGINE_OUTPUTS = ("output_ids", "sequence_length", "batch_index")
# Request parameters Triton itself defines (parameters extension): never a client's typo.
RESERVED_PARAMETERS = {"sequence_id", "priority", "timeout", "sequence_start", "sequence_end", "headers"}


class RequestError(Exception):
    """What the client must change; sent back as the request's error response."""


def _parameter(model_config, key):
    value = model_config.get("parameters", {}).get(key, {}).get("string_value", "")
    return value if value != "" else None


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def unread_parameters(parameters_json):
    """Request fields that reached the model as parameters, which it does not read: keys naming no
    input, and anything sent inside "parameters" rather than as a top-level key."""
    parameters = json.loads(parameters_json) if parameters_json else {}
    return sorted(name for name in parameters if name not in RESERVED_PARAMETERS and not name.startswith("triton_"))


def response_row(response):
    """The request row an engine response belongs to: its batch_index, which the backend sends only
    for a request of several rows (model_instance_state.cc:1103, v0.18.2); row 0 otherwise."""
    batch_index = pb_utils.get_output_tensor_by_name(response, "batch_index")
    return 0 if batch_index is None else int(batch_index.as_numpy().reshape(-1)[0])


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        tokenizer_dir = _parameter(model_config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise pb_utils.TritonModelException("tensorrt_llm_bls: parameter tokenizer_dir is not set")
        engine_inputs = _parameter(model_config, "engine_inputs")
        if engine_inputs is None:
            raise pb_utils.TritonModelException("tensorrt_llm_bls: parameter engine_inputs is not set")
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        skip = _parameter(model_config, "skip_special_tokens")
        self.decode = make_decode(self.tokenizer, skip is None or skip.strip().lower() in ("true", "1", "yes"))
        self.engine_inputs = json.loads(engine_inputs)
        self.inputs = sorted(entry["name"] for entry in model_config["input"])
        self.text_dtype = pb_utils.triton_string_to_numpy(
            pb_utils.get_output_config_by_name(model_config, "text_output")["data_type"]
        )

    async def execute(self, requests):
        await asyncio.gather(*(self._serve(request) for request in requests))
        return None

    def _text_response(self, text, row):
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("text_output", np.array([[text.encode("utf-8")]], dtype=self.text_dtype)),
                pb_utils.Tensor("batch_index", np.array([[row]], dtype=np.int32)),
            ]
        )

    async def _serve(self, request):
        sender = request.get_response_sender()
        try:
            await self._generate(request, sender)
        except Exception as error:  # noqa: BLE001 - every failure must reach the client as a response
            message = str(error) if isinstance(error, RequestError) else f"tensorrt_llm_bls: {error}"
            sender.send(
                pb_utils.InferenceResponse(error=pb_utils.TritonError(message)),
                flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL,
            )

    def _check_fields(self, request):
        unread = unread_parameters(request.parameters())
        if unread:
            raise RequestError(
                f"request field(s) {', '.join(unread)} would be ignored: tensorrt_llm_bls reads only "
                f"the top-level keys {', '.join(self.inputs)}; rename, move or remove them"
            )

    def _stops(self, request, batch):
        """Each row's stop phrases, as StopStrings."""
        words = pb_utils.get_input_tensor_by_name(request, "stop_words")
        include = pb_utils.get_input_tensor_by_name(request, "include_stop_str_in_output")
        phrases = (
            [[] for _ in range(batch)]
            if words is None
            else [[_text(word) for word in row] for row in words.as_numpy().reshape(batch, -1)]
        )
        flags = [False] * batch if include is None else include.as_numpy().reshape(batch).tolist()
        return [StopStrings(row_phrases, flag) for row_phrases, flag in zip(phrases, flags)]

    async def _preprocess(self, request):
        inputs = [
            tensor
            for tensor in (pb_utils.get_input_tensor_by_name(request, name) for name in PREPROCESSING_INPUTS)
            if tensor is not None
        ]
        response = await pb_utils.InferenceRequest(
            model_name="preprocessing",
            inputs=inputs,
            requested_output_names=list(ENGINE_FROM_PREPROCESSING),
        ).async_exec()
        if response.has_error():
            raise RequestError(response.error().message())
        return {
            name: pb_utils.get_output_tensor_by_name(response, name).as_numpy() for name in ENGINE_FROM_PREPROCESSING
        }

    def _engine_request(self, request, tokens, stops, stream):
        batch = tokens["input_ids"].shape[0]
        inputs = [pb_utils.Tensor(target, tokens[source]) for source, target in ENGINE_FROM_PREPROCESSING.items()]
        stop_words_list = word_list([stop.phrases for stop in stops], self.tokenizer).astype(np.int32)
        inputs.append(pb_utils.Tensor("stop_words_list", stop_words_list))
        for request_name, engine_name in self.engine_inputs.items():
            tensor = pb_utils.get_input_tensor_by_name(request, request_name)
            if tensor is not None:
                inputs.append(pb_utils.Tensor(engine_name, tensor.as_numpy()))
        inputs.append(pb_utils.Tensor("streaming", np.full((batch, 1), stream, dtype=np.bool_)))
        return pb_utils.InferenceRequest(
            model_name="tensorrt_llm", inputs=inputs, requested_output_names=list(ENGINE_OUTPUTS)
        )

    async def _relay(self, responses, sender, answers, stream):
        """Streams each row's new text as the engine answers; returns False when the client
        cancelled (the engine request is cancelled too)."""
        loop = asyncio.get_running_loop()
        while True:
            if sender.is_cancelled():
                responses.cancel()
                return False
            # The iterator blocks until the engine answers (releasing the GIL): off the event loop,
            # so other requests of this instance keep streaming meanwhile.
            response = await loop.run_in_executor(None, next, responses, None)
            if response is None:
                return True
            if response.has_error():
                raise RequestError(response.error().message())
            if len(response.output_tensors()) == 0:
                continue
            row = response_row(response)
            # Streamed responses hold only the new tokens; slicing to sequence_length also drops
            # the padding of a whole (non-streamed) answer.
            length = int(pb_utils.get_output_tensor_by_name(response, "sequence_length").as_numpy().reshape(-1)[0])
            new_ids = pb_utils.get_output_tensor_by_name(response, "output_ids").as_numpy()[0, 0, :length]
            answer = answers[row]
            if not stream:
                answer.extend(new_ids)
                continue
            piece = answer.push(new_ids)
            if piece != "":
                sender.send(self._text_response(piece, row))
            if all(other.stopped for other in answers):
                # Every row ended at a stop string: nothing more is read. The backend cancels the
                # request's engine work as a whole (WaitForCancel, model_instance_state.cc:1375).
                responses.cancel()
                return True

    async def _generate(self, request, sender):
        self._check_fields(request)
        stream_tensor = pb_utils.get_input_tensor_by_name(request, "stream")
        stream = bool(stream_tensor is not None and stream_tensor.as_numpy().any())
        tokens = await self._preprocess(request)
        batch = tokens["input_ids"].shape[0]
        stops = self._stops(request, batch)
        answers = [
            Answer(
                IncrementalText(self.decode, prompt_context(tokens["input_ids"][row], tokens["input_lengths"][row, 0])),
                stops[row],
            )
            for row in range(batch)
        ]
        responses = await self._engine_request(request, tokens, stops, stream).async_exec(decoupled=True)

        try:
            finished = await self._relay(responses, sender, answers, stream)
        except Exception:
            # The engine would otherwise go on generating for a request nobody reads any more.
            responses.cancel()
            raise
        if not finished:
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            return

        # Non-streamed: each row's whole answer. Streamed: whatever was held back at the end.
        finals = [(row, answer.finish()) for row, answer in enumerate(answers)]
        finals = [(row, rest) for row, rest in finals if not stream or rest != ""]
        for row, rest in finals[:-1]:
            sender.send(self._text_response(rest, row))
        if finals:
            row, rest = finals[-1]
            sender.send(self._text_response(rest, row), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        else:
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)

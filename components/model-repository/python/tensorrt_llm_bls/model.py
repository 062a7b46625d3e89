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
- default_max_tokens: tokens to generate for a request that sends no max_tokens; set only where the
  config declares max_tokens optional (an OpenAI stack, whose frontend sends none for a client that
  set none), elsewhere Triton refuses a request without it.
And max_batch_size, the engine's: how many request rows are sent to the engine at once (below).

What the engine answers (tensorrtllm_backend v0.18.2 inflight_batcher_llm/src/model_instance_state.cc,
fillTritonResponse and WaitForResponse): output_ids [1, beams, tokens] and sequence_length
[1, beams] per response, the new tokens only when streaming; batch_index [1, 1] only when the
request holds more than one row (:1103), so a one-row response has none and is row 0; Triton's
final flag only on the last row's last response (:1226-1228).

Requests: `stream: true` sends text as it is generated; otherwise one response per row carries the
whole text. Every response has text_output [1, 1] and batch_index [1, 1] (the request row); a row
that produced no text (its first token was the end token, or its answer began with a stop string)
gets one response with "", streamed or not. The last response carries Triton's final flag (alone,
when no text is left). Errors, including a field that is not an input of this model, come back as
error responses. Triton's own generate field "id" (the request id) is accepted.

Concurrency and cancellation, from python_backend r25.04 (src/, cited in the stand-in
test/python/triton_python_backend_utils.py that the tests and bench/serving.py run this model
under). Every request of the instance is a coroutine on the stub's one event loop (pb_stub.cc:
703-709, 910-938), and the backend's calls block their thread until another thread or the parent
process answers: a response iterator's next (pb_response_iterator.cc:80-94), exec (infer_request.cc:
411-418; a decoupled one until the first response, python_be.cc:656-661), send (response_sender.cc:
178-187), is_cancelled (pb_cancel.cc:58-80) and cancel (pb_bls_cancel.cc:57-79). Made on the event
loop, any of them would hold up every stream of the instance, so they run on this model's executor:
- The engine schedules at most its max batch size of sequences at once (TensorRT-LLM docs,
  features/paged-attention-ifb-scheduler.md, "max_batch_size"), one per request row
  (model_instance_state.cc:820-901). Rows beyond that wait here, first come first served, before
  their engine request is sent. A request in the engine has one thread that sends the engine
  request and relays its answer (each piece costs its arrival and its send, no trip through the
  event loop), and at most one more for a cancel the watch sends meanwhile; so the executor has
  2 x max_batch_size threads, plus one for the watch, and a waiting request holds none. A stream
  never waits for a thread that other streams hold, as it did on the event loop's default executor
  (min(32, CPUs + 4) threads, which async_exec also uses, pb_stub.cc:1866-1888).
- One watch task asks every request in flight whether its client went away, every
  CANCEL_CHECK_SECONDS, in one executor job (the backend answers these one at a time anyway,
  pb_stub.cc:1112-1146): a request waiting for its turn, streaming, or waiting for a whole answer
  alike. A request is never asked after its final flag: the parent has then deleted what the
  question reads (python_be.cc:1191-1199, 897-928). A cancelled request's engine request is
  cancelled; the engine stops at its next cancellation check (cancellation_check_period_ms of the
  tensorrt_llm config, model_instance_state.cc:708-718, 1375-1394). The engine request streams even
  when the client's does not: a decoupled exec returns with the first response only, and the
  iterator a cancel needs exists from then on (python_be.cc:656-661, pb_stub.cc:1847-1864), so a
  whole answer sent at its end could not be cancelled while it is generated.
- Every engine response iterator is read to its final response, after a cancel, a stop string or an
  error too (once the client has its final flag): the stub keeps an unfinished iterator, and every
  response still to come, until the model unloads (pb_stub.cc:1362-1386, 1186-1191, 413-419).
"""

import asyncio
import collections
import json
from concurrent.futures import ThreadPoolExecutor

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
# Request parameters Triton itself defines (parameters extension), never a client's typo. "id" is
# the generate endpoint's request id: Triton reads it as the request id (server r25.04
# src/http_server.cc:2956-2961) and, since it names no input, also passes it on as a parameter
# (:3439-3503).
RESERVED_PARAMETERS = {"id", "sequence_id", "priority", "timeout", "sequence_start", "sequence_end", "headers"}
# How often the watch asks whether the clients of the requests in flight went away.
CANCEL_CHECK_SECONDS = 0.02


class RequestError(Exception):
    """What the client must change; sent back as the request's error response."""


def _parameter(model_config, key):
    value = model_config.get("parameters", {}).get(key, {}).get("string_value", "")
    return value if value != "" else None


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def unread_parameters(parameters_json):
    """Request fields that reached the model as parameters, which it does not read: on /generate,
    keys that name no input, at the top level or inside "parameters" (Triton maps both alike)."""
    parameters = json.loads(parameters_json) if parameters_json else {}
    return sorted(name for name in parameters if name not in RESERVED_PARAMETERS and not name.startswith("triton_"))


def response_row(response):
    """The request row an engine response belongs to: its batch_index, which the backend sends only
    for a request of several rows (model_instance_state.cc:1103, v0.18.2); row 0 otherwise."""
    batch_index = pb_utils.get_output_tensor_by_name(response, "batch_index")
    return 0 if batch_index is None else int(batch_index.as_numpy().reshape(-1)[0])


def _gone(senders):
    """Which of the clients went away, asked one after the other (runs on the executor)."""
    return [sender.is_cancelled() for sender in senders]


def _read_to_end(responses):
    """Reads an engine response iterator until it is finished. next(), not a for loop: iterating a
    finished iterator starts over from its first response (pb_response_iterator.cc:104-115)."""
    while next(responses, None) is not None:
        pass


class _Flight:
    """One client request while this model serves it."""

    def __init__(self, sender):
        self.sender = sender
        # Set by the watch when the client went away.
        self.cancelled = False
        # Engine slots (request rows) this request holds.
        self.rows = 0
        # Resolved by the slots (True: the rows are this request's) or by the watch (False).
        self.turn = None
        # The engine's response iterator, once the engine request is sent; and whether it is finished.
        self.responses = None
        self.engine_done = False
        # Rows that got some text in a stream.
        self.sent_rows = set()


class _EngineSlots:
    """The rows the engine works on at once, handed out first come first served."""

    def __init__(self, capacity):
        self._free = capacity
        self._waiting = collections.deque()

    def take(self, flight, rows):
        """True when the rows are the flight's now; otherwise `flight.turn` resolves later."""
        if not self._waiting and self._free >= rows:
            self._free -= rows
            flight.rows = rows
            return True
        flight.turn = asyncio.get_running_loop().create_future()
        self._waiting.append((flight, rows))
        return False

    def give_back(self, rows):
        self._free += rows
        while self._waiting and self._free >= self._waiting[0][1]:
            flight, rows = self._waiting.popleft()
            if flight.turn.done():
                continue
            self._free -= rows
            flight.rows = rows
            flight.turn.set_result(True)


class TritonPythonModel:
    def initialize(self, args):
        model_config = json.loads(args["model_config"])
        tokenizer_dir = _parameter(model_config, "tokenizer_dir")
        if tokenizer_dir is None:
            raise pb_utils.TritonModelException("tensorrt_llm_bls: parameter tokenizer_dir is not set")
        engine_inputs = _parameter(model_config, "engine_inputs")
        if engine_inputs is None:
            raise pb_utils.TritonModelException("tensorrt_llm_bls: parameter engine_inputs is not set")
        default_max_tokens = _parameter(model_config, "default_max_tokens")
        self.default_max_tokens = None if default_max_tokens is None else int(default_max_tokens)
        max_batch_size = int(model_config.get("max_batch_size", 0))
        if max_batch_size < 1:
            raise pb_utils.TritonModelException("tensorrt_llm_bls: max_batch_size must be the engine's (at least 1)")
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        skip = _parameter(model_config, "skip_special_tokens")
        self.decode = make_decode(self.tokenizer, skip is None or skip.strip().lower() in ("true", "1", "yes"))
        self.engine_inputs = json.loads(engine_inputs)
        self.inputs = sorted(entry["name"] for entry in model_config["input"])
        self.text_dtype = pb_utils.triton_string_to_numpy(
            pb_utils.get_output_config_by_name(model_config, "text_output")["data_type"]
        )
        self.slots = _EngineSlots(max_batch_size)
        self.executor = ThreadPoolExecutor(max_workers=2 * max_batch_size + 1, thread_name_prefix="tensorrt_llm_bls")
        self.flights = set()
        self.watch = None
        # The flights the watch is asking about right now, and the future that resolves when it is done.
        self.asking = set()
        self.asked = None

    def finalize(self):
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def execute(self, requests):
        await asyncio.gather(*(self._serve(request) for request in requests))
        return None

    async def _off_loop(self, call, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, call, *args)

    def _text_response(self, text, row):
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("text_output", np.array([[text.encode("utf-8")]], dtype=self.text_dtype)),
                pb_utils.Tensor("batch_index", np.array([[row]], dtype=np.int32)),
            ]
        )

    async def _serve(self, request):
        flight = _Flight(request.get_response_sender())
        self.flights.add(flight)
        if self.watch is None or self.watch.done():
            self.watch = asyncio.ensure_future(self._watch())
        try:
            try:
                answers = await self._generate(request, flight)
            except Exception as error:  # noqa: BLE001 - every failure must reach the client as a response
                message = str(error) if isinstance(error, RequestError) else f"tensorrt_llm_bls: {error}"
                answers = [pb_utils.InferenceResponse(error=pb_utils.TritonError(message))]
                if flight.responses is not None and not flight.engine_done:
                    # The engine would otherwise go on generating for a request nobody reads.
                    await self._off_loop(flight.responses.cancel)
            await self._answer(flight, answers)
        finally:
            await self._wind_down(flight)

    async def _answer(self, flight, answers):
        """Sends the last responses, the final flag on the last one."""
        self.flights.discard(flight)
        if flight in self.asking:
            await asyncio.shield(self.asked)
        for response in answers[:-1]:
            await self._send(flight, response)
        await self._send(flight, answers[-1] if answers else None, pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)

    async def _send(self, flight, response, flags=0):
        # A request that never got engine rows holds no thread of the executor: the default one.
        executor = self.executor if flight.rows else None
        await asyncio.get_running_loop().run_in_executor(executor, flight.sender.send, response, flags)

    async def _wind_down(self, flight):
        """Reads the engine's answer to its end and hands the rows back."""
        if flight.turn is not None and not flight.turn.done():
            flight.turn.set_result(False)
        try:
            if flight.responses is not None and not flight.engine_done:
                await self._off_loop(_read_to_end, flight.responses)
        finally:
            if flight.rows:
                self.slots.give_back(flight.rows)
                flight.rows = 0

    async def _watch(self):
        loop = asyncio.get_running_loop()
        while self.flights:
            await asyncio.sleep(CANCEL_CHECK_SECONDS)
            flights = [flight for flight in self.flights if not flight.cancelled]
            if not flights:
                continue
            self.asking, self.asked = set(flights), loop.create_future()
            try:
                gone = await self._off_loop(_gone, [flight.sender for flight in flights])
            finally:
                self.asking = set()
                self.asked.set_result(None)
            for flight, went_away in zip(flights, gone):
                if went_away:
                    await self._cancel(flight)

    async def _cancel(self, flight):
        flight.cancelled = True
        if flight.turn is not None and not flight.turn.done():
            flight.turn.set_result(False)
        if flight.responses is not None and not flight.engine_done:
            await self._off_loop(flight.responses.cancel)

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
        if pb_utils.get_input_tensor_by_name(request, "max_tokens") is None:
            # Only where max_tokens is optional, and default_max_tokens then set (module docstring).
            rows = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy().shape[0]
            inputs.append(pb_utils.Tensor("max_tokens", np.full((rows, 1), self.default_max_tokens, dtype=np.int32)))
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

    def _engine_request(self, request, tokens, stops):
        batch = tokens["input_ids"].shape[0]
        inputs = [pb_utils.Tensor(target, tokens[source]) for source, target in ENGINE_FROM_PREPROCESSING.items()]
        stop_words_list = word_list([stop.phrases for stop in stops], self.tokenizer).astype(np.int32)
        inputs.append(pb_utils.Tensor("stop_words_list", stop_words_list))
        for request_name, engine_name in self.engine_inputs.items():
            tensor = pb_utils.get_input_tensor_by_name(request, request_name)
            if tensor is not None:
                inputs.append(pb_utils.Tensor(engine_name, tensor.as_numpy()))
        # Streamed whatever the client asked for, to be cancellable (see the module docstring).
        inputs.append(pb_utils.Tensor("streaming", np.full((batch, 1), True, dtype=np.bool_)))
        return pb_utils.InferenceRequest(
            model_name="tensorrt_llm", inputs=inputs, requested_output_names=list(ENGINE_OUTPUTS)
        )

    async def _take_rows(self, flight, rows):
        """Waits for the engine to have room for the request's rows; False when the client went away
        meanwhile."""
        if self.slots.take(flight, rows):
            return True
        return await flight.turn

    def _relay(self, flight, engine_request, answers, stream, held):
        """On the executor, one thread for the request: sends the engine request and hands each
        row's new text to the client as the engine answers (not streaming, adds it to `held`), until
        the engine's answer is complete, the client went away or every row ended at a stop string. A
        piece costs its arrival and its send, never a trip through the event loop."""
        flight.responses = engine_request.exec(True)
        if flight.cancelled:
            # The watch found the client gone before there was an iterator to cancel.
            flight.responses.cancel()
            return
        while True:
            response = next(flight.responses, None)
            if response is None:
                flight.engine_done = True
                return
            if flight.cancelled:
                return
            if response.has_error():
                raise RequestError(response.error().message())
            if len(response.output_tensors()) == 0:
                continue
            row = response_row(response)
            # Each response holds the new tokens only, sequence_length of them (model_instance_state.cc:
            # 950-990).
            length = int(pb_utils.get_output_tensor_by_name(response, "sequence_length").as_numpy().reshape(-1)[0])
            new_ids = pb_utils.get_output_tensor_by_name(response, "output_ids").as_numpy()[0, 0, :length]
            piece = answers[row].push(new_ids)
            if not stream:
                held[row] += piece
            elif piece != "":
                flight.sender.send(self._text_response(piece, row))
                flight.sent_rows.add(row)
            if all(other.stopped for other in answers):
                # Every row ended at a stop string: nothing more is read but the engine's end. The
                # backend cancels the request's engine work as a whole (WaitForCancel,
                # model_instance_state.cc:1375).
                flight.responses.cancel()
                return

    async def _generate(self, request, flight):
        """The request's last responses (without the final flag); none when the client went away."""
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
        if not await self._take_rows(flight, batch):
            return []
        held = [""] * batch
        await self._off_loop(self._relay, flight, self._engine_request(request, tokens, stops), answers, stream, held)
        if flight.cancelled:
            return []
        # Non-streamed: each row's whole answer. Streamed: whatever was held back at the end, and ""
        # for a row that has produced nothing, so that every row is answered.
        finals = [(row, held[row] + answer.finish()) for row, answer in enumerate(answers)]
        return [
            self._text_response(rest, row)
            for row, rest in finals
            if not stream or rest != "" or row not in flight.sent_rows
        ]

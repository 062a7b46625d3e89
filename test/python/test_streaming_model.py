"""The decoupled tensorrt_llm_bls model of a streaming stack, run against the real preprocessing model
and a stand-in for NVIDIA's engine written from the v0.18.2 backend (trtllm_engine.py): one row and
several, streamed and whole, real tokenizers from text in to text out, stop strings, errors and
cancellation."""

import asyncio
import threading
import time

import numpy as np
import pytest

import triton_python_backend_utils as pb_utils
from fake_transformers import FakeTokenizer
from recorded_tokenizer import NAMES, RecordedTokenizer
from support import load_model, outputs, request, strings
from trtllm_engine import StandInEngine

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
# Stop strings of the fixtures that no token sequence holds: only the text does.
INSIDE_A_WORD = (["ere"], ["ery"])


def serve(configs, tokenizer, engine, parameters=None, **inputs):
    preprocessing, _ = load_model("preprocessing", tokenizer, configs["preprocessing"])
    bls, _ = load_model("tensorrt_llm_bls", tokenizer, configs["tensorrt_llm_bls"])

    def preprocess(pre_request, decoupled):
        assert not decoupled, "preprocessing is not decoupled"
        return preprocessing.execute([pre_request])[0]

    pb_utils.BLS_MODELS.clear()
    pb_utils.BLS_MODELS["preprocessing"] = preprocess
    pb_utils.BLS_MODELS["tensorrt_llm"] = engine
    client = pb_utils.InferenceRequest(
        inputs=[pb_utils.Tensor(name, value) for name, value in inputs.items()], parameters=parameters
    )
    return client, bls


@pytest.fixture(autouse=True)
def fresh_backend():
    pb_utils.RESPONSE_ITERATORS.clear()
    pb_utils.BLOCKED_EVENT_LOOP.clear()


def run_all(clients, bls, cancel_after=None, execute=None):
    """Serves the clients in one execute call (or as the coroutine `execute()` does); checks what
    must hold for any request: one final flag, on the last response; no call that blocks its thread
    made on the event loop; every engine response iterator read to its end (none left in the stub's
    map)."""
    if cancel_after is not None:
        for client in clients:
            client.get_response_sender().cancelled_after = cancel_after
    try:
        assert asyncio.run(execute() if execute else bls.execute(clients)) is None
    finally:
        bls.finalize()
    pb_utils.settle()
    for client in clients:
        sent = client.get_response_sender().sent
        assert [flags for _, flags in sent] == [0] * (len(sent) - 1) + [FINAL], "one final flag, on the last response"
    assert pb_utils.BLOCKED_EVENT_LOOP == []
    assert pb_utils.RESPONSE_ITERATORS == {}, "an engine response iterator was left unfinished"
    return [client.get_response_sender().sent for client in clients]


def run(client, bls, cancel_after=None):
    [sent] = run_all([client], bls, cancel_after)
    return sent


def texts_by_row(sent):
    rows = {}
    for response, _ in sent:
        if response is None:
            continue
        out = outputs(response)
        assert out["text_output"].shape == (1, 1) and out["batch_index"].shape == (1, 1)
        rows.setdefault(int(out["batch_index"][0, 0]), []).append(out["text_output"][0, 0].decode("utf-8"))
    return rows


def whole_text(configs, tokenizer, prompt, ids):
    """What postprocessing makes of the same tokens after the same prompt."""
    postprocessing, _ = load_model("postprocessing", tokenizer, configs["postprocessing"])
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=True)
    [response] = postprocessing.execute(
        [
            request(
                output_ids=np.array([[ids]], np.int32),
                sequence_length=np.array([[len(ids)]], np.int32),
                input_ids=np.array([prompt_ids], np.int32),
                input_lengths=np.array([[len(prompt_ids)]], np.int32),
            )
        ]
    )
    return outputs(response)["text_output"][0, 0].decode("utf-8")


def ask(*prompts, stream, max_tokens=64, end_id=None, **extra):
    """A request of one row per prompt; `end_id` for a tokenizer other than Falcon's (end id 11,
    the stack's default)."""
    rows = len(prompts)
    if end_id is not None:
        extra["end_id"] = np.full((rows, 1), end_id, np.int32)
    return dict(
        text_input=strings(*[[prompt] for prompt in prompts]),
        max_tokens=np.full((rows, 1), max_tokens, np.int32),
        stream=np.full((rows, 1), stream, np.bool_),
        **extra,
    )


def conversation(tokenizer, *prompts, stream, **extra):
    """A request of the fixture's prompts ("prompt", "stop_prompt"), ended by the tokenizer's eos."""
    texts = [tokenizer.data[prompt] for prompt in prompts]
    return ask(*texts, stream=stream, end_id=tokenizer.eos_token_id, **extra)


def completion_cases():
    for name in NAMES:
        for completion in RecordedTokenizer(name).data["completions"]:
            yield pytest.param(name, completion, id=f"{name}:{completion['completion'][:12]}")


@pytest.mark.parametrize("step", [1, 3])
@pytest.mark.parametrize("name,completion", completion_cases())
def test_one_prompt_streams_pieces_that_add_up_to_the_whole_text_byte_for_byte(rendered, name, completion, step):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer(name)
    engine = StandInEngine(configs["tensorrt_llm"], [completion["ids"]], step=step)
    sent = run(*serve(configs, tokenizer, engine, **conversation(tokenizer, "prompt", stream=True)))
    pieces = texts_by_row(sent)[0]
    assert "".join(pieces) == completion["completion"]
    whole = whole_text(configs, tokenizer, tokenizer.data["prompt"], completion["ids"])
    assert "".join(pieces).encode("utf-8") == whole.encode("utf-8")
    assert all("\ufffd" not in piece and piece != "" for piece in pieces)
    assert len(pieces) > 1, "the text arrives in several pieces"
    assert engine.calls[0]["streaming"].tolist() == [[True]]


@pytest.mark.parametrize("name", NAMES)
def test_one_prompt_without_stream_gets_one_final_response_with_the_whole_text(rendered, name):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer(name)
    completion = tokenizer.data["completions"][5]
    assert completion["completion"] == " a , b ."
    engine = StandInEngine(configs["tensorrt_llm"], [completion["ids"]])
    sent = run(*serve(configs, tokenizer, engine, **conversation(tokenizer, "prompt", stream=False)))
    assert len(sent) == 1
    assert texts_by_row(sent) == {0: [" a , b ."]}
    # The engine streams all the same, so that the request can be cancelled while it generates.
    assert engine.calls[0]["streaming"].tolist() == [[True]]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("name", NAMES)
def test_several_prompts_come_back_per_row_told_apart_by_batch_index(rendered, name, stream):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer(name)
    first, second = tokenizer.data["completions"][0], tokenizer.data["stop_cases"][2]
    engine = StandInEngine(configs["tensorrt_llm"], [first["ids"], second["ids"]])
    sent = run(
        *serve(configs, tokenizer, engine, **conversation(tokenizer, "prompt", "stop_prompt", stream=stream))
    )
    rows = texts_by_row(sent)
    assert {row: "".join(pieces) for row, pieces in rows.items()} == {
        0: first["completion"],
        1: second["completion"],
    }
    if not stream:
        assert len(sent) == 2


def stop_cases():
    for name in NAMES:
        for case in RecordedTokenizer(name).data["stop_cases"]:
            label = "|".join(case["stop"]) + ("+include" if case["include"] else "")
            yield pytest.param(name, case, id=f"{name}:{label!r}")


@pytest.mark.parametrize("step", [1, 2])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("name,case", stop_cases())
def test_a_stop_string_in_context_ends_the_answer_by_text(rendered, name, case, stream, step):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer(name)
    engine = StandInEngine(configs["tensorrt_llm"], [case["ids"]], step=step)
    extra = dict(
        stop_words=strings(case["stop"]),
        include_stop_str_in_output=np.array([[case["include"]]], np.bool_),
    )
    sent = run(*serve(configs, tokenizer, engine, **conversation(tokenizer, "stop_prompt", stream=stream, **extra)))
    pieces = texts_by_row(sent)[0]
    assert "".join(pieces) == case["answer"]
    if case["stop"] in INSIDE_A_WORD:
        # Inside a word no token sequence matches: the engine would go on to the end id, so the
        # model cancels it, streamed or not.
        assert engine.generated[0] == case["ids"][:-1]
        assert engine.requests[0].cancelled
    else:
        # The engine stopped on one of the token sequences sent for the phrase, well before the end.
        assert len(engine.generated[0]) < len(case["ids"]) - 1


@pytest.mark.parametrize("name", NAMES)
def test_each_row_ends_at_its_own_stop_string_and_the_engine_is_cancelled_when_all_have(rendered, name):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer(name)
    here = next(case for case in tokenizer.data["stop_cases"] if case["stop"] == ["ere"])
    falcon = next(case for case in tokenizer.data["stop_cases"] if case["stop"] == ["Falcon"])

    engine = StandInEngine(configs["tensorrt_llm"], [here["ids"], falcon["ids"]])
    both = conversation(tokenizer, "stop_prompt", "stop_prompt", stream=True, stop_words=strings(["ere"], ["ery"]))
    rows = texts_by_row(run(*serve(configs, tokenizer, engine, **both)))
    assert {row: "".join(pieces) for row, pieces in rows.items()} == {0: " The answer is h", 1: " I like the Falcon v"}
    assert engine.requests[0].cancelled

    engine = StandInEngine(configs["tensorrt_llm"], [here["ids"], falcon["ids"]])
    one = conversation(tokenizer, "stop_prompt", "stop_prompt", stream=True, stop_words=strings(["ere"], [""]))
    rows = texts_by_row(run(*serve(configs, tokenizer, engine, **one)))
    assert {row: "".join(pieces) for row, pieces in rows.items()} == {0: " The answer is h", 1: falcon["completion"]}
    assert not engine.requests[0].cancelled, "a row without a stop string runs to its end"


def test_the_renamed_knobs_reach_the_engine_under_the_names_its_backend_reads(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11]])
    extra = dict(
        min_length=np.array([[3]], np.int32),
        random_seed=np.array([[42]], np.uint64),
        top_k=np.array([[5]], np.int32),
        temperature=np.array([[0.5]], np.float32),
        stop_words=strings(["User:"]),
    )
    sent = run(*serve(configs, tokenizer, engine, **ask("What is the capital of France?", stream=True, **extra)))
    # Decoded behind the prompt, the fake word-level tokenizer puts a space before the word.
    assert "".join(texts_by_row(sent)[0]) == " Paris"
    inputs = engine.calls[0]
    assert inputs["min_length"].tolist() == [[3]] and inputs["random_seed"].tolist() == [[42]]
    assert inputs["runtime_top_k"].tolist() == [[5]] and "top_k" not in inputs
    assert inputs["streaming"].tolist() == [[True]]
    assert inputs["stop_words_list"][0, 0, :2].tolist() == [112, 113]
    np.testing.assert_array_equal(inputs["end_id"], [[11]])


def test_a_field_the_model_does_not_read_is_refused_not_ignored(rendered):
    configs = rendered["streaming"]
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11]])
    unread = {"min_tokens": 3, "seed": 1}
    client, bls = serve(configs, FakeTokenizer(), engine, parameters=unread, **ask("Hi", stream=True))
    [(response, _)] = run(client, bls)
    message = response.error().message()
    assert "min_tokens, seed" in message and "min_length" in message and "random_seed" in message
    assert engine.calls == []


def test_a_value_sent_as_a_parameter_is_refused_but_triton_reserved_ones_pass(rendered):
    configs = rendered["streaming"]
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11]])
    client, bls = serve(configs, FakeTokenizer(), engine, parameters={"temperature": 0}, **ask("Hi", stream=True))
    [(response, _)] = run(client, bls)
    assert "temperature" in response.error().message()

    reserved = {"triton_enable_empty_final_response": True, "priority": 1, "timeout": 5}
    client, bls = serve(configs, FakeTokenizer(), engine, parameters=reserved, **ask("Hi", stream=True))
    assert "".join(texts_by_row(run(client, bls))[0]) == " Paris"


def test_a_request_preprocessing_refuses_gets_its_message_as_the_final_response(rendered):
    configs = rendered["streaming"]
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11]])
    client, bls = serve(configs, FakeTokenizer(), engine, **ask("Hi", stream=True, max_tokens=0))
    [(response, _)] = run(client, bls)
    assert "max_tokens must be at least 1" in response.error().message()
    assert engine.calls == []


def test_an_engine_error_mid_stream_ends_the_stream_with_the_engine_message(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [tokenizer.encode("What is the capital", False)], fail_after=2)
    sent = run(*serve(configs, tokenizer, engine, **ask("Hi", stream=True)))
    assert [outputs(response)["text_output"][0, 0] for response, _ in sent[:-1]] == [b" What", b" is"]
    last, _ = sent[-1]
    assert "Executor failed process requestId" in last.error().message()
    assert "out of KV cache blocks" in last.error().message()


class HeldEngine:
    """A StandInEngine still generating: each engine request's responses after its first `free` wait
    until `release()` or until the request is cancelled. `on_hold(request)` runs when a request
    first waits. Counts the engine requests, and their rows, open at once."""

    def __init__(self, engine, free=1, on_hold=None):
        self.engine = engine
        self.requests = engine.requests
        self.free = free
        self.on_hold = on_hold
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.open_rows = []
        self.most_open = 0
        self.most_rows = 0

    def release(self):
        self.released.set()

    def __call__(self, request, decoupled):
        rows = pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy().shape[0]
        with self.lock:
            self.open_rows.append(rows)
            self.most_open = max(self.most_open, len(self.open_rows))
            self.most_rows = max(self.most_rows, sum(self.open_rows))
        return self._held(request, rows, self.engine(request, decoupled))

    def _held(self, request, rows, responses):
        for index, (response, flags) in enumerate(responses):
            if index == self.free and self.on_hold is not None:
                self.on_hold(request)
            deadline = time.monotonic() + 10
            while index >= self.free and not (self.released.is_set() or request.cancelled):
                assert time.monotonic() < deadline, "the engine request was neither released nor cancelled"
                time.sleep(0.002)
            if flags & FINAL:
                with self.lock:
                    self.open_rows.remove(rows)
            yield response, flags


def until(condition):
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_a_client_that_goes_away_mid_stream_cancels_the_engine_request_and_gets_the_final_flag(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    engine = HeldEngine(StandInEngine(configs["tensorrt_llm"], [tokenizer.encode("What is the capital of France", False)]))
    sent = run(*serve(configs, tokenizer, engine, **ask("Hi", stream=True)), cancel_after=1)
    assert len(sent) == 2 and sent[1] == (None, FINAL)
    assert outputs(sent[0][0])["text_output"].tolist() == [[b" What"]]
    assert engine.requests[0].cancelled


def test_a_client_that_goes_away_while_a_whole_answer_is_generated_cancels_it(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    completion = tokenizer.encode("What is the capital of France", False)

    def client_goes_away(_):
        client.get_response_sender().cancel()

    stand_in = StandInEngine(configs["tensorrt_llm"], [completion])
    engine = HeldEngine(stand_in, on_hold=client_goes_away)
    client, bls = serve(configs, tokenizer, engine, **ask("Hi", stream=False))
    started = time.monotonic()
    sent = run(client, bls)
    assert sent == [(None, FINAL)], "the client is gone: only the final flag"
    assert engine.requests[0].cancelled
    assert time.monotonic() - started < 2, "noticed at the watch's next check, not at the engine's end"


def test_rows_beyond_the_engine_s_max_batch_size_wait_their_turn_and_all_complete(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    completion = tokenizer.encode("What is the capital of France", False)
    engine = HeldEngine(StandInEngine(configs["tensorrt_llm"], [completion, completion]), free=100)
    bls_config = dict(configs["tensorrt_llm_bls"], max_batch_size=2)
    preprocessing, _ = load_model("preprocessing", tokenizer, configs["preprocessing"])
    bls, _ = load_model("tensorrt_llm_bls", tokenizer, bls_config)
    pb_utils.BLS_MODELS.clear()
    pb_utils.BLS_MODELS["preprocessing"] = lambda request, decoupled: preprocessing.execute([request])[0]
    pb_utils.BLS_MODELS["tensorrt_llm"] = engine
    shapes = [("Hi", "Hello"), ("Hi",), ("Hi",), ("Hello",), ("Hi", "Hello")]
    clients = [
        pb_utils.InferenceRequest(inputs=[pb_utils.Tensor(n, v) for n, v in ask(*prompts, stream=True).items()])
        for prompts in shapes
    ]
    for prompts, sent in zip(shapes, run_all(clients, bls)):
        rows = texts_by_row(sent)
        assert {row: "".join(pieces) for row, pieces in rows.items()} == {
            row: " What is the capital of France" for row in range(len(prompts))
        }
    assert len(engine.requests) == len(shapes)
    assert engine.most_rows == 2, "never more rows in the engine than its max batch size"


def test_a_request_waiting_for_engine_rows_whose_client_goes_away_never_reaches_the_engine(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    completion = tokenizer.encode("What is the capital of France", False)
    first, second = (
        pb_utils.InferenceRequest(inputs=[pb_utils.Tensor(n, v) for n, v in ask("Hi", stream=True).items()])
        for _ in range(2)
    )

    def hold_until_the_second_is_answered(_):
        until(lambda: second.get_response_sender().sent)
        engine.release()

    engine = HeldEngine(StandInEngine(configs["tensorrt_llm"], [completion]), on_hold=hold_until_the_second_is_answered)
    preprocessing, _ = load_model("preprocessing", tokenizer, configs["preprocessing"])
    bls, _ = load_model("tensorrt_llm_bls", tokenizer, dict(configs["tensorrt_llm_bls"], max_batch_size=1))
    pb_utils.BLS_MODELS.clear()
    pb_utils.BLS_MODELS["preprocessing"] = lambda request, decoupled: preprocessing.execute([request])[0]
    pb_utils.BLS_MODELS["tensorrt_llm"] = engine
    second.get_response_sender().cancelled_after = 0

    async def second_once_the_first_is_in_the_engine():
        serving_first = asyncio.ensure_future(bls.execute([first]))
        while not engine.requests:
            await asyncio.sleep(0.002)
        await bls.execute([second])
        return await serving_first

    answered_first, answered_second = run_all([first, second], bls, execute=second_once_the_first_is_in_the_engine)
    assert answered_second == [(None, FINAL)]
    assert "".join(texts_by_row(answered_first)[0]) == " What is the capital of France"
    assert len(engine.requests) == 1, "the second request never reached the engine"


@pytest.mark.parametrize("stream", [True, False])
def test_a_row_that_produces_no_text_still_gets_one_empty_text_output(rendered, stream):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    words = tokenizer.encode("Paris", False)
    engine = StandInEngine(configs["tensorrt_llm"], [[tokenizer.eos_token_id], words + [tokenizer.eos_token_id]])
    sent = run(*serve(configs, tokenizer, engine, **ask("Hi", "Hello", stream=stream)))
    assert texts_by_row(sent) == {0: [""], 1: [" Paris"]}

    engine = StandInEngine(configs["tensorrt_llm"], [tokenizer.encode("What is the capital", False)])
    sent = run(*serve(configs, tokenizer, engine, **ask("Hi", stream=stream, stop_words=strings([" What"]))))
    assert texts_by_row(sent) == {0: [""]}, "the answer began with the stop string"
    assert len(sent) == 1


def test_triton_s_own_id_field_is_accepted(rendered):
    configs = rendered["streaming"]
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11]])
    client, bls = serve(configs, FakeTokenizer(), engine, parameters={"id": "request-7"}, **ask("Hi", stream=True))
    assert "".join(texts_by_row(run(client, bls))[0]) == " Paris"


def test_streams_served_together_on_the_stub_s_loop_with_the_backend_s_threads(rendered):
    """Under the stand-in's threads for the parent's side of each call and the stub's own event
    loop thread, as the serving benchmark runs: every stream complete, one cancelled on the way."""
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    completion = tokenizer.encode("What is the capital of France", False)
    hello = tokenizer.encode("Hello", False)

    def others_wait_for_the_cancelled_one(request):
        if pb_utils.get_input_tensor_by_name(request, "input_ids").as_numpy()[0].tolist() != hello:
            until(lambda: clients[0].get_response_sender().sent[-1:] == [(None, FINAL)])
            engine.release()

    engine = HeldEngine(StandInEngine(configs["tensorrt_llm"], [completion]), on_hold=others_wait_for_the_cancelled_one)
    clients = [serve(configs, tokenizer, engine, **ask(prompt, stream=True))[0] for prompt in ["Hello"] + ["Hi"] * 5]
    _, bls = serve(configs, tokenizer, engine)
    clients[0].get_response_sender().cancelled_after = 0
    pb_utils.use_process_model()
    stub = pb_utils.StubLoop()
    try:
        for future in [stub.execute(bls, [client]) for client in clients]:
            future.result(timeout=10)
    finally:
        bls.finalize()
        stub.close()
        pb_utils.settle()
        pb_utils.use_calling_thread()
    assert "".join(texts_by_row(clients[0].get_response_sender().sent).get(0, [])) in ("", " What")
    for client in clients[1:]:
        sent = client.get_response_sender().sent
        assert "".join(texts_by_row(sent)[0]) == " What is the capital of France"
        assert [flags for _, flags in sent][-1] == FINAL
    assert pb_utils.BLOCKED_EVENT_LOOP == []
    assert pb_utils.RESPONSE_ITERATORS == {}


def test_a_failure_of_the_model_itself_cancels_the_engine_request_and_reports_it(rendered):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer("llama3_1")
    launch = tokenizer.data["completions"][0]["ids"]
    # The bad token is not the last: cancelling an iterator that has handed out its final response
    # does nothing (pb_response_iterator.cc:163-169, python_backend r25.04).
    engine = StandInEngine(configs["tensorrt_llm"], [[launch[0], 999999, *launch[1:3]]])
    sent = run(*serve(configs, tokenizer, engine, **conversation(tokenizer, "prompt", stream=True)))
    assert outputs(sent[0][0])["text_output"].tolist() == [[b" Launch"]]
    last, _ = sent[-1]
    assert last.error().message().startswith("tensorrt_llm_bls: ") and "999999" in last.error().message()
    assert engine.requests[0].cancelled

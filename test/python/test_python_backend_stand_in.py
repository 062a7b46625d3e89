"""The python_backend stand-in (triton_python_backend_utils.py) does what its docstring says
python_backend r25.04 does, so the tensorrt_llm_bls tests and the serving benchmark run against
something that means it: a decoupled BLS call and its response iterator, the stub's map of
iterators, the response sender, and which calls block their thread."""

import asyncio
import threading

import numpy as np
import pytest

import triton_python_backend_utils as pb_utils

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


@pytest.fixture(autouse=True)
def fresh_backend():
    pb_utils.RESPONSE_ITERATORS.clear()
    pb_utils.BLOCKED_EVENT_LOOP.clear()
    pb_utils.BLS_MODELS.clear()
    yield
    pb_utils.use_calling_thread()


def response(name):
    return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(name, np.zeros(1))])


def names(responses):
    return [r.output_tensors()[0].name() if r.output_tensors() else None for r in responses]


def test_a_decoupled_call_hands_out_each_response_then_stops_and_leaves_the_stub_s_map():
    pb_utils.BLS_MODELS["engine"] = lambda request, decoupled: [(response("a"), 0), (None, FINAL)]
    responses = pb_utils.InferenceRequest(model_name="engine").exec(decoupled=True)
    assert len(pb_utils.RESPONSE_ITERATORS) == 1
    first, last = next(responses), next(responses)
    assert names([first, last]) == ["a", None], "a final flag without a response arrives as an empty one"
    assert pb_utils.RESPONSE_ITERATORS == {}
    assert next(responses, None) is None
    assert names(list(responses)) == ["a", None], "iterating a finished iterator starts over"


def test_an_iterator_not_read_to_its_final_response_stays_in_the_stub_s_map():
    pb_utils.BLS_MODELS["engine"] = lambda request, decoupled: [(response("a"), 0), (response("b"), FINAL)]
    responses = pb_utils.InferenceRequest(model_name="engine").exec(decoupled=True)
    next(responses)
    del responses
    assert len(pb_utils.RESPONSE_ITERATORS) == 1


def test_cancel_reaches_the_called_model_unless_the_iterator_is_finished():
    pb_utils.BLS_MODELS["engine"] = lambda request, decoupled: [(response("a"), 0), (response("b"), FINAL)]
    request = pb_utils.InferenceRequest(model_name="engine")
    responses = request.exec(decoupled=True)
    responses.cancel()
    assert request.cancelled
    finished_request = pb_utils.InferenceRequest(model_name="engine")
    finished = finished_request.exec(decoupled=True)
    next(finished), next(finished)
    finished.cancel()
    assert not finished_request.cancelled


def test_exec_returns_with_the_first_response_and_next_waits_for_a_delivery():
    pb_utils.use_process_model()
    pb_utils.BLS_MODELS["engine"] = lambda request, decoupled: None
    request = pb_utils.InferenceRequest(model_name="engine")
    returned = threading.Event()

    def call():
        call.responses = request.exec(decoupled=True)
        returned.set()

    caller = threading.Thread(target=call)
    caller.start()
    assert not returned.wait(0.05), "exec waits for the first response"
    assert request.response_iterator is not None
    request.deliver(response("a"))
    assert returned.wait(5)
    caller.join()
    assert names([next(call.responses)]) == ["a"]
    got = []
    reader = threading.Thread(target=lambda: got.append(next(call.responses)))
    reader.start()
    reader.join(0.05)
    assert reader.is_alive(), "next waits for the next response"
    request.deliver(response("b"), FINAL)
    reader.join(5)
    assert names(got) == ["b"]
    pb_utils.settle()
    assert pb_utils.RESPONSE_ITERATORS == {}


def test_the_sender_refuses_what_the_backend_refuses_and_is_not_asked_after_the_final_flag():
    sender = pb_utils.InferenceRequest().get_response_sender()
    with pytest.raises(pb_utils.TritonModelException, match="must be provided"):
        sender.send(None, 0)
    with pytest.raises(pb_utils.TritonModelException, match="Unsupported flag"):
        sender.send(response("a"), 2)
    assert not sender.is_cancelled()
    sender.cancel()
    assert sender.is_cancelled()
    sender.send(None, FINAL)
    with pytest.raises(pb_utils.TritonModelException, match="closed"):
        sender.send(response("a"))
    fresh = pb_utils.InferenceRequest().get_response_sender()
    fresh.send(None, FINAL)
    with pytest.raises(pb_utils.TritonModelException, match="deleted response factory"):
        fresh.is_cancelled()


def test_async_exec_runs_the_call_in_the_default_executor_and_blocking_calls_on_the_loop_are_recorded():
    pb_utils.BLS_MODELS["model"] = lambda request, decoupled: threading.current_thread().name

    async def on_the_loop():
        in_executor = await pb_utils.InferenceRequest(model_name="model").async_exec()
        on_loop = pb_utils.InferenceRequest(model_name="model").exec()
        return in_executor, on_loop

    in_executor, on_loop = asyncio.run(on_the_loop())
    assert in_executor != on_loop == threading.current_thread().name
    assert pb_utils.BLOCKED_EVENT_LOOP == ["InferenceRequest.exec"]

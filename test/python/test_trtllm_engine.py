"""The stand-in engine answers as its docstring says the v0.18.2 backend does, so the models' tests
against it mean something: which tensors a response carries for one row and for several, streamed
and whole, where Triton's final flag goes, and the backend's own refusals."""

import numpy as np

import triton_python_backend_utils as pb_utils
from trtllm_engine import StandInEngine

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
REQUESTED = ["output_ids", "sequence_length", "batch_index"]


def engine_inputs(rows, streaming=None, end_id=2, max_tokens=8, stop_words=None):
    batch = len(rows)
    width = max(len(row) for row in rows)
    inputs = {
        "input_ids": np.array([row + [0] * (width - len(row)) for row in rows], np.int32),
        "input_lengths": np.array([[len(row)] for row in rows], np.int32),
        "request_output_len": np.full((batch, 1), max_tokens, np.int32),
        "end_id": np.full((batch, 1), end_id, np.int32),
        "pad_id": np.full((batch, 1), end_id, np.int32),
    }
    if streaming is not None:
        inputs["streaming"] = np.full((batch, 1), streaming, np.bool_)
    if stop_words is not None:
        inputs["stop_words_list"] = np.array(stop_words, np.int32)
    return inputs


def answered(engine, inputs, requested=REQUESTED):
    return [
        ({tensor.name(): tensor.as_numpy().tolist() for tensor in response.output_tensors()}, flags)
        if not response.has_error()
        else (response.error().message(), flags)
        for response, flags in engine.respond(inputs, requested)
    ]


def test_one_row_streamed_carries_no_batch_index_and_the_final_flag_comes_with_the_last_tokens(rendered):
    engine = StandInEngine(rendered["streaming"]["tensorrt_llm"], [[7, 8, 9]])
    assert answered(engine, engine_inputs([[1, 2]], streaming=True, max_tokens=3)) == [
        ({"output_ids": [[[7]]], "sequence_length": [[1]]}, 0),
        ({"output_ids": [[[8]]], "sequence_length": [[1]]}, 0),
        ({"output_ids": [[[9]]], "sequence_length": [[1]]}, FINAL),
    ]


def test_the_end_id_is_left_out_and_its_step_ends_the_stream_with_no_token(rendered):
    engine = StandInEngine(rendered["streaming"]["tensorrt_llm"], [[7, 2, 5]])
    assert answered(engine, engine_inputs([[1]], streaming=True)) == [
        ({"output_ids": [[[7]]], "sequence_length": [[1]]}, 0),
        ({"output_ids": [[[]]], "sequence_length": [[0]]}, FINAL),
    ]
    assert answered(engine, engine_inputs([[1]], streaming=False)) == [
        ({"output_ids": [[[7]]], "sequence_length": [[1]]}, FINAL)
    ]


def test_several_rows_each_carry_their_batch_index_and_only_the_last_response_is_final(rendered):
    engine = StandInEngine(rendered["streaming"]["tensorrt_llm"], [[7, 2], [8, 9, 2]])
    whole = answered(engine, engine_inputs([[1], [1, 1]], streaming=False))
    assert whole == [
        ({"output_ids": [[[7]]], "sequence_length": [[1]], "batch_index": [[0]]}, 0),
        ({"output_ids": [[[8, 9]]], "sequence_length": [[2]], "batch_index": [[1]]}, FINAL),
    ]
    streamed = answered(engine, engine_inputs([[1], [1, 1]], streaming=True))
    assert [(out["batch_index"], out["output_ids"], flags) for out, flags in streamed] == [
        ([[0]], [[[7]]], 0),
        ([[1]], [[[8]]], 0),
        ([[0]], [[[]]], 0),
        ([[1]], [[[9]]], 0),
        ([[1]], [[[]]], FINAL),
    ]


def test_a_stop_word_ends_generation_after_its_tokens(rendered):
    engine = StandInEngine(rendered["streaming"]["tensorrt_llm"], [[7, 8, 9, 10]])
    stop = [[[8, 9, 4], [1, 3, -1]]]  # the sequences [8] and [9, 4]
    assert answered(engine, engine_inputs([[1]], streaming=False, stop_words=stop)) == [
        ({"output_ids": [[[7, 8]]], "sequence_length": [[2]]}, FINAL)
    ]


def test_without_decoupled_several_rows_or_streaming_fail_with_the_backend_message(rendered):
    engine = StandInEngine(rendered["falcon"]["tensorrt_llm"], [[7], [8]])
    [(message, flags)] = answered(engine, engine_inputs([[1], [1]]))
    assert flags == FINAL and "Batch size > 1 requires the tensorrt_llm backend to be using decoupled" in message
    [(message, flags)] = answered(engine, engine_inputs([[1]], streaming=True))
    assert flags == FINAL and "Streaming is only supported if model is deployed using decoupled mode" in message
    assert answered(engine, engine_inputs([[1]])) == [({"output_ids": [[[7]]], "sequence_length": [[1]]}, FINAL)]


def test_an_executor_error_ends_its_row_and_the_other_row_goes_on(rendered):
    engine = StandInEngine(rendered["streaming"]["tensorrt_llm"], [[7, 8, 2], [9, 2]], fail_after=1)
    sent = answered(engine, engine_inputs([[1], [1]], streaming=True))
    assert sent[0] == ({"output_ids": [[[7]]], "sequence_length": [[1]], "batch_index": [[0]]}, 0)
    assert sent[1][0].startswith("Executor failed process requestId 2") and sent[1][1] == 0
    assert sent[-1][1] == FINAL and all(isinstance(out, dict) for out, _ in sent[2:])


def test_a_cancelled_request_ends_every_unfinished_row(rendered):
    engine = StandInEngine(rendered["streaming"]["tensorrt_llm"], [[7, 8, 9, 2], [5, 6, 2]])
    cancelled = []
    responses = engine.respond(engine_inputs([[1], [1]], streaming=True), REQUESTED, lambda: bool(cancelled))
    first = next(responses)
    cancelled.append(True)
    rest = list(responses)
    assert first[1] == 0
    assert [(response.output_tensors()[0].as_numpy().shape, flags) for response, flags in rest] == [
        ((1, 1, 0), 0),
        ((1, 1, 0), FINAL),
    ]

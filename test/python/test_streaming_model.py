"""The decoupled tensorrt_llm_bls model of a streaming stack, run against the real preprocessing and
postprocessing models and a stand-in for NVIDIA's engine that answers the way the decoupled
tensorrtllm backend does (one response per row and step, with batch_index, then a final flag)."""

import asyncio

import numpy as np
import pytest

import triton_python_backend_utils as pb_utils
from fake_transformers import FakeTokenizer
from recorded_tokenizer import NAMES, RecordedTokenizer
from support import load_model, outputs, request, strings

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


class Engine:
    """Checks what it receives against the rendered tensorrt_llm config, then emits each row's
    `completions[row]` `step` tokens at a time (all at once unless streaming)."""

    def __init__(self, config, completions, step=1, fail_after=None):
        self.config = config
        self.completions = completions
        self.step = step
        self.fail_after = fail_after
        self.calls = []

    def __call__(self, engine_request, decoupled):
        assert decoupled, "the engine of a streaming stack is decoupled"
        declared = {entry["name"]: entry for entry in self.config["input"]}
        inputs = {tensor.name(): tensor.as_numpy() for tensor in engine_request.inputs()}
        for name, array in inputs.items():
            assert name in declared, f"{name} is not an input of tensorrt_llm"
            assert array.dtype == pb_utils.triton_string_to_numpy(declared[name]["data_type"]), name
        for entry in declared.values():
            assert entry.get("optional", False) or entry["name"] in inputs, entry["name"]
        assert set(engine_request.requested_output_names()) <= {entry["name"] for entry in self.config["output"]}
        self.calls.append((engine_request, inputs))
        return self._responses(bool(inputs["streaming"].all()))

    def _responses(self, streaming):
        step = self.step if streaming else max(len(ids) for ids in self.completions)
        sent = 0
        for start in range(0, max(len(ids) for ids in self.completions), step):
            for row, ids in enumerate(self.completions):
                chunk = ids[start : start + step]
                if not chunk:
                    continue
                if self.fail_after is not None and sent == self.fail_after:
                    yield pb_utils.InferenceResponse(error=pb_utils.TritonError("engine: out of KV cache blocks"))
                    return
                sent += 1
                yield pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("output_ids", np.array([[chunk]], np.int32)),
                        pb_utils.Tensor("sequence_length", np.array([[len(chunk)]], np.int32)),
                        pb_utils.Tensor("batch_index", np.array([[row]], np.int32)),
                    ]
                )
        yield pb_utils.InferenceResponse()


def serve(configs, tokenizer, engine, parameters=None, **inputs):
    preprocessing, _ = load_model("preprocessing", tokenizer, configs["preprocessing"])
    bls, _ = load_model("tensorrt_llm_bls", tokenizer, configs["tensorrt_llm_bls"])
    pb_utils.BLS_MODELS.clear()
    pb_utils.BLS_MODELS["preprocessing"] = lambda pre_request, decoupled: preprocessing.execute([pre_request])[0]
    pb_utils.BLS_MODELS["tensorrt_llm"] = engine
    client = pb_utils.InferenceRequest(
        inputs=[pb_utils.Tensor(name, value) for name, value in inputs.items()], parameters=parameters
    )
    return client, bls


def run(client, bls, cancel_after=None):
    client.get_response_sender().cancelled_after = cancel_after
    assert asyncio.run(bls.execute([client])) is None
    return client.get_response_sender().sent


def texts_by_row(sent):
    rows = {}
    for response, _ in sent:
        if response is None:
            continue
        out = outputs(response)
        assert out["text_output"].shape == (1, 1) and out["batch_index"].shape == (1, 1)
        rows.setdefault(int(out["batch_index"][0, 0]), []).append(out["text_output"][0, 0].decode("utf-8"))
    return rows


def whole_text(configs, tokenizer, ids):
    postprocessing, _ = load_model("postprocessing", tokenizer, configs["postprocessing"])
    [response] = postprocessing.execute(
        [request(output_ids=np.array([[ids]], np.int32), sequence_length=np.array([[len(ids)]], np.int32))]
    )
    return outputs(response)["text_output"][0, 0].decode("utf-8")


def cases():
    for name in NAMES:
        for completion in RecordedTokenizer(name).data["completions"]:
            yield pytest.param(name, completion, id=f"{name}:{completion['text'][:12]}")


def prompt(stream, **extra):
    return dict(
        text_input=strings(["Say something."]),
        max_tokens=np.array([[64]], np.int32),
        stream=np.array([[stream]], np.bool_),
        **extra,
    )


@pytest.mark.parametrize("name,completion", cases())
def test_the_stream_adds_up_to_the_non_streamed_text_byte_for_byte(rendered, name, completion):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer(name)
    engine = Engine(configs["tensorrt_llm"], [completion["ids"]])
    sent = run(*serve(configs, tokenizer, engine, **prompt(True)))
    pieces = texts_by_row(sent)[0]
    assert "".join(pieces).encode("utf-8") == whole_text(configs, tokenizer, completion["ids"]).encode("utf-8")
    assert "".join(pieces) == completion["text"]
    assert all("\ufffd" not in piece and piece != "" for piece in pieces)
    assert [flags for _, flags in sent[:-1]] == [0] * (len(sent) - 1) and sent[-1][1] == FINAL
    assert len(pieces) > 1, "the text arrives in several pieces"


def test_without_stream_each_row_gets_one_response_with_its_whole_text(rendered):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer("llama3_1")
    completion = tokenizer.data["completions"][0]
    engine = Engine(configs["tensorrt_llm"], [completion["ids"]])
    sent = run(*serve(configs, tokenizer, engine, **prompt(False)))
    assert len(sent) == 1 and sent[0][1] == FINAL
    assert texts_by_row(sent) == {0: [completion["text"]]}
    assert engine.calls[0][1]["streaming"].tolist() == [[False]]


def test_rows_of_one_request_are_told_apart_by_batch_index(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    paris, hello = tokenizer.encode("Paris", False), tokenizer.encode("Hello, world", False)
    engine = Engine(configs["tensorrt_llm"], [paris + [11], hello + [11]])
    client, bls = serve(
        configs,
        tokenizer,
        engine,
        text_input=strings(["What is the capital of France?"], ["Hi"]),
        max_tokens=np.array([[8], [8]], np.int32),
        stream=np.array([[True], [True]], np.bool_),
    )
    rows = texts_by_row(run(client, bls))
    assert {row: "".join(pieces) for row, pieces in rows.items()} == {0: "Paris", 1: "Hello, world"}


def test_the_renamed_knobs_reach_the_engine_under_the_names_its_backend_reads(rendered):
    configs = rendered["streaming"]
    engine = Engine(configs["tensorrt_llm"], [[107, 11]])
    extra = dict(
        min_length=np.array([[3]], np.int32),
        random_seed=np.array([[42]], np.uint64),
        top_k=np.array([[5]], np.int32),
        temperature=np.array([[0.5]], np.float32),
        stop_words=strings(["User:"]),
    )
    sent = run(*serve(configs, FakeTokenizer(), engine, **prompt(True, **extra)))
    assert "".join(texts_by_row(sent)[0]) == "Paris"
    inputs = engine.calls[0][1]
    assert inputs["min_length"].tolist() == [[3]] and inputs["random_seed"].tolist() == [[42]]
    assert inputs["runtime_top_k"].tolist() == [[5]] and "top_k" not in inputs
    assert inputs["streaming"].tolist() == [[True]]
    np.testing.assert_array_equal(inputs["stop_words_list"], [[[112, 113], [2, -1]]])
    np.testing.assert_array_equal(inputs["end_id"], [[11]])


def test_a_field_the_model_does_not_read_is_refused_not_ignored(rendered):
    configs = rendered["streaming"]
    engine = Engine(configs["tensorrt_llm"], [[107, 11]])
    client, bls = serve(configs, FakeTokenizer(), engine, parameters={"min_tokens": 3, "seed": 1}, **prompt(True))
    [(response, flags)] = run(client, bls)
    assert flags == FINAL and response.has_error()
    message = response.error().message()
    assert "min_tokens, seed" in message and "min_length" in message and "random_seed" in message
    assert engine.calls == []


def test_a_value_sent_as_a_parameter_is_refused_but_triton_reserved_ones_pass(rendered):
    configs = rendered["streaming"]
    engine = Engine(configs["tensorrt_llm"], [[107, 11]])
    client, bls = serve(configs, FakeTokenizer(), engine, parameters={"temperature": 0}, **prompt(True))
    [(response, _)] = run(client, bls)
    assert "temperature" in response.error().message()

    reserved = {"triton_enable_empty_final_response": True, "priority": 1, "timeout": 5}
    client, bls = serve(configs, FakeTokenizer(), engine, parameters=reserved, **prompt(True))
    assert "".join(texts_by_row(run(client, bls))[0]) == "Paris"


def test_a_request_preprocessing_refuses_gets_its_message_as_the_final_response(rendered):
    configs = rendered["streaming"]
    engine = Engine(configs["tensorrt_llm"], [[107, 11]])
    client, bls = serve(
        configs, FakeTokenizer(), engine, text_input=strings(["Hi"]), max_tokens=np.array([[0]], np.int32)
    )
    [(response, flags)] = run(client, bls)
    assert flags == FINAL and "max_tokens must be at least 1" in response.error().message()
    assert engine.calls == []


def test_an_engine_error_mid_stream_ends_the_stream_with_an_error_response(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    engine = Engine(configs["tensorrt_llm"], [tokenizer.encode("What is the capital", False)], fail_after=2)
    sent = run(*serve(configs, tokenizer, engine, **prompt(True)))
    assert [outputs(response)["text_output"][0, 0] for response, _ in sent[:-1]] == [b"What", b" is"]
    last, flags = sent[-1]
    assert flags == FINAL and "out of KV cache blocks" in last.error().message()


def test_a_cancelled_request_cancels_the_engine_request_and_still_sends_the_final_flag(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    engine = Engine(configs["tensorrt_llm"], [tokenizer.encode("What is the capital of France", False)])
    sent = run(*serve(configs, tokenizer, engine, **prompt(True)), cancel_after=1)
    assert len(sent) == 2 and sent[0][1] == 0
    assert sent[1] == (None, FINAL)
    assert engine.calls[0][0].response_iterator.cancelled


def test_a_failure_of_the_model_itself_cancels_the_engine_request_and_reports_it(rendered):
    configs = rendered["streaming"]
    tokenizer = RecordedTokenizer("llama3_1")
    engine = Engine(configs["tensorrt_llm"], [[33167, 999999]])
    sent = run(*serve(configs, tokenizer, engine, **prompt(True)))
    assert outputs(sent[0][0])["text_output"].tolist() == [[b"Launch"]]
    last, flags = sent[-1]
    assert flags == FINAL and last.error().message().startswith("tensorrt_llm_bls: ")
    assert "999999" in last.error().message()
    assert engine.calls[0][0].response_iterator.cancelled

"""Requests through the rendered ensemble: the steps' input and output maps route tensors between the
real preprocessing and postprocessing models and the stand-in engine written from NVIDIA's v0.18.2
backend (trtllm_engine.py), as Triton's ensemble scheduler does: every engine response goes through
postprocessing and becomes one ensemble response. One row and several, on a stack that streams and
one that does not, real tokenizers from text in to text out."""

import ast
import sys

import numpy as np
import pytest

import pbtxt
import support
from fake_transformers import FakeTokenizer
from recorded_tokenizer import NAMES, RecordedTokenizer
from support import load_model, outputs, request, strings
from trtllm_engine import StandInEngine


def run_ensemble(configs, tokenizer, engine, request_tensors):
    """The ensemble's responses: {"error": message} or its output tensors, in order."""
    steps = configs["ensemble"]["ensemble_scheduling"]["step"]
    pre, llm, post = (step for step in steps)
    names = [step["model_name"] for step in (pre, llm, post)]
    assert names == ["preprocessing", "tensorrt_llm", "postprocessing"]
    models = {name: load_model(name, tokenizer, configs[name])[0] for name in ("preprocessing", "postprocessing")}
    pool = dict(request_tensors)

    def step_inputs(step):
        return {model_input: pool[tensor] for model_input, tensor in step["input_map"].items() if tensor in pool}

    [pre_response] = models["preprocessing"].execute([request(**step_inputs(pre))])
    if pre_response.has_error():
        return [{"error": pre_response.error().message()}]
    for model_output, tensor in pre["output_map"].items():
        pool[tensor] = outputs(pre_response)[model_output]
    answers = []
    for response, _ in engine.respond(step_inputs(llm), list(llm["output_map"])):
        if response.has_error():
            answers.append({"error": response.error().message()})
            continue
        produced = {tensor.name(): tensor.as_numpy() for tensor in response.output_tensors()}
        step_pool = dict(pool, **{llm["output_map"][name]: array for name, array in produced.items()})
        post_inputs = {name: step_pool[tensor] for name, tensor in post["input_map"].items() if tensor in step_pool}
        [text] = models["postprocessing"].execute([request(**post_inputs)])
        answer = {"text_output": outputs(text)["text_output"]}
        if "batch_index" in produced:
            answer[llm["output_map"]["batch_index"]] = produced["batch_index"]
        answers.append(answer)
    return answers


def ask(*prompts, end_id=None, **extra):
    rows = len(prompts)
    if end_id is not None:
        extra["end_id"] = np.full((rows, 1), end_id, np.int32)
    prompts = strings(*[[prompt] for prompt in prompts])
    return dict(text_input=prompts, max_tokens=np.full((rows, 1), 32, np.int32), **extra)


def test_a_generate_request_comes_back_as_the_completion_text(rendered):
    configs = rendered["falcon"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11, 11]])
    [answer] = run_ensemble(
        configs,
        tokenizer,
        engine,
        ask("What is the capital of France?", stop_words=strings(["User:"]), temperature=np.array([[0.2]], np.float32)),
    )
    # One row: the engine sends no batch_index, so the ensemble's answer has none either.
    assert answer["text_output"].tolist() == [[b" Paris"]] and "batch_index" not in answer
    inputs = engine.calls[0]
    np.testing.assert_array_equal(inputs["end_id"], [[11]])
    np.testing.assert_array_equal(inputs["pad_id"], [[11]])
    np.testing.assert_array_equal(inputs["request_output_len"], [[32]])
    assert inputs["stop_words_list"][0, 0, :2].tolist() == [112, 113]
    np.testing.assert_array_equal(inputs["temperature"], np.array([[0.2]], np.float32))
    assert "streaming" not in inputs


def test_several_rows_on_a_stack_that_does_not_stream_are_refused_before_the_engine(rendered):
    configs = rendered["falcon"]
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11], [108, 11]])
    [answer] = run_ensemble(configs, FakeTokenizer(), engine, ask("Hi", "What is the capital of France?"))
    assert "text_input holds 2 rows" in answer["error"] and "one request per prompt" in answer["error"]
    assert engine.calls == []


def test_on_a_streaming_stack_each_row_comes_back_alone_with_its_batch_index(rendered):
    configs = rendered["streaming"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11], [108, 109, 110, 11]])
    answers = run_ensemble(configs, tokenizer, engine, ask("Hi", "What is the capital of France?"))
    assert [(answer["batch_index"].tolist(), answer["text_output"].tolist()) for answer in answers] == [
        ([[0]], [[b"Paris"]]),
        ([[1]], [[b"Hello, world"]]),
    ]
    [single] = run_ensemble(configs, tokenizer, StandInEngine(configs["tensorrt_llm"], [[107, 11]]), ask("Hi"))
    assert single["text_output"].tolist() == [[b"Paris"]] and "batch_index" not in single


def test_on_a_streaming_stack_the_ensemble_refuses_stop_words_and_names_the_model_that_applies_them(rendered):
    configs = rendered["streaming"]
    engine = StandInEngine(configs["tensorrt_llm"], [[107, 11]])
    [answer] = run_ensemble(configs, FakeTokenizer(), engine, ask("Hi", stop_words=strings(["User:"])))
    assert "/v2/models/tensorrt_llm_bls/generate_stream" in answer["error"]
    [answer] = run_ensemble(configs, FakeTokenizer(), engine, ask("Hi", stop_words=strings([""])))
    assert answer["text_output"].tolist() == [[b"Paris"]]


def stop_cases():
    for name in NAMES:
        for case in RecordedTokenizer(name).data["stop_cases"]:
            label = "|".join(case["stop"]) + ("+include" if case["include"] else "")
            yield pytest.param(name, case, id=f"{name}:{label!r}")


@pytest.mark.parametrize("name,case", stop_cases())
def test_a_stop_string_in_context_ends_the_answer_by_text(rendered, name, case):
    configs = rendered["falcon"]
    tokenizer = RecordedTokenizer(name)
    engine = StandInEngine(configs["tensorrt_llm"], [case["ids"]])
    extra = dict(stop_words=strings(case["stop"]), include_stop_str_in_output=np.array([[case["include"]]], np.bool_))
    prompt = ask(tokenizer.data["stop_prompt"], end_id=tokenizer.eos_token_id, **extra)
    [answer] = run_ensemble(configs, tokenizer, engine, prompt)
    assert answer["text_output"][0, 0].decode("utf-8") == case["answer"]


@pytest.mark.parametrize("name", NAMES)
def test_a_completion_keeps_its_leading_space(rendered, name):
    configs = rendered["falcon"]
    tokenizer = RecordedTokenizer(name)
    for completion in tokenizer.data["completions"]:
        engine = StandInEngine(configs["tensorrt_llm"], [completion["ids"]])
        prompt = ask(tokenizer.data["prompt"], end_id=tokenizer.eos_token_id)
        [answer] = run_ensemble(configs, tokenizer, engine, prompt)
        assert answer["text_output"][0, 0].decode("utf-8") == completion["completion"]


def test_every_ensemble_output_is_produced_and_every_declared_input_is_routed(rendered):
    ensemble = rendered["falcon"]["ensemble"]
    steps = ensemble["ensemble_scheduling"]["step"]
    written = {tensor for step in steps for tensor in step["output_map"].values()}
    read = {tensor for step in steps for tensor in step["input_map"].values()}
    assert {entry["name"] for entry in ensemble["output"]} <= written
    assert {entry["name"] for entry in ensemble["input"]} <= read


def test_the_models_import_only_what_the_serving_container_has(rendered):
    root = support.RENDERED["root"]
    shipped = {path.stem for path in root.glob("*/1/*.py")}
    allowed = {"numpy", "transformers", "triton_python_backend_utils"} | shipped | set(sys.stdlib_module_names)
    for name in ("preprocessing", "postprocessing", "tensorrt_llm_bls"):
        tree = ast.parse((root / name / "1" / "model.py").read_text())
        neighbours = {path.stem for path in (root / name / "1").glob("*.py")}
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module.split(".")[0])
        assert imported <= allowed, f"{name}: {imported - allowed}"
        assert imported & shipped <= neighbours, f"{name} imports a file its version folder lacks"
        assert "transformers" in imported


def test_the_pure_modules_need_neither_triton_nor_transformers(rendered):
    for path in support.RENDERED["root"].glob("*/1/*.py"):
        if path.name == "model.py":
            continue
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= {"numpy"}, f"{path.name}: {imported}"


def test_the_test_reader_handles_escapes_lists_and_maps():
    config = pbtxt.parse(
        'name: "a\\"b\\303\\251,c"\nmax_batch_size: 4\n'
        "input {\n  dims: [ 2, -1 ]\n  reshape {\n  }\n  optional: true\n}\n"
        'parameters {\n  key: "k"\n  value {\n    string_value: "v\\n"\n  }\n}\n'
    )
    assert config == {
        "name": 'a"bé,c',
        "max_batch_size": 4,
        "input": [{"dims": [2, -1], "reshape": {}, "optional": True}],
        "parameters": {"k": {"string_value": "v\n"}},
    }

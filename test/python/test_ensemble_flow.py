"""One request through the rendered ensemble: the steps' input and output maps route tensors between
the real preprocessing and postprocessing models and a stand-in engine that checks what it receives
against the rendered tensorrt_llm config."""

import ast
import sys

import numpy as np

import pbtxt
from fake_transformers import FakeTokenizer
import support
from support import load_model, outputs, request, strings
import triton_python_backend_utils as pb_utils


def fake_engine(config, inputs, received):
    """Checks inputs against the config like Triton would, then 'generates' Paris + eos."""
    declared = {entry["name"]: entry for entry in config["input"]}
    for entry in declared.values():
        assert entry.get("optional", False) or entry["name"] in inputs, f"required {entry['name']} missing"
    batch = inputs["input_ids"].shape[0]
    for name, array in inputs.items():
        entry = declared[name]
        assert array.dtype == pb_utils.triton_string_to_numpy(entry["data_type"]), name
        assert array.shape[0] == batch and len(array.shape) == 1 + len(entry["dims"]), name
        for size, dim in zip(array.shape[1:], entry["dims"]):
            assert dim == -1 or size == dim, name
    received.update(inputs)
    end = inputs["end_id"].reshape(batch)
    generated = np.array([[[107, end[row], end[row]]] for row in range(batch)], np.int32)
    lengths = np.full((batch, 1), 2, np.int32)
    rows = np.arange(batch, dtype=np.int32).reshape(batch, 1)
    return {"output_ids": generated, "sequence_length": lengths, "batch_index": rows}


def run_ensemble(configs, tokenizer, request_tensors):
    pool = dict(request_tensors)
    models = {
        name: load_model(name, tokenizer, configs[name])[0] for name in ("preprocessing", "postprocessing")
    }
    received = {}
    for step in configs["ensemble"]["ensemble_scheduling"]["step"]:
        name = step["model_name"]
        inputs = {model_input: pool[tensor] for model_input, tensor in step["input_map"].items() if tensor in pool}
        if name == "tensorrt_llm":
            produced = fake_engine(configs[name], inputs, received)
        else:
            produced = outputs(models[name].execute([request(**inputs)])[0])
        for model_output, tensor in step["output_map"].items():
            pool[tensor] = produced[model_output]
    return pool, received


def test_a_generate_request_comes_back_as_the_completion_text(rendered):
    configs = rendered["falcon"]
    pool, engine_inputs = run_ensemble(
        configs,
        FakeTokenizer(),
        {
            "text_input": strings(["What is the capital of France?"]),
            "max_tokens": np.array([[32]], np.int32),
            "stop_words": strings(["User:"]),
            "temperature": np.array([[0.2]], np.float32),
        },
    )
    assert pool["text_output"].tolist() == [[b"Paris"]]
    assert pool["batch_index"].tolist() == [[0]]
    np.testing.assert_array_equal(engine_inputs["end_id"], [[11]])
    np.testing.assert_array_equal(engine_inputs["pad_id"], [[11]])
    np.testing.assert_array_equal(engine_inputs["request_output_len"], [[32]])
    np.testing.assert_array_equal(engine_inputs["stop_words_list"], [[[112, 113], [2, -1]]])
    np.testing.assert_array_equal(engine_inputs["temperature"], np.array([[0.2]], np.float32))
    assert "streaming" not in engine_inputs


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

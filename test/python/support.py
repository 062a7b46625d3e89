"""Helpers for the model tests: load a model.py from its source path with the transformers and
triton_python_backend_utils stand-ins in place, build requests, and check outputs against the
rendered config.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

import fake_transformers
import triton_python_backend_utils as pb_utils

MODELS_DIR = Path(__file__).resolve().parents[2] / "components" / "model-repository" / "python"
MOUNT = "/opt/ds/model/deployed_model"


def load_module(relative_path):
    """A pure Python file shipped with the models (no Triton, no transformers), by its source path."""
    path = MODELS_DIR / relative_path
    spec = importlib.util.spec_from_file_location(f"module_under_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The rendered model repository (set by conftest's `rendered` fixture): models run from there, with
# their version folder on sys.path as Triton's Python backend puts it (pb_stub.cc r25.04:2077).
RENDERED = {}
NEIGHBOUR_MODULES = ("word_lists", "incremental_text", "stop_strings")


def load_model(name, tokenizer, model_config, models=None):
    """<name>/1/model.py of the rendered repository (the streaming stack's, or the models folder
    `models`), initialized with `model_config` (a dict)."""
    loader = fake_transformers.install(tokenizer)
    folder = (models or RENDERED["root"]) / name / "1"
    for neighbour in NEIGHBOUR_MODULES:
        sys.modules.pop(neighbour, None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"model_under_test_{name}", folder / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    model = module.TritonPythonModel()
    model.initialize({"model_config": json.dumps(model_config), "model_instance_kind": "CPU"})
    return model, loader


def strings(*rows):
    """A TYPE_STRING batch: one row per argument, each a list of str."""
    width = max(len(row) for row in rows)
    array = np.empty((len(rows), width), dtype=np.object_)
    array[:] = b""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            array[r, c] = value.encode("utf-8")
    return array


def request(**inputs):
    return pb_utils.InferenceRequest(inputs=[pb_utils.Tensor(name, value) for name, value in inputs.items()])


def outputs(response):
    assert not response.has_error(), response.error().message()
    return {tensor.name(): tensor.as_numpy() for tensor in response.output_tensors()}


def assert_matches_config(values, model_config, batch):
    """Every declared output is present with the configured dtype and [batch] + dims shape."""
    declared = {entry["name"]: entry for entry in model_config["output"]}
    assert set(values) == set(declared)
    for name, array in values.items():
        entry = declared[name]
        assert array.dtype == pb_utils.triton_string_to_numpy(entry["data_type"]), name
        assert array.shape[0] == batch, name
        assert len(array.shape) == 1 + len(entry["dims"]), name
        for size, dim in zip(array.shape[1:], entry["dims"]):
            assert dim == -1 or size == dim, name

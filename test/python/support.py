"""Helpers for the model tests: load a model.py from its source path with the transformers and
triton_python_backend_utils stand-ins in place, build requests, and check outputs against the
rendered config.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np

import fake_transformers
import triton_python_backend_utils as pb_utils

MODELS_DIR = Path(__file__).resolve().parents[2] / "components" / "model-repository" / "python"
MOUNT = "/opt/ds/model/deployed_model"


def load_model(name, tokenizer, model_config):
    """model.py of `name` from its source path, initialized with `model_config` (a dict)."""
    loader = fake_transformers.install(tokenizer)
    spec = importlib.util.spec_from_file_location(f"model_under_test_{name}", MODELS_DIR / name / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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

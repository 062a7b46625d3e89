"""Stand-in for the module Triton's Python backend injects into model.py (triton_python_backend_utils).

Only what the two models use, with the same names and call shapes as the real module, plus a log
the tests read. Tensors must be numpy arrays, as in the real backend.
"""

import numpy as np

_NUMPY_TYPES = {
    "TYPE_BOOL": np.bool_,
    "TYPE_UINT8": np.uint8,
    "TYPE_UINT16": np.uint16,
    "TYPE_UINT32": np.uint32,
    "TYPE_UINT64": np.uint64,
    "TYPE_INT8": np.int8,
    "TYPE_INT16": np.int16,
    "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64,
    "TYPE_FP16": np.float16,
    "TYPE_FP32": np.float32,
    "TYPE_FP64": np.float64,
    "TYPE_STRING": np.object_,
}


def triton_string_to_numpy(triton_type):
    return _NUMPY_TYPES[triton_type]


class TritonError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self._message = message

    def message(self):
        return self._message


class TritonModelException(Exception):
    pass


class Tensor:
    def __init__(self, name, array):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Tensor {name}: expected a numpy array, got {type(array).__name__}")
        self._name = name
        self._array = array

    def name(self):
        return self._name

    def as_numpy(self):
        return self._array


class InferenceRequest:
    def __init__(self, model_name="", inputs=(), requested_output_names=()):
        self.model_name = model_name
        self._inputs = list(inputs)
        self._requested = list(requested_output_names)

    def inputs(self):
        return list(self._inputs)

    def requested_output_names(self):
        return list(self._requested)


class InferenceResponse:
    def __init__(self, output_tensors=None, error=None):
        self._outputs = list(output_tensors or [])
        self._error = error

    def output_tensors(self):
        return list(self._outputs)

    def has_error(self):
        return self._error is not None

    def error(self):
        return self._error


def get_input_tensor_by_name(request, name):
    for tensor in request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(response, name):
    for tensor in response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None


def get_input_config_by_name(model_config, name):
    for entry in model_config.get("input", []):
        if entry["name"] == name:
            return entry
    return None


def get_output_config_by_name(model_config, name):
    for entry in model_config.get("output", []):
        if entry["name"] == name:
            return entry
    return None


class Logger:
    messages = []

    @classmethod
    def log_info(cls, message):
        cls.messages.append(("info", message))

    @classmethod
    def log_warn(cls, message):
        cls.messages.append(("warn", message))

    @classmethod
    def log_error(cls, message):
        cls.messages.append(("error", message))

    @classmethod
    def log_verbose(cls, message):
        cls.messages.append(("verbose", message))

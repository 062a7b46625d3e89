"""Stand-in for the module Triton's Python backend injects into model.py (triton_python_backend_utils).

Only what the models use, with the same names and call shapes as the real module (python_backend
r25.04 src/pb_stub.cc), plus what the tests read: a log, the responses a decoupled model sent, and
BLS calls routed to `BLS_MODELS` (model name -> handler(request, decoupled)). A handler returns the
response of a model called without `decoupled`, and (response, flags) pairs, in the order the model
sends them, for `exec(decoupled=True)`. Tensors must be numpy arrays, as in the real backend.
"""

import json

import numpy as np

TRITONSERVER_RESPONSE_COMPLETE_FINAL = 1

# Model name -> handler(request, decoupled) returning an InferenceResponse, or an iterable of them
# when decoupled; the tests install the models a BLS model calls.
BLS_MODELS = {}

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
    def __init__(self, model_name="", inputs=(), requested_output_names=(), parameters=None):
        self.model_name = model_name
        self._inputs = list(inputs)
        self._requested = list(requested_output_names)
        self._parameters = dict(parameters or {})
        self._sender = InferenceResponseSender()
        # Set by ResponseIterator.cancel(): what the called model sees as its request's cancellation.
        self.cancelled = False

    def inputs(self):
        return list(self._inputs)

    def requested_output_names(self):
        return list(self._requested)

    def parameters(self):
        return json.dumps(self._parameters)

    def get_response_sender(self):
        return self._sender

    def exec(self, decoupled=False):
        result = BLS_MODELS[self.model_name](self, decoupled)
        if not decoupled:
            return result
        self.response_iterator = ResponseIterator(result, self)
        return self.response_iterator

    async def async_exec(self, decoupled=False):
        return self.exec(decoupled)


class InferenceResponseSender:
    """Records what a decoupled model sends; refuses anything after the final flag, as Triton does."""

    def __init__(self):
        self.sent = []
        self.cancelled_after = None

    def send(self, response=None, flags=0):
        if self.sent and self.sent[-1][1] & TRITONSERVER_RESPONSE_COMPLETE_FINAL:
            raise TritonModelException("a response was sent after the final flag")
        self.sent.append((response, flags))

    def is_cancelled(self):
        return self.cancelled_after is not None and len(self.sent) >= self.cancelled_after


class ResponseIterator:
    """The responses of a decoupled BLS call (python_backend r25.04 src/pb_response_iterator.cc:67-102):
    each one as it arrives, the last being the one sent with Triton's final flag; a final flag sent
    without a response arrives as an empty response (src/request_executor.cc:222-228)."""

    def __init__(self, sent, request):
        self._sent = iter(sent)
        self._request = request
        self._finished = False
        self.cancelled = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        try:
            response, flags = next(self._sent)
        except StopIteration:
            raise AssertionError("the called model stopped sending without Triton's final flag") from None
        self._finished = bool(flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return InferenceResponse() if response is None else response

    def cancel(self):
        self.cancelled = True
        self._request.cancelled = True


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

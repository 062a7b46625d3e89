"""A stand-in for Triton's OpenAI-compatible frontend of the 25.04 image (server v2.57.0,
python/openai/openai_frontend/ of triton-inference-server/server at tag v2.57.0),
with the in-process Triton it drives (core r25.04 python/tritonserver/_api/ and src/). Only the
chat path to a TensorRT-LLM, Python or ensemble model, the one an OpenAI stack serves, with the
same request and response shapes:

- The request (schemas/openai.py, CreateChatCompletionRequest, :823-923): unknown fields refused
  (`extra="forbid"`, :825), which FastAPI answers with HTTP 422 before the route runs; defaults frequency_penalty 0 (:837-840), max_tokens 16 (:858-861),
  n 1 (:867-871), presence_penalty 0 (:872-875), seed None (:880-883), stop None (:884-887),
  stream False (:888-891), temperature 0.7 (:892-896), top_p 1 (:897-901), logprobs False
  (:849-852), logit_bias None (:845-848). `model_fields_set` is pydantic's: the fields the request
  was given, never those filled from defaults. `chat_request` parses a JSON body into it.
- The prompt: the tokenizer's chat template over the messages, add_generation_prompt True
  (engine/triton_engine.py:120-129), rendered as transformers renders it (below).
- What is sent to the model (engine/utils/triton.py:81-106, `_create_trtllm_inference_request`):
  text_input [[prompt]] and stream [[stream]] always; max_tokens INT32 when truthy (:87-88); the stop
  list as stop_words [stop] (a string becomes a one-item list, :89-92); top_p, frequency_penalty,
  presence_penalty, temperature FP32 and seed as random_seed UINT64 when not None (:93-103). The
  frontend picks this converter for every model that is not vLLM (triton_engine.py:224-235) and
  looks it up when the engine lists the models (:244-267), so a launcher that replaces the module's
  function before the engine starts is what it uses: `TRITON_ENGINE` stands for that module.
- The in-process API turns a list into a numpy array and maps its dtype to a Triton type
  (core r25.04 python/tritonserver/_api/_tensor.py:574-600, _datautils.py:171-190: str and object ->
  BYTES, bool_ -> BOOL, int32 -> INT32, uint64 -> UINT64, float32 -> FP32), and Triton checks the
  request against the model's config before the model sees it: an input the config does not declare
  (src/model.cc:48), a data type other than the declared one (src/infer_request.cc:1098-1108), a
  required input missing (src/infer_request.cc:1240-1298) or a batch above max_batch_size
  (:1078-1085) is refused. Those raise at once (the engine's async_infer submits synchronously,
  _model.py:176-182), and the router answers HTTP 400 with the exception's text
  (frontend/fastapi/routers/chat.py:47-53): `FrontendError` here.
- Responses: the in-process iterator does not raise on a model's error response (async_infer
  drops its raise_on_error, _model.py:137-182, and AsyncResponseIterator's default is False,
  _response.py:183-189): the response keeps its error and has no outputs. A final flag sent alone
  arrives as a response without outputs (_response.py:104-119). `_get_output` reads one string from
  text_output, refusing any other count (triton.py:130-163), and "" without text_output.
- Not streamed (triton_engine.py:149-171): every response is collected; one response must carry
  the final flag, or two the last of them, and more are refused (triton.py:166-175); the first
  response's text is the answer, finish_reason "stop".
- Streamed (triton_engine.py:269-343): a first chunk with the role and content "", then one chunk
  per response with its text as delta content and finish_reason "stop" on the final one, then
  `data: [DONE]`. Chunks are serialised with `exclude_unset=True`.

The chat template is rendered as transformers' apply_chat_template does: Jinja's sandboxed
environment with trim_blocks and lstrip_blocks, `raise_exception` as a global, the messages,
add_generation_prompt and the tokenizer's special tokens as variables (transformers v4.42.0
src/transformers/tokenization_utils_base.py `_compile_jinja_template` and `apply_chat_template`,
later utils/chat_template_utils.py).
"""

import json

import numpy as np
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

import triton_python_backend_utils as pb_utils

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL

CHAT_DEFAULTS = {
    "frequency_penalty": 0,
    "logit_bias": None,
    "logprobs": False,
    "max_tokens": 16,
    "n": 1,
    "presence_penalty": 0,
    "seed": None,
    "stop": None,
    "stream": False,
    "temperature": 0.7,
    "top_p": 1,
}
CHAT_FIELDS = {
    "messages",
    "model",
    "ignore_eos",
    "top_logprobs",
    "min_tokens",
    "response_format",
    "tools",
    "tool_choice",
    "user",
    "function_call",
    "functions",
    *CHAT_DEFAULTS,
}

_NUMPY_TO_TRITON = {
    np.bool_: "TYPE_BOOL",
    np.int32: "TYPE_INT32",
    np.uint64: "TYPE_UINT64",
    np.float32: "TYPE_FP32",
    np.str_: "TYPE_STRING",
    np.bytes_: "TYPE_STRING",
    np.object_: "TYPE_STRING",
}


class FrontendError(Exception):
    """A refusal: HTTP 422 for a body the schema refuses, 400 with `{"detail": str(error)}` for what
    the engine raises (chat.py:47-53)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class ChatRequest:
    """CreateChatCompletionRequest as the frontend holds it after pydantic validated a body."""

    def __init__(self, body):
        unknown = sorted(set(body) - CHAT_FIELDS)
        if unknown:
            raise FrontendError(f"Extra inputs are not permitted: {', '.join(unknown)}", status=422)
        for required in ("messages", "model"):
            if required not in body:
                raise FrontendError(f"Field required: {required}", status=422)
        self.model_fields_set = set(body)
        self.messages = body["messages"]
        self.model = body["model"]
        for name, default in CHAT_DEFAULTS.items():
            setattr(self, name, body.get(name, default))


def chat_request(body_json):
    return ChatRequest(json.loads(body_json))


def render_chat_template(template, messages, special_tokens):
    """The prompt transformers' apply_chat_template(tokenize=False, add_generation_prompt=True) gives."""

    def raise_exception(message):
        raise TemplateError(message)

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    environment.globals["raise_exception"] = raise_exception
    return environment.from_string(template).render(
        messages=messages, add_generation_prompt=True, **special_tokens
    )


def create_trtllm_inference_request(model, prompt, request):
    """engine/utils/triton.py:81-106: the inputs the real function hands `model.create_request`, before
    the in-process API converts them (`to_triton`)."""
    inputs = {}
    inputs["text_input"] = [[prompt]]
    inputs["stream"] = np.bool_([[request.stream]])
    if request.max_tokens:
        inputs["max_tokens"] = np.int32([[request.max_tokens]])
    if request.stop:
        if isinstance(request.stop, str):
            request.stop = [request.stop]
        inputs["stop_words"] = [request.stop]
    if request.top_p is not None:
        inputs["top_p"] = np.float32([[request.top_p]])
    if request.frequency_penalty is not None:
        inputs["frequency_penalty"] = np.float32([[request.frequency_penalty]])
    if request.presence_penalty is not None:
        inputs["presence_penalty"] = np.float32([[request.presence_penalty]])
    if request.seed is not None:
        inputs["random_seed"] = np.uint64([[request.seed]])
    if request.temperature is not None:
        inputs["temperature"] = np.float32([[request.temperature]])
    return inputs


class TritonEngineModule:
    """engine/triton_engine.py's module globals, as far as a launcher reaches into them."""

    _create_trtllm_inference_request = staticmethod(create_trtllm_inference_request)


TRITON_ENGINE = TritonEngineModule()


def to_triton(inputs, model_config):
    """The in-process API's conversion and Triton's checks against the model's config (module
    docstring); returns the tensors as the Python backend hands them to the model (TYPE_STRING as
    object arrays of bytes), or raises FrontendError with Triton's reason."""
    declared = {entry["name"]: entry for entry in model_config["input"]}
    tensors = []
    batch = None
    for name, value in inputs.items():
        array = np.array(value) if isinstance(value, list) else value
        if name not in declared:
            raise FrontendError(f"unexpected inference input '{name}' for model '{model_config['name']}'")
        data_type = _NUMPY_TO_TRITON[array.dtype.type]
        if data_type != declared[name]["data_type"]:
            raise FrontendError(
                f"inference input '{name}' data-type is '{data_type}', but model '{model_config['name']}' "
                f"expects '{declared[name]['data_type']}'"
            )
        dims = declared[name]["dims"]
        if len(array.shape) != 1 + len(dims) or any(d != -1 and d != s for d, s in zip(dims, array.shape[1:])):
            raise FrontendError(f"unexpected shape for input '{name}' for model '{model_config['name']}'")
        batch = array.shape[0] if batch is None else batch
        if array.shape[0] != batch:
            raise FrontendError(f"input '{name}' batch size does not match other inputs")
        if data_type == "TYPE_STRING":
            array = np.vectorize(lambda text: str(text).encode("utf-8"), otypes=[np.object_])(array)
        tensors.append(pb_utils.Tensor(name, array))
    missing = [name for name, entry in declared.items() if not entry.get("optional", False) and name not in inputs]
    if missing:
        raise FrontendError(f"expected number of inputs ... missing required input(s) {missing}")
    if batch > int(model_config["max_batch_size"]):
        raise FrontendError(f"inference request batch-size must be <= {model_config['max_batch_size']}")
    return tensors


class Response:
    """tritonserver's InferenceResponse: outputs by name (numpy), error, final."""

    def __init__(self, response, flags):
        self.final = flags == FINAL
        self.error = None
        self.outputs = {}
        if response is None:
            return
        if response.has_error():
            self.error = response.error().message()
            return
        self.outputs = {tensor.name(): tensor.as_numpy() for tensor in response.output_tensors()}


def get_output(response):
    """triton.py:130-163: the one string of text_output, or "" without it."""
    if "text_output" not in response.outputs:
        return ""
    tensor = response.outputs["text_output"]
    if tensor.size != 1:
        raise FrontendError(f"Expected to find 1 string in the output, found {tensor.size} instead.")
    value = tensor.reshape(-1)[0]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def validate_non_streaming(responses):
    """triton.py:166-175."""
    if len(responses) == 1 and responses[0].final is not True:
        raise FrontendError("Unexpected internal error with incorrect response flags")
    if len(responses) == 2 and responses[-1].final is not True:
        raise FrontendError("Unexpected internal error with incorrect response flags")
    if len(responses) > 2:
        raise FrontendError(f"Unexpected number of responses: {len(responses)}, expected 1.")


def chat(body, tokenizer_template, special_tokens, model_config, infer):
    """One chat request through the frontend: the JSON answer (not streamed) or the SSE event strings
    (streamed). `infer(tensors)` runs the model and returns its sent (response, flags) pairs."""
    request = ChatRequest(body)
    if request.model != model_config["name"]:
        raise FrontendError(f"Unknown model: {request.model}")
    if request.n and request.n > 1:
        raise FrontendError(f"Received n={request.n}, but only single choice (n=1) is currently supported")
    messages = [{key: value for key, value in message.items() if value is not None} for message in request.messages]
    prompt = render_chat_template(tokenizer_template, messages, special_tokens)
    inputs = TRITON_ENGINE._create_trtllm_inference_request(model_config, prompt, request)
    responses = [Response(response, flags) for response, flags in infer(to_triton(inputs, model_config))]
    if request.stream:
        return streamed_chunks(request.model, responses)
    validate_non_streaming(responses)
    return {
        "id": "cmpl-stand-in",
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {"content": get_output(responses[0]), "tool_calls": None, "role": "assistant", "function_call": None},
                "logprobs": None,
            }
        ],
        "created": 0,
        "model": request.model,
        "system_fingerprint": None,
        "object": "chat.completion",
        "usage": None,
    }


def streamed_chunks(model, responses):
    """triton_engine.py:269-343: the `data: ...` events of a streamed answer."""

    def chunk(delta, finish_reason):
        return {
            "id": "cmpl-stand-in",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            "created": 0,
            "model": model,
            "system_fingerprint": None,
            "object": "chat.completion.chunk",
        }

    events = [f"data: {json.dumps(chunk({'role': 'assistant', 'content': '', 'function_call': None}, None))}\n\n"]
    for response in responses:
        delta = {"role": None, "content": get_output(response), "function_call": None}
        events.append(f"data: {json.dumps(chunk(delta, 'stop' if response.final else None))}\n\n")
    events.append("data: [DONE]\n\n")
    return events


def streamed_text(events):
    """The text a client joins from the streamed events, checking the stream's end."""
    assert events[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    return "".join(chunk["choices"][0]["delta"]["content"] or "" for chunk in chunks), chunks

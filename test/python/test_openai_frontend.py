"""An OpenAI stack's repository (deployment.api openai) under the frontend it is served by: chat
requests go through the stand-in of the 25.04 image's OpenAI frontend (openai_frontend.py, written
from server v2.57.0) with the artifact's launcher in place, into the rendered served model
(odsc-llm, which is tensorrt_llm_bls), its preprocessing and the engine stand-in (trtllm_engine.py).
What must hold: every input the frontend sends is one the model declares, with its type; a request
without max_tokens gets the stack's default; a whole answer is one response; streamed deltas join to
exactly the whole answer; stop strings end the answer as on Triton's generate endpoint. And the
Falcon-Instruct chat template renders its model card's format, and the launcher refuses an image
without the frontend."""

import asyncio
import importlib.util
import json
import re
import sys

import numpy as np
import pytest
from jinja2.exceptions import TemplateError

import openai_frontend as frontend
import triton_python_backend_utils as pb_utils
from fake_transformers import FakeTokenizer
from recorded_tokenizer import RecordedTokenizer
from support import MODELS_DIR, RENDERED, load_model
from trtllm_engine import StandInEngine

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
MODEL = "odsc-llm"
LAUNCHER_PATH = MODELS_DIR / "launcher" / "openai_frontend.py"
QUESTION = [{"role": "user", "content": "The capital of France is"}]
# The stack's deployment.defaultMaxTokens in conftest.py's "openai" stack.
DEFAULT_MAX_TOKENS = 48


def load_launcher():
    spec = importlib.util.spec_from_file_location("launcher_under_test", LAUNCHER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def launched():
    """The frontend as the launcher leaves it: its converter wrapped (what main() does before
    main.py runs), and put back after the test."""
    original = frontend.TRITON_ENGINE._create_trtllm_inference_request
    frontend.TRITON_ENGINE._create_trtllm_inference_request = load_launcher().leave_unset_max_tokens_to_the_model(
        original
    )
    yield
    frontend.TRITON_ENGINE._create_trtllm_inference_request = original


@pytest.fixture(autouse=True)
def fresh_backend():
    pb_utils.RESPONSE_ITERATORS.clear()
    pb_utils.BLOCKED_EVENT_LOOP.clear()


def falcon_template():
    return (RENDERED["openai"] / "chat_template.jinja").read_text()


class Served:
    """The rendered models of an OpenAI stack behind the frontend stand-in, with one engine."""

    def __init__(self, configs, tokenizer, engine, template, special_tokens=None):
        self.configs = configs
        self.tokenizer = tokenizer
        self.engine = engine
        self.template = template
        self.special_tokens = special_tokens or {}
        self.sent = []

    def infer(self, tensors):
        models = RENDERED["openai"] / "models"
        preprocessing, _ = load_model("preprocessing", self.tokenizer, self.configs["preprocessing"], models)
        served, _ = load_model(MODEL, self.tokenizer, self.configs[MODEL], models)
        pb_utils.BLS_MODELS.clear()
        pb_utils.BLS_MODELS["preprocessing"] = lambda request, decoupled: preprocessing.execute([request])[0]
        pb_utils.BLS_MODELS["tensorrt_llm"] = self.engine
        client = pb_utils.InferenceRequest(inputs=tensors)
        try:
            assert asyncio.run(served.execute([client])) is None
        finally:
            served.finalize()
        pb_utils.settle()
        self.sent = client.get_response_sender().sent
        assert [flags for _, flags in self.sent] == [0] * (len(self.sent) - 1) + [FINAL]
        assert pb_utils.BLOCKED_EVENT_LOOP == [] and pb_utils.RESPONSE_ITERATORS == {}
        return self.sent

    def chat(self, **body):
        body = {"model": MODEL, "messages": QUESTION, **body}
        return frontend.chat(body, self.template, self.special_tokens, self.configs[MODEL], self.infer)


def sent_inputs(body, model_config):
    """The tensors the frontend sends the served model for `body`, as the model receives them."""
    request = frontend.ChatRequest({"model": MODEL, "messages": QUESTION, **body})
    inputs = frontend.TRITON_ENGINE._create_trtllm_inference_request(model_config, "prompt", request)
    return {tensor.name(): tensor.as_numpy() for tensor in frontend.to_triton(inputs, model_config)}


BODIES = [
    {},
    {"max_tokens": 5},
    {"max_tokens": None},
    {"max_tokens": 0},
    {"stop": "Paris"},
    {"stop": ["\n\n", "User:"]},
    {"stream": True},
    {"seed": 42, "temperature": 0.2, "top_p": 0.5},
    {"presence_penalty": 0.5, "frequency_penalty": -0.5},
    {"temperature": None, "top_p": None, "presence_penalty": None, "frequency_penalty": None},
]


@pytest.mark.parametrize("body", BODIES, ids=[json.dumps(body) for body in BODIES])
def test_every_input_the_frontend_sends_is_declared_with_its_type(rendered, launched, body):
    config = rendered["openai"][MODEL]
    inputs = sent_inputs(body, config)
    declared = {entry["name"]: entry for entry in config["input"]}
    for name, array in inputs.items():
        # to_triton refused any other; the model receives the declared type.
        assert array.dtype == pb_utils.triton_string_to_numpy(declared[name]["data_type"]), name
    assert {"text_input", "stream"} <= set(inputs)
    # The schema's own defaults reach the model: top_p 1 and temperature 0.7 unless set (or null).
    if "temperature" not in body:
        assert inputs["temperature"].tolist() == [[pytest.approx(0.7)]]
        assert inputs["top_p"].tolist() == [[1.0]]


def test_without_the_launcher_a_request_that_sets_no_max_tokens_asks_for_16(rendered):
    config = rendered["openai"][MODEL]
    assert sent_inputs({}, config)["max_tokens"].tolist() == [[16]]


def test_the_launcher_sends_max_tokens_only_where_the_client_set_it(rendered, launched):
    config = rendered["openai"][MODEL]
    assert "max_tokens" not in sent_inputs({}, config)
    assert sent_inputs({"max_tokens": 16}, config)["max_tokens"].tolist() == [[16]]
    assert sent_inputs({"max_tokens": 300}, config)["max_tokens"].tolist() == [[300]]
    # A client's null or 0: the frontend's own rule, nothing sent (triton.py:87).
    assert "max_tokens" not in sent_inputs({"max_tokens": None}, config)
    assert "max_tokens" not in sent_inputs({"max_tokens": 0}, config)


def test_the_triton_stacks_streaming_model_would_refuse_a_request_without_max_tokens(rendered, launched):
    # Why the OpenAI stack's model declares it optional: Triton refuses a missing required input.
    with pytest.raises(frontend.FrontendError, match="missing required input.*max_tokens"):
        sent_inputs({}, rendered["streaming"]["tensorrt_llm_bls"])


def test_unknown_fields_and_other_models_are_refused_by_the_frontend(rendered, launched):
    served = Served(rendered["openai"], FakeTokenizer(), None, falcon_template())
    with pytest.raises(frontend.FrontendError, match="Extra inputs are not permitted: top_k") as refused:
        served.chat(top_k=1)
    assert refused.value.status == 422
    with pytest.raises(frontend.FrontendError, match="Unknown model: tensorrt_llm_bls") as unknown:
        served.chat(model="tensorrt_llm_bls")
    assert unknown.value.status == 400


def falcon_answer(tokenizer, text="Paris, the capital of France."):
    return tokenizer.encode(text, False) + [tokenizer.eos_token_id]


def test_a_request_without_max_tokens_generates_the_stacks_default(rendered, launched):
    configs = rendered["openai"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [falcon_answer(tokenizer)])
    served = Served(configs, tokenizer, engine, falcon_template())
    served.chat()
    assert engine.calls[0]["request_output_len"].tolist() == [[DEFAULT_MAX_TOKENS]]
    served.chat(max_tokens=5)
    assert engine.calls[1]["request_output_len"].tolist() == [[5]]


def test_the_prompt_is_the_chat_templates_text_encoded_without_a_second_bos(rendered, launched):
    configs = rendered["openai"]
    tokenizer = FakeTokenizer(bos_token_id=1)
    engine = StandInEngine(configs["tensorrt_llm"], [falcon_answer(tokenizer)])
    Served(configs, tokenizer, engine, falcon_template()).chat()
    prompt = "User: The capital of France is\nAssistant:"
    assert engine.calls[0]["input_ids"].tolist() == [tokenizer.encode(prompt, add_special_tokens=False)]


def test_a_whole_answer_is_one_final_response_and_the_completions_text(rendered, launched):
    configs = rendered["openai"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [falcon_answer(tokenizer)])
    served = Served(configs, tokenizer, engine, falcon_template())
    answer = served.chat()
    assert len(served.sent) == 1 and served.sent[0][1] == FINAL
    assert answer["choices"][0]["message"] == {
        "content": " Paris, the capital of France.",
        "tool_calls": None,
        "role": "assistant",
        "function_call": None,
    }
    assert answer["choices"][0]["finish_reason"] == "stop" and answer["model"] == MODEL


@pytest.mark.parametrize("step", [1, 2, 5])
def test_streamed_deltas_join_to_exactly_the_whole_answer(rendered, launched, step):
    configs = rendered["openai"]
    tokenizer = FakeTokenizer()
    ids = falcon_answer(tokenizer, "Paris is the capital of France.\nUser: And of Spain?")
    whole = Served(configs, tokenizer, StandInEngine(configs["tensorrt_llm"], [ids]), falcon_template()).chat()
    events = Served(configs, tokenizer, StandInEngine(configs["tensorrt_llm"], [ids], step=step), falcon_template()).chat(
        stream=True
    )
    text, chunks = frontend.streamed_text(events)
    assert text == whole["choices"][0]["message"]["content"]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "function_call": None}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])
    assert len(chunks) > 3, "the text arrives in several deltas"


def llama_served(rendered, completion):
    """The Llama-3.1 stack's models with the real tokenizer, replayed. Its chat template writes the
    BOS into the prompt's text, so the text encoded without special tokens is the recorded prompt
    encoded with them: the stand-in template here is that BOS and the question."""
    configs = rendered["openai-llama"]
    tokenizer = RecordedTokenizer("llama3_1")
    bos = "<|begin_of_text|>"

    class TemplatedText(RecordedTokenizer):
        def encode(self, text, add_special_tokens=True):
            assert not add_special_tokens, "the chat prompt holds its BOS already"
            assert text.startswith(bos)
            return RecordedTokenizer.encode(self, text[len(bos) :], add_special_tokens=True)

    templated = TemplatedText("llama3_1")
    engine = StandInEngine(configs["tensorrt_llm"], [completion["ids"]], step=3)
    served = Served(configs, templated, engine, "{{ bos_token + messages[0]['content'] }}", {"bos_token": bos})
    question = [{"role": "user", "content": tokenizer.data["prompt"]}]
    return served, question


@pytest.mark.parametrize("index", range(len(RecordedTokenizer("llama3_1").data["completions"])))
def test_with_llama_3_1s_real_tokenizer_streamed_deltas_join_byte_for_byte(rendered, launched, index):
    completion = RecordedTokenizer("llama3_1").data["completions"][index]
    served, question = llama_served(rendered, completion)
    # Whole and streamed through the same served model, as the frontend asks it.
    whole = served.chat(messages=question, max_tokens=64)["choices"][0]["message"]["content"]
    text, _ = frontend.streamed_text(served.chat(messages=question, max_tokens=64, stream=True))
    assert whole == completion["completion"]
    assert text.encode("utf-8") == whole.encode("utf-8")


@pytest.mark.parametrize("stream", [False, True])
def test_a_stop_string_ends_the_answer_before_it_as_on_the_generate_endpoint(rendered, launched, stream):
    configs = rendered["openai"]
    tokenizer = FakeTokenizer()
    ids = falcon_answer(tokenizer, "Paris is the capital of France.\nUser: And of Spain?")
    engine = StandInEngine(configs["tensorrt_llm"], [ids])
    served = Served(configs, tokenizer, engine, falcon_template())
    answer = served.chat(stop=["\nUser:"], stream=stream)
    text = frontend.streamed_text(answer)[0] if stream else answer["choices"][0]["message"]["content"]
    assert text == " Paris is the capital of France."
    # The phrase reached the model as one stop_words element, and the engine as token sequences.
    assert engine.calls[0]["stop_words_list"].shape[1] == 2


def test_a_request_the_model_refuses_comes_back_as_an_empty_answer_from_the_25_04_frontend(rendered, launched):
    # The in-process iterator does not raise a model's error response and _get_output reads no
    # text_output from it: HTTP 200 with empty content, which the build's check refuses.
    configs = rendered["openai"]
    tokenizer = FakeTokenizer()
    engine = StandInEngine(configs["tensorrt_llm"], [falcon_answer(tokenizer)])
    served = Served(configs, tokenizer, engine, falcon_template())
    too_long = [{"role": "user", "content": "word " * 2000}]
    answer = served.chat(messages=too_long)
    assert served.sent[0][0].has_error() and "engine accepts at most" in served.sent[0][0].error().message()
    assert answer["choices"][0]["message"]["content"] == ""
    assert engine.calls == []


# The Falcon-Instruct template: the model card's format (components/config/chat-templates.ts).
def test_the_falcon_template_writes_the_model_cards_format(rendered):
    template = falcon_template()

    def render(messages):
        return frontend.render_chat_template(template, messages, {"eos_token": "<|endoftext|>"})

    assert render(QUESTION) == "User: The capital of France is\nAssistant:"
    assert (
        render(
            [
                {"role": "system", "content": "Girafatron is obsessed with giraffes."},
                {"role": "user", "content": "Hello, Girafatron!"},
            ]
        )
        == "Girafatron is obsessed with giraffes.\nUser: Hello, Girafatron!\nAssistant:"
    )
    assert (
        render(
            [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello."},
                {"role": "user", "content": "Capital of France?"},
            ]
        )
        == "User: Hi\nAssistant: Hello.\nUser: Capital of France?\nAssistant:"
    )
    with pytest.raises(TemplateError, match="system, user and assistant messages only, not tool"):
        render([{"role": "tool", "content": "42"}])


# The launcher against a frontend tree of its own making: the v2.57.0 layout of what it touches.
FRONTEND_FILES = {
    "engine/__init__.py": "",
    "engine/utils/__init__.py": "",
    # engine/utils/triton.py:81: the converter (the stand-in's, as written from it).
    "engine/utils/triton.py": "from openai_frontend import create_trtllm_inference_request as _create_trtllm_inference_request\n",
    # engine/triton_engine.py:38-43 imports it; :224-235 hands it out from the module's globals.
    "engine/triton_engine.py": (
        "from engine.utils.triton import _create_trtllm_inference_request\n"
        "def _determine_request_converter(backend):\n"
        "    return _create_trtllm_inference_request\n"
    ),
    "frontend/__init__.py": "",
    "frontend/fastapi_frontend.py": "",
    # main.py: records its argv and what the converter it would give a model sends.
    "main.py": (
        "import json, sys\n"
        "from engine import triton_engine\n"
        "from openai_frontend import ChatRequest\n"
        "convert = triton_engine._determine_request_converter('python')\n"
        "sent = {\n"
        "    name: sorted(convert(None, 'p', ChatRequest({'model': 'm', 'messages': [], **body})))\n"
        "    for name, body in [('unset', {}), ('set', {'max_tokens': 16})]\n"
        "}\n"
        "json.dump({'argv': sys.argv, 'sent': sent, 'name': __name__}, open(sys.argv[-1], 'w'))\n"
    ),
}


@pytest.fixture
def frontend_tree(tmp_path):
    def make(files):
        root = tmp_path / "openai_frontend"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return root

    saved_path, saved_argv = list(sys.path), list(sys.argv)
    yield make
    sys.path[:] = saved_path
    sys.argv[:] = saved_argv
    for name in [name for name in sys.modules if name.split(".")[0] in ("engine", "frontend")]:
        del sys.modules[name]


def test_the_launcher_runs_main_py_with_its_arguments_and_the_converter_wrapped(frontend_tree, tmp_path):
    root = frontend_tree(FRONTEND_FILES)
    record = tmp_path / "record.json"
    args = ["--model-repository", "/m", "--tokenizer", "/t", "--openai-port", "9000", "--host", "0.0.0.0", str(record)]
    assert load_launcher().main(root, args) == 0
    seen = json.loads(record.read_text())
    assert seen["argv"] == [str(root / "main.py"), *args]
    assert seen["name"] == "__main__"
    assert "max_tokens" not in seen["sent"]["unset"]
    assert "max_tokens" in seen["sent"]["set"]


@pytest.mark.parametrize(
    "files,message",
    [
        ({}, "the image has no OpenAI frontend: .*main.py does not exist"),
        (
            {**FRONTEND_FILES, "frontend/fastapi_frontend.py": "import uvicorn_not_installed\n"},
            "cannot be imported: No module named 'uvicorn_not_installed'",
        ),
        (
            {**FRONTEND_FILES, "engine/triton_engine.py": "def _determine_request_converter(backend):\n    return None\n"},
            "has no _create_trtllm_inference_request: not the frontend this launcher wraps",
        ),
    ],
    ids=["no frontend", "a package missing", "another frontend"],
)
def test_the_launcher_refuses_an_image_without_the_frontend_it_wraps(frontend_tree, capsys, files, message):
    root = frontend_tree(files)
    assert load_launcher().main(root, []) == 3
    err = capsys.readouterr().err
    assert err.startswith("openai_frontend.py: ")
    assert re.search(message, err), err

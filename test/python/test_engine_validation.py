"""The validate step on the build host of build_host.py: Triton runs as the model deployment runs it,
with no network, and the model the deployment's endpoint serves is asked a known-answer question
greedily, then the same streamed (streaming stacks), with the expected text as a stop string, and as
two rows in one request (streaming stacks). An error, an empty or wrong answer, a stream that does
not join to the whole answer, a stop string not honoured, a row missing, a model that needs the
network or a Triton that does not come up in OCI's 10 minutes fails the build before anything is
uploaded."""

import json
import tarfile
import zipfile

import pytest

from build_host import (
    CHAT_REQUEST,
    CONTAINER_CMD,
    CONTAINER_ENV,
    IMAGE_REF,
    OPENAI_CMD,
    OPENAI_SETTINGS,
    PROMPT,
    STREAMING_SETTINGS,
    Host,
    manifest_of,
)
from support import RENDERED

REQUEST = {"text_input": PROMPT, "max_tokens": 16, "top_k": 1, "end_id": 11, "pad_id": 11}


def streaming(host):
    """A streaming stack: its settings, and its validation request as validationRequestBody writes it
    there (`stream: false`)."""
    host.write_env(**STREAMING_SETTINGS)
    (host.dir / "validation-request.json").write_text(json.dumps({**REQUEST, "stream": False}))


def triton_run(host):
    (argv,) = [argv for argv in host.argvs("docker") if argv[:2] == ["run", "-d"]]
    return argv


def asked(host):
    """The requests Triton received, in order, as (endpoint kind, body)."""
    return [
        (path.name.split("-", 2)[2].removesuffix(".json"), json.loads(path.read_text()))
        for path in sorted(host.fake.glob("asked-*"), key=lambda path: int(path.name.split("-")[1]))
    ]


def test_triton_runs_as_the_deployment_runs_it_without_a_network_and_is_asked_from_inside(host):
    result = host.run()
    assert result.returncode == 0, result.stderr
    argv = triton_run(host)
    # The deployment's command, on the image the deployment runs, its environment, the artifact
    # where OCI mounts it, read-only.
    assert argv[-len(CONTAINER_CMD) - 1 :] == [IMAGE_REF, *CONTAINER_CMD]
    assert f"{host.work}/deployed:/opt/ds/model/deployed_model:ro" in argv
    environment = (host.fake / "triton" / "environment").read_bytes().decode().split("\0")[:-1]
    assert dict(entry.split("=", 1) for entry in environment) == CONTAINER_ENV
    # No network at all, so no port published either; no IPC namespace, shared memory or limits the
    # deployment does not get.
    assert argv[argv.index("--network") + 1] == "none"
    for option in ("-p", "--ipc=host", "--shm-size", "--shm-size=2g", "--ulimit", "--entrypoint"):
        assert option not in argv, option
    assert "--gpus" in argv
    # Every request to Triton is curl inside its container, on its loopback at the deployment's port.
    execs = [argv for argv in host.argvs("docker") if argv[0] == "exec"]
    triton_urls = [argv[-1] for argv in execs if argv[-1].startswith("http")]
    assert triton_urls and all(url.startswith("http://127.0.0.1:9000/v2/") for url in triton_urls)
    assert all(argv[1:4] == ["-i", "engine-build-triton", "curl"] for argv in execs if argv[-1].startswith("http"))
    # Every curl of Triton came through docker exec; curl on the host asks the instance metadata
    # and the Hub only.
    curl_urls = [argv[-1] for argv in host.argvs("curl")]
    assert sorted(url for url in curl_urls if "127.0.0.1" in url) == sorted(triton_urls)
    assert {url.split("/")[2] for url in curl_urls if "127.0.0.1" not in url} == {"169.254.169.254", "huggingface.co"}


def test_an_entrypoint_of_the_deployment_is_the_containers_too(host):
    host.write_env(CONTAINER_ENTRYPOINT=json.dumps(["/bin/sh", "-c"]))
    result = host.run()
    assert result.returncode == 0, result.stderr
    argv = triton_run(host)
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"
    assert argv[-len(CONTAINER_CMD) - 2 :] == [IMAGE_REF, "-c", *CONTAINER_CMD]


def test_a_stack_that_does_not_stream_asks_the_ensemble_whole_and_with_a_stop_string(host):
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert asked(host) == [
        ("generate", REQUEST),
        ("generate", {**REQUEST, "stop_words": ["Paris"]}),
    ]
    log = (host.work / "build.log").read_text()
    assert "whole: answer:  Paris." in log
    # The answer ends where "Paris" begins in the whole answer: the space before it.
    assert manifest_of(result)["validation"] == {
        "endpoint": "/v2/models/ensemble/versions/1/generate",
        "network": "none",
        "prompt": PROMPT,
        "expect": "Paris",
        "answer": " Paris.",
        "stop": {"stopWords": ["Paris"], "answer": " "},
    }


def test_a_streaming_stack_asks_tensorrt_llm_bls_whole_streamed_with_a_stop_string_and_two_rows(host):
    streaming(host)
    result = host.run()
    assert result.returncode == 0, result.stderr
    base = {**REQUEST, "stream": False}
    assert asked(host) == [
        ("generate_stream", base),
        ("generate_stream", {**base, "stream": True}),
        ("generate_stream", {**base, "stream": True, "stop_words": ["Paris"]}),
        ("generate_stream", {**{key: [value, value] for key, value in REQUEST.items()}, "stream": [True, True]}),
    ]
    posts = [argv[-1] for argv in host.argvs("docker") if argv[0] == "exec" and "--data-binary" in argv]
    assert posts == ["http://127.0.0.1:9000/v2/models/tensorrt_llm_bls/versions/1/generate_stream"] * 4
    ready = [argv[-1] for argv in host.argvs("docker") if argv[0] == "exec" and argv[-1].endswith("/ready")]
    assert "http://127.0.0.1:9000/v2/models/tensorrt_llm_bls/ready" in ready
    assert manifest_of(result)["validation"] == {
        "endpoint": "/v2/models/tensorrt_llm_bls/versions/1/generate_stream",
        "network": "none",
        "prompt": PROMPT,
        "expect": "Paris",
        "answer": " Paris.",
        "streamedAnswer": " Paris.",
        "stop": {"stopWords": ["Paris"], "answer": " "},
        "twoRows": [" Paris.", " Paris."],
    }


def test_a_stop_string_at_the_very_start_of_a_streamed_answer_leaves_an_empty_stream(host):
    # Nothing precedes "Paris": the streamed request with it as a stop string sends no event at all.
    streaming(host)
    result = host.run(FAKE_WHOLE="Paris, of course.\n")
    assert result.returncode == 0, result.stderr
    validation = manifest_of(result)["validation"]
    assert (validation["answer"], validation["streamedAnswer"]) == ("Paris, of course.\n", "Paris, of course.\n")
    assert validation["stop"]["answer"] == ""


def test_an_answer_ending_in_a_newline_keeps_it_through_every_comparison(host):
    result = host.run(FAKE_WHOLE=" Lyon, not Paris\n\n")
    assert result.returncode == 0, result.stderr
    validation = manifest_of(result)["validation"]
    assert (validation["answer"], validation["stop"]["answer"]) == (" Lyon, not Paris\n\n", " Lyon, not ")


def test_a_model_that_needs_the_network_fails_validation(host):
    # It loads under a default network (the fake's rule, FAKE_TRITON=needs-network) and does not
    # without one, as in a deployment that has no way out.
    result = host.run(FAKE_TRITON="needs-network")
    assert result.returncode == 1
    assert "engine build failed in step validate" in result.stderr
    assert "Triton exited before it was ready" in result.stderr
    assert "We couldn't connect to 'https://huggingface.co'" in result.stderr
    assert (host.fake / "triton" / "network").read_text().strip() == "none"
    assert not host.bucket_dir.exists()


def test_an_image_without_curl_cannot_be_asked_and_says_so(host):
    result = host.run(FAKE_IMAGE_LACKS="curl")
    assert result.returncode == 1
    assert "the serving image has no curl on PATH" in result.stderr
    assert not host.bucket_dir.exists()


@pytest.fixture(scope="module")
def failing(tmp_path_factory, packer, repository):
    """A host whose builds fail at validation: after the first, each run resumes at `validate`."""
    return Host(tmp_path_factory.mktemp("failing"), packer, repository)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FAKE_ANSWER": '{"text_output": " Lyon."}'}, "whole: the answer does not hold 'Paris' (build.validation.expect)"),
        ({"FAKE_ANSWER": '{"text_output": "  "}'}, "whole: the answer is empty"),
        ({"FAKE_ANSWER": '{"model_name": "ensemble", "error_detail": "x"}'}, "whole: a response has no text_output"),
        (
            {"FAKE_CODE": "400", "FAKE_ANSWER": '{"error": "max_tokens must be at least 1"}'},
            "whole: POST /v2/models/ensemble/versions/1/generate answered HTTP 400",
        ),
        (
            {"FAKE_IGNORE_STOP": "1"},
            'stop: the answer is " Paris.", not " ": with stop_words ["Paris"] the answer must end where',
        ),
        ({"FAKE_TRITON": "load-fails"}, "Triton exited before it was ready: a model failed to load"),
        ({"FAKE_TRITON": "load-fails-running"}, "a model failed to load and Triton will never be ready"),
        ({"FAKE_TRITON": "never-ready"}, "Triton was not ready after 5 s, and OCI gives the deployment 600 s"),
        ({"FAKE_UNREADY_MODEL": "postprocessing"}, "model postprocessing is not ready (HTTP 400)"),
        (
            {"streaming": True, "FAKE_STREAM_ERROR": "tensorrt_llm_bls: out of KV cache blocks"},
            "streamed: the answer carried an error",
        ),
        (
            {"streaming": True, "FAKE_ANSWER": '{"error": "stop_words on this stack are applied by ..."}'},
            "whole: the answer carried an error",
        ),
        (
            {"streaming": True, "FAKE_STREAMED": " Paris!"},
            'streamed: the answer is " Paris!", not " Paris.": the streamed pieces must join to exactly the whole answer',
        ),
        ({"streaming": True, "FAKE_IGNORE_STOP": "1"}, 'stop: the answer is " Paris.", not " "'),
        (
            {"streaming": True, "FAKE_ROWS": "1"},
            "two-rows: two rows were asked and the responses name rows [0], not [0,1]",
        ),
    ],
)
def test_validation_fails_the_build_with_the_triton_log(failing, env, message):
    host = failing
    env = dict(env)
    if env.pop("streaming", False):
        streaming(host)
    else:
        host.write_env()
        (host.dir / "validation-request.json").write_text(json.dumps(REQUEST))
    result = host.run(**env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "engine build failed in step validate" in result.stderr
    assert message in result.stderr
    assert "last lines of the Triton log" in result.stderr
    assert "loading models from" in result.stderr
    if env.get("FAKE_TRITON", "").startswith("load-fails"):
        assert "failed to load 'tensorrt_llm'" in result.stderr
    assert not (host.fake / "triton" / "running").exists()  # the container was stopped
    assert not host.bucket_dir.exists()  # nothing uploaded
    assert len(host.argvs("trtllm-build")) == 1  # later cases resumed at validate


# An OpenAI stack (deployment.api openai): the image's OpenAI frontend, asked through its chat route.
@pytest.fixture
def openai_host(tmp_path, packer, rendered):
    host = Host(tmp_path, packer, RENDERED["openai"], validation_request=CHAT_REQUEST)
    host.write_env(**OPENAI_SETTINGS)
    return host


def test_an_openai_stack_runs_the_frontend_as_deployed_and_asks_its_chat_route_whole_streamed_and_with_a_stop(
    openai_host,
):
    host = openai_host
    result = host.run()
    assert result.returncode == 0, result.stderr
    argv = triton_run(host)
    # The launcher as the deployment runs it, no network, the artifact where OCI mounts it.
    assert argv[-len(OPENAI_CMD) - 1 :] == [IMAGE_REF, *OPENAI_CMD]
    assert argv[argv.index("--network") + 1] == "none"
    urls = [argv[-1] for argv in host.argvs("docker") if argv[0] == "exec" and argv[-1].startswith("http")]
    assert "http://127.0.0.1:9000/health/ready" in urls and "http://127.0.0.1:9000/v1/models" in urls
    assert not any("/v2/" in url for url in urls), "Triton's own endpoints are not what the deployment serves"
    assert asked(host) == [
        ("chat", CHAT_REQUEST),
        ("chat", {**CHAT_REQUEST, "stream": True}),
        ("chat", {**CHAT_REQUEST, "stream": True, "stop": ["Paris"]}),
    ]
    assert manifest_of(result)["validation"] == {
        "api": "openai",
        "endpoint": "/v1/chat/completions",
        "model": "odsc-llm",
        "models": ["odsc-llm", "preprocessing", "tensorrt_llm"],
        "network": "none",
        "prompt": PROMPT,
        "expect": "Paris",
        "answer": " Paris.",
        "streamedAnswer": " Paris.",
        "stop": {"stopWords": ["Paris"], "answer": " "},
    }


def test_an_openai_artifact_holds_the_models_under_models_and_the_written_chat_template(openai_host):
    host = openai_host
    result = host.run()
    assert result.returncode == 0, result.stderr
    archive = zipfile.ZipFile(host.work / "model.zip")
    names = set(archive.namelist())
    assert {
        "triton/openai_frontend.py",
        "triton/models/tensorrt_llm/1/rank0.engine",
        "triton/models/odsc-llm/1/model.py",
        "triton/models/preprocessing/config.pbtxt",
        "triton/tokenizer/tokenizer.json",
    } <= names
    assert {name.split("/")[2] for name in names if name.startswith("triton/models/") and name != "triton/models/"} == {
        "odsc-llm",
        "preprocessing",
        "tensorrt_llm",
    }
    template = (RENDERED["openai"] / "chat_template.jinja").read_text()
    shipped = json.loads(archive.read("triton/tokenizer/tokenizer_config.json"))
    assert shipped == {"file": "tokenizer_config.json", "chat_template": template}
    assert "chat template: triton/chat_template.jinja written into tokenizer_config.json" in result.stderr + (
        host.work / "build.log"
    ).read_text()
    # The snapshot and the engine cache keep the model's own file: the cached engine serves either API.
    assert json.loads((host.work / "model" / "tokenizer_config.json").read_text()) == {"file": "tokenizer_config.json"}
    engine_tar = tarfile.open(host.bucket(f"engines/{'e1a2b3' * 10}e1a2/engine.tar"))
    assert json.loads(engine_tar.extractfile("tokenizer/tokenizer_config.json").read()) == {"file": "tokenizer_config.json"}


def test_a_models_own_chat_template_is_kept(openai_host):
    result = openai_host.run(FAKE_OWN_CHAT_TEMPLATE="{{ bos_token }}{{ messages[0]['content'] }}")
    assert result.returncode == 0, result.stderr
    shipped = json.loads(zipfile.ZipFile(openai_host.work / "model.zip").read("triton/tokenizer/tokenizer_config.json"))
    assert shipped["chat_template"] == "{{ bos_token }}{{ messages[0]['content'] }}"
    assert "chat template: the model's own" in (openai_host.work / "build.log").read_text()


def test_a_model_without_a_chat_template_and_none_written_fails_before_validation(openai_host):
    (openai_host.dir / "repository" / "triton" / "chat_template.jinja").unlink()
    result = openai_host.run()
    assert result.returncode == 1
    assert "engine build failed in step stage" in result.stderr
    assert "tokenizer_config.json of tiiuae/falcon-7b-instruct has no chat_template" in result.stderr
    assert "deployment.api triton" in result.stderr


@pytest.fixture(scope="module")
def openai_failing(tmp_path_factory, packer, rendered):
    """An OpenAI stack's host whose builds fail at validation: after the first, each resumes there."""
    return Host(tmp_path_factory.mktemp("openai-failing"), packer, RENDERED["openai"], validation_request=CHAT_REQUEST)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FAKE_TRITON": "openai-missing"},
            f"the serving image {IMAGE_REF} cannot run Triton's OpenAI frontend, which deployment.api openai serves"
            " through: the image has no OpenAI frontend: /opt/tritonserver/python/openai/openai_frontend/main.py"
            " does not exist. Fix: serve an image that ships it",
        ),
        (
            {"FAKE_MODELS": "ensemble preprocessing tensorrt_llm odsc-llm"},
            'the OpenAI frontend lists the models ["ensemble","odsc-llm","preprocessing","tensorrt_llm"]',
        ),
        ({"FAKE_ANSWER": '{"choices": [{"text": " Paris."}]}'}, "whole: the answer is not a chat completion"),
        (
            {"FAKE_CODE": "400", "FAKE_ANSWER": '{"detail": "Unknown model: odsc-llm"}'},
            'whole: POST /v1/chat/completions answered HTTP 400: {"detail": "Unknown model: odsc-llm"}',
        ),
        ({"FAKE_WHOLE": " \n "}, "whole: the answer is empty"),
        (
            {"FAKE_STREAMED": " Paris!"},
            'streamed: the answer is " Paris!", not " Paris.": the streamed deltas must join to exactly the whole answer',
        ),
        ({"FAKE_NO_DONE": "1"}, "streamed: the stream did not end with data: [DONE]"),
        ({"FAKE_IGNORE_STOP": "1"}, 'stop: the answer is " Paris.", not " "'),
    ],
)
def test_an_openai_validation_fails_the_build_with_the_log(openai_failing, env, message):
    host = openai_failing
    host.write_env(**OPENAI_SETTINGS)
    result = host.run(**env)
    assert result.returncode == 1
    assert "engine build failed in step validate" in result.stderr
    assert message in result.stderr
    assert "last lines of the Triton log" in result.stderr
    assert not (host.fake / "triton" / "running").exists()
    assert not host.bucket_dir.exists()

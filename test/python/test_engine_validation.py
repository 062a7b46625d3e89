"""The validate step on the build host of build_host.py: Triton runs as the model deployment runs it,
and the model the deployment's endpoint serves is asked a known-answer question, greedily; an error,
an empty answer, a response without text_output, a wrong answer or a Triton that does not come up in
OCI's 10 minutes fails the build before anything is uploaded."""

import json

import pytest

from build_host import (
    CONTAINER_CMD,
    CONTAINER_ENV,
    IMAGE_REF,
    PROMPT,
    STREAMING_SETTINGS,
    Host,
    manifest_of,
)


def triton_run(host):
    (argv,) = [argv for argv in host.argvs("docker") if argv[:2] == ["run", "-d"]]
    return argv


def asked(host):
    """The requests Triton received, in order, as (endpoint kind, body)."""
    return [
        (path.name.split("-", 2)[2].removesuffix(".json"), json.loads(path.read_text()))
        for path in sorted(host.fake.glob("asked-*"), key=lambda path: int(path.name.split("-")[1]))
    ]


def test_triton_runs_as_the_deployment_runs_it_and_nothing_more(host):
    result = host.run()
    assert result.returncode == 0, result.stderr
    argv = triton_run(host)
    # The deployment's command, on the image the deployment runs, its environment and port, the
    # artifact where OCI mounts it, read-only.
    assert argv[-len(CONTAINER_CMD) - 1 :] == [IMAGE_REF, *CONTAINER_CMD]
    assert f"{host.work}/deployed:/opt/ds/model/deployed_model:ro" in argv
    assert argv[argv.index("-p") + 1] == "127.0.0.1:9000:9000"
    environment = (host.fake / "triton" / "environment").read_bytes().decode().split("\0")[:-1]
    assert dict(entry.split("=", 1) for entry in environment) == CONTAINER_ENV
    # No host network or IPC namespace, no shared memory or limits the deployment does not get.
    for option in ("--network", "--ipc=host", "--shm-size", "--shm-size=2g", "--ulimit", "--entrypoint"):
        assert option not in argv, option
    assert "--gpus" in argv


def test_an_entrypoint_of_the_deployment_is_the_containers_too(host):
    host.write_env(CONTAINER_ENTRYPOINT=json.dumps(["/bin/sh", "-c"]))
    result = host.run()
    assert result.returncode == 0, result.stderr
    argv = triton_run(host)
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"
    assert argv[-len(CONTAINER_CMD) - 2 :] == [IMAGE_REF, "-c", *CONTAINER_CMD]


def test_a_stack_that_does_not_stream_asks_the_ensemble_once_greedily_and_records_the_answer(host):
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert asked(host) == [
        ("generate", {"text_input": PROMPT, "max_tokens": 16, "top_k": 1, "end_id": 11, "pad_id": 11})
    ]
    (post,) = [argv for argv in host.argvs("curl") if "--data-binary" in argv]
    assert post[-1] == "http://127.0.0.1:9000/v2/models/ensemble/versions/1/generate"
    log = (host.work / "build.log").read_text()
    assert "whole: answer:  Paris." in log
    assert manifest_of(result)["validation"]["answer"] == " Paris."


def test_a_streaming_stack_asks_tensorrt_llm_bls_whole_and_streamed(host):
    host.write_env(**STREAMING_SETTINGS)
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert [(kind, body["stream"]) for kind, body in asked(host)] == [
        ("generate_stream", False),
        ("generate_stream", True),
    ]
    posts = [argv[-1] for argv in host.argvs("curl") if "--data-binary" in argv]
    assert posts == ["http://127.0.0.1:9000/v2/models/tensorrt_llm_bls/versions/1/generate_stream"] * 2
    ready = [argv[-1] for argv in host.argvs("curl") if argv[-1].endswith("/ready")]
    assert "http://127.0.0.1:9000/v2/models/tensorrt_llm_bls/ready" in ready
    validation = manifest_of(result)["validation"]
    assert (validation["answer"], validation["streamedAnswer"]) == (" Paris.", " Paris.")
    assert validation["endpoint"] == "/v2/models/tensorrt_llm_bls/versions/1/generate_stream"


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
            "whole: POST http://127.0.0.1:9000/v2/models/ensemble/versions/1/generate answered HTTP 400",
        ),
        ({"FAKE_TRITON": "load-fails"}, "Triton exited before it was ready: a model failed to load"),
        ({"FAKE_TRITON": "load-fails-running"}, "a model failed to load and Triton will never be ready"),
        ({"FAKE_TRITON": "never-ready"}, "Triton was not ready after 5 s, and OCI gives the deployment 600 s"),
        ({"FAKE_UNREADY_MODEL": "postprocessing"}, "model postprocessing is not ready (HTTP 400)"),
        (
            {**STREAMING_SETTINGS, "FAKE_STREAM_ERROR": "tensorrt_llm_bls: out of KV cache blocks"},
            "streamed: the answer carried an error",
        ),
        (
            {**STREAMING_SETTINGS, "FAKE_ANSWER": '{"error": "stop_words on this stack are applied by ..."}'},
            "whole: the answer carried an error",
        ),
    ],
)
def test_validation_fails_the_build_with_the_triton_log(failing, env, message):
    host = failing
    env = dict(env)
    settings = {key: env.pop(key) for key in list(env) if key in STREAMING_SETTINGS}
    host.write_env(**settings)
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

"""The build host scripts (engine-build/*.sh) run end to end on the build host of build_host.py: the
pipeline's steps, resumption, secrets, uploads and the manifest. The validation step has its own file
(test_engine_validation.py), build-engine.sh on its own too (test_build_engine.py).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import zipfile

import pytest

from build_host import (
    HF_TOKEN,
    IMAGE_REF,
    OCIR_TOKEN,
    OCIR_USER,
    SCRIPTS,
    Host,
    all_text_under,
    manifest_of,
    wait_for,
    write_fakes,
)


# What a stack that does not stream records of its validation (test_engine_validation.py).
VALIDATION = {
    "endpoint": "/v2/models/ensemble/versions/1/generate",
    "network": "none",
    "prompt": "The capital of France is",
    "expect": "Paris",
    "answer": " Paris.",
    "stop": {"stopWords": ["Paris"], "answer": " "},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory, packer, repository):
    """One successful bf16 build, shared by the tests that only read what it did (its bucket too)."""
    host = Host(tmp_path_factory.mktemp("built"), packer, repository)
    return host, host.run()



def test_bf16_build_validates_packs_uploads_and_prints_the_manifest(built):
    host, result = built
    assert result.returncode == 0, result.stderr

    manifest = manifest_of(result)
    zip_bytes = host.bucket("artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/model.zip").read_bytes()
    assert manifest["sha256"] == hashlib.sha256(zip_bytes).hexdigest()
    assert manifest["bytes"] == len(zip_bytes) == manifest["sizes"]["zipBytes"]
    assert manifest["entries"] == len(zipfile.ZipFile(host.work / "model.zip").namelist())
    assert {k: manifest[k] for k in ("schema", "mode", "engineKey", "artifactKey", "object", "imageRef")} == {
        "schema": 1,
        "mode": "build",
        "engineKey": "e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2",
        "artifactKey": "a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8",
        "object": "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/model.zip",
        "imageRef": IMAGE_REF,
    }
    assert (manifest["trtllmVersion"], manifest["gpu"], manifest["driver"]) == ("0.18.2", "NVIDIA A10", "550.90.07")
    build_flags = [
        "--gemm_plugin", "auto", "--gpt_attention_plugin", "auto", "--remove_input_padding", "enable",
        "--kv_cache_type", "paged", "--max_batch_size", "32", "--max_input_len", "1024",
        "--max_seq_len", "2048", "--workers", "1",
    ]
    assert manifest["engine"] == {
        "dtype": "bfloat16",
        "quantization": "none",
        "tp": 1,
        "maxBatchSize": 32,
        "maxInputLen": 1024,
        "maxOutputLen": 1024,
        "flags": build_flags,
    }
    assert set(manifest["timings"]) == {
        "preflight", "model-config", "pull-image", "inspect-image", "download", "convert", "build-engine", "stage",
        "pack", "validate", "upload-engine",
    }
    assert manifest["sizes"]["engineBytes"] == sum(
        p.stat().st_size for p in (host.work / "engine").iterdir()
    )
    assert manifest["sizes"]["tokenizerBytes"] > 0
    assert manifest["scriptVersion"] == "3"
    assert manifest["finishedAt"].endswith("Z")
    assert json.loads(host.bucket("artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/manifest.json").read_text()) == manifest

    # Exact tool command lines.
    assert host.argvs("python3") == [
        [str(host.examples / "models/contrib/falcon/convert_checkpoint.py"), "--model_dir", f"{host.work}/model",
         "--output_dir", f"{host.work}/checkpoint", "--dtype", "bfloat16", "--tp_size", "1"],
    ]
    assert host.argvs("trtllm-build") == [
        ["--checkpoint_dir", f"{host.work}/checkpoint", "--output_dir", f"{host.work}/engine", *build_flags]
    ]
    assert host.argvs("hf") == [
        ["download", "tiiuae/falcon-7b-instruct", "--revision", "8782b5c5d8c9290412416618f36a133653e85285",
         "--local-dir", f"{host.work}/model", "--exclude", "*.h5", "*.msgpack", "*.onnx",
         "*.bin", "*.bin.index.json", "*.pt", "*.pth"]
    ]

    # The zip is what the deployment mounts: rendered models + engine + tokenizer files, no weights.
    names = set(zipfile.ZipFile(host.work / "model.zip").namelist())
    assert {"triton/tensorrt_llm/1/rank0.engine", "triton/tensorrt_llm/1/config.json",
            "triton/tokenizer/tokenizer.json", "triton/ensemble/config.pbtxt"} <= names
    assert not any("safetensors" in n or "README" in n for n in names)

    # Triton ran on the unzipped artifact and answered the known-answer question, whole and with a
    # stop string (what the validation checks: test_engine_validation.py); the answers are in the
    # manifest.
    assert (host.fake / "triton" / "mount").read_text().strip() == f"{host.work}/deployed"
    assert manifest["validation"] == VALIDATION

    # Uploads: instance principal, multipart and parallel, the artifact manifest last.
    puts = [argv for argv in host.argvs("oci") if "put" in argv]
    assert [argv[argv.index("--name") + 1] for argv in puts] == [
        "engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/engine.tar",
        "engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/manifest.json",
        "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/model.zip",
        "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/build.log",
        "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/manifest.json",
    ]
    for argv in puts:
        assert argv[:4] == ["--auth", "instance_principal", "--region", "us-ashburn-1"]
        assert argv[argv.index("--part-size") + 1] == "128"
        assert argv[argv.index("--parallel-upload-count") + 1] == "8"
        assert argv[argv.index("--bucket-name") + 1] == "triton-dev-artifacts"
    engine_tar = host.bucket("engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/engine.tar")
    assert sorted(m.name for m in tarfile.open(engine_tar).getmembers() if m.isfile()) == [
        "engine/config.json", "engine/rank0.engine", "tokenizer/config.json", "tokenizer/generation_config.json",
        "tokenizer/special_tokens_map.json", "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json",
    ]

    # Progress: one line per step on stderr.
    for step in ("preflight", "download", "build-engine", "validate", "upload-artifact"):
        assert f"] {step} ..." in result.stderr
        assert f"] {step} done in " in result.stderr


def test_secrets_reach_only_docker_login_stdin_and_the_download_on_the_host(built):
    host, result = built
    assert result.returncode == 0, result.stderr
    assert (host.fake / "login-stdin").read_text() == OCIR_TOKEN + "\n"
    assert (host.fake / "hf-token-seen").read_text() == HF_TOKEN
    # config.json's fetch before both (steps/model-config.sh): the token in curl's stdin config.
    assert (host.fake / "hub-curl-config").read_text() == f'header = "Authorization: Bearer {HF_TOKEN}"'
    login = [argv for argv in host.argvs("docker") if "login" in argv]
    assert login[0][-2:] == ["--password-stdin", "iad.ocir.io"] and login[0][0] == "--config"
    # The download runs on the host (beside the image pull), its token in the CLI's environment only.
    assert not any("download" in argv for argv in host.argvs("docker"))

    for tool, argv in host.calls():
        for secret in (OCIR_TOKEN, HF_TOKEN):
            assert not any(secret in arg for arg in argv), (tool, argv)
    for path, data in all_text_under(host.work, host.dir, host.secrets, host.bucket_dir):
        for secret in (OCIR_TOKEN, HF_TOKEN, OCIR_USER):
            assert secret.encode() not in data, path
    assert not (host.secrets / "secrets").exists()
    assert host.secrets.stat().st_mode & 0o777 == 0o700
    assert list(host.secrets.iterdir()) == []  # the docker credentials folder is gone too


def test_without_a_hugging_face_token_the_download_gets_none(host):
    result = host.run(stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n\n")
    assert result.returncode == 0, result.stderr
    assert (host.fake / "hf-token-seen").read_text() == "<unset>"


def test_int4_awq_quantizes_with_the_shared_quantization_script_in_blocks_that_divide_the_hidden_size(host):
    host.write_env(QUANTIZATION="int4_awq", DTYPE="float16", AWQ_BLOCK_SIZE="64")
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert host.argvs("python3") == [
        [str(host.examples / "quantization/quantize.py"), "--model_dir", f"{host.work}/model",
         "--output_dir", f"{host.work}/checkpoint", "--dtype", "float16", "--tp_size", "1",
         "--qformat", "int4_awq", "--awq_block_size", "64"],
    ]
    assert manifest_of(result)["engine"]["quantization"] == "int4_awq"


def test_int4_awq_with_a_block_size_that_does_not_divide_falcons_hidden_size_stops_before_quantizing(host):
    host.write_env(QUANTIZATION="int4_awq", DTYPE="float16", AWQ_BLOCK_SIZE="128")
    result = host.run()
    assert result.returncode == 1
    assert "failed in step convert" in result.stderr
    assert "AWQ_BLOCK_SIZE=128 does not divide the hidden size 4544 per GPU (TP=1): set AWQ_BLOCK_SIZE=64" in result.stderr
    assert host.argvs("python3") == []


def test_chunked_context_builds_with_paged_context_fmha(host):
    host.write_env(CHUNKED_CONTEXT="true")
    result = host.run()
    assert result.returncode == 0, result.stderr
    (build,) = host.argvs("trtllm-build")
    assert build[-2:] == ["--use_paged_context_fmha", "enable"]
    assert manifest_of(result)["engine"]["flags"][-2:] == ["--use_paged_context_fmha", "enable"]


def test_only_the_steps_that_use_a_gpu_get_one(host):
    result = host.run()
    assert result.returncode == 0, result.stderr
    containers = {}
    for argv in host.argvs("docker"):
        if argv[0] == "run":
            containers[argv[argv.index("--name") + 1]] = "--gpus" in argv
    assert containers == {
        "engine-build-inspect": False,
        "engine-build-convert": True,
        "engine-build-build": True,
        "engine-build-triton": True,
    }


def test_fp8_tp8_quantizes_with_fp8_kv_cache_and_builds_eight_ranks(host):
    host.write_env(QUANTIZATION="fp8", TP="8", MAX_BATCH_SIZE="64", MAX_INPUT_LEN="2048", MAX_OUTPUT_LEN="512")
    result = host.run(FAKE_GPUS="8")
    assert result.returncode == 0, result.stderr
    assert host.argvs("python3") == [
        [str(host.examples / "quantization/quantize.py"), "--model_dir", f"{host.work}/model",
         "--output_dir", f"{host.work}/checkpoint", "--dtype", "bfloat16", "--tp_size", "8",
         "--qformat", "fp8", "--kv_cache_dtype", "fp8"],
    ]
    (build,) = host.argvs("trtllm-build")
    assert build[4:] == [
        "--gemm_plugin", "auto", "--gpt_attention_plugin", "auto", "--remove_input_padding", "enable",
        "--kv_cache_type", "paged", "--max_batch_size", "64", "--max_input_len", "2048",
        "--max_seq_len", "2560", "--workers", "8",
    ]
    names = zipfile.ZipFile(host.work / "model.zip").namelist()
    assert sorted(n for n in names if n.endswith(".engine")) == [f"triton/tensorrt_llm/1/rank{r}.engine" for r in range(8)]
    assert manifest_of(result)["engine"]["tp"] == 8


def test_tp_larger_than_the_gpu_count_fails_in_preflight(host):
    host.write_env(TP="2")
    result = host.run(FAKE_GPUS="1")
    assert result.returncode == 1
    assert "failed in step preflight" in result.stderr
    assert "TP=2 needs 2 GPUs; this instance has 1" in result.stderr
    assert host.argvs("hf") == []


def test_a_killed_pipeline_resumes_after_the_last_completed_step(host):
    first = host.start(FAKE_BLOCK="trtllm-build")
    wait_for(host.fake / "blocked")
    pid = int((host.work / "pipeline.pid").read_text())
    os.killpg(pid, signal.SIGKILL)  # the instance's pipeline dies with its whole session
    stdout, stderr = first.communicate(timeout=30)
    assert first.returncode == 1
    assert stdout == ""
    assert "stopped without finishing" in stderr
    assert "failed in step build-engine" in stderr

    second = host.run()
    assert second.returncode == 0, second.stderr
    for step in ("preflight", "pull-image", "inspect-image", "download", "convert"):
        assert f"] {step} already done" in second.stderr
    assert "] build-engine done in " in second.stderr
    assert len(host.argvs("hf")) == 1
    assert len(host.argvs("python3")) == 1  # the converted checkpoint is reused
    assert len(host.argvs("trtllm-build")) == 2
    # The interrupted run's container is removed before the step runs again.
    assert host.argvs("docker").count(["rm", "-f", "engine-build-build"]) == 2
    assert manifest_of(second)["mode"] == "build"


def test_a_second_run_while_one_is_running_attaches_to_it(host):
    first = host.start(FAKE_BLOCK="trtllm-build")
    wait_for(host.fake / "blocked")
    second = host.start(stdin="")
    attached = second.stderr.readline()  # printed before it follows; the build is still blocked
    (host.fake / "release").touch()
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), err1 + err2
    assert attached == "a build is already running: following it\n"
    assert manifest_of(subprocess.CompletedProcess([], 0, out2, "")) == json.loads(out1)
    assert len(host.argvs("trtllm-build")) == 1 and len(host.argvs("hf")) == 1


def test_a_build_without_ocir_credentials_stops_before_pulling(host):
    result = host.run(stdin="\n\n\n")
    assert result.returncode == 1
    assert "no OCIR credentials reached the pipeline" in result.stderr
    assert not any("pull" in argv for argv in host.argvs("docker"))


def test_a_failed_step_reports_the_log_tail_and_a_rerun_resumes_there(host):
    failed = host.run(FAKE_FAIL="trtllm-build")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert "engine build failed in step build-engine" in failed.stderr
    assert "out of memory while building the engine" in failed.stderr  # from the log tail
    assert "run build-host.sh run again to resume from build-engine" in failed.stderr
    assert not host.bucket("artifacts").exists()

    resumed = host.run()
    assert resumed.returncode == 0, resumed.stderr
    assert len(host.argvs("python3")) == 1 and len(host.argvs("hf")) == 1


def test_a_finished_build_prints_its_manifest_again_without_running(built):
    host, first = built
    assert first.returncode == 0, first.stderr
    calls = len(host.calls())
    again = host.run()
    assert again.returncode == 0
    assert manifest_of(again) == manifest_of(first)
    assert "already finished" in again.stderr
    followed = subprocess.run(["bash", str(host.dir / "build-host.sh"), "follow"], capture_output=True, text=True, env=host.env)
    assert followed.returncode == 0
    assert manifest_of(followed) == manifest_of(first)
    assert len(host.calls()) == calls


def test_upload_skips_objects_already_in_the_bucket_with_the_same_size(tmp_path, packer, repository, built):
    first, _ = built
    bucket = tmp_path / "bucket"
    shutil.copytree(first.bucket_dir, bucket)
    # A truncated engine tar (another size) is replaced.
    (bucket / "engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/engine.tar").write_bytes(b"partial")

    second = Host(tmp_path / "two", packer, repository, bucket=bucket)
    result = second.run()
    assert result.returncode == 0, result.stderr
    put_names = [a[a.index("--name") + 1] for a in second.argvs("oci") if "put" in a]
    assert put_names == [
        "engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/engine.tar",
        "engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/manifest.json",
        "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/build.log",
        "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/manifest.json",
    ]
    log = (second.work / "build.log").read_text()
    assert "artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/model.zip is already in the bucket with the same size" in log


def test_uploads_wait_while_the_new_policy_propagates_then_give_up(tmp_path, packer, repository):
    waiting = Host(tmp_path / "waiting", packer, repository)
    result = waiting.run(FAKE_DENIED_PUTS="2", POLICY_RETRY_SECONDS="0.1")
    assert result.returncode == 0, result.stderr
    log = (waiting.work / "build.log").read_text()
    assert log.count("not authorized yet: waiting for the build host's policy") == 2
    assert manifest_of(result)["object"].endswith("model.zip")

    refused = Host(tmp_path / "refused", packer, repository)
    result = refused.run(FAKE_DENIED_PUTS="1000", POLICY_RETRY_SECONDS="0.1", POLICY_WAIT_SECONDS="1")
    assert result.returncode == 1
    assert "NotAuthorizedOrNotFound" in result.stderr
    assert "engine build failed in step upload-engine" in result.stderr


ENGINE_KEY = "e1a2b3" * 10 + "e1a2"
ASSEMBLED_KEY = "b0c1d2" * 10 + "b0c1"


def assembling_host(root, packer, repository, built_bucket):
    """A host of the build's GPU shape whose bucket holds the build's engine, not this artifact."""
    bucket = root / "bucket"
    shutil.copytree(built_bucket, bucket)
    host = Host(root / "gpu", packer, repository, bucket=bucket)
    host.write_env(BUILD_MODE="assemble", ARTIFACT_KEY=ASSEMBLED_KEY)
    return host


def started_steps(host):
    return [line.split()[2] for line in (host.work / "status").read_text().splitlines() if line.split()[1] == "start"]


def test_assemble_mode_pulls_the_image_and_validates_the_cached_engine_before_it_uploads(tmp_path, packer, repository, built):
    builder, build_result = built
    assembler = assembling_host(tmp_path, packer, repository, builder.bucket_dir)
    # The engine was built under another driver than the one this host validates on.
    engine_manifest = assembler.bucket(f"engines/{ENGINE_KEY}/manifest.json")
    engine_manifest.write_text(json.dumps({**json.loads(engine_manifest.read_text()), "driver": "535.54.03"}))
    result = assembler.run(stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n\n")
    assert result.returncode == 0, result.stderr
    manifest = manifest_of(result)

    # The image pull beside the engine download, then the build's own stage, pack and validation.
    started = started_steps(assembler)
    assert started[0] == "preflight"
    assert set(started[1:3]) == {"pull-image", "fetch-engine"}
    assert started[3:] == ["stage", "pack", "validate", "upload-artifact"]
    # No download, no conversion, no trtllm-build, no config.json from the Hub (the cached engine was
    # built from a checked one); curl asks the instance metadata and Triton.
    assert {tool for tool, _ in assembler.calls()} == {"docker", "nvidia-smi", "oci", "curl"}
    assert not (assembler.fake / "hub-urls").exists()
    assert [argv[-1] for argv in assembler.argvs("docker") if "pull" in argv] == [IMAGE_REF]
    assert (assembler.fake / "login-stdin").read_text() == OCIR_TOKEN + "\n"
    gets = [argv[argv.index("--name") + 1] for argv in assembler.argvs("oci") if "get" in argv]
    assert gets == [f"engines/{ENGINE_KEY}/manifest.json", f"engines/{ENGINE_KEY}/engine.tar"]

    # Triton served the unzipped artifact on the GPUs, from the serving image, before any upload.
    calls = assembler.calls()
    triton = next(i for i, (tool, argv) in enumerate(calls) if tool == "docker" and argv[:2] == ["run", "-d"])
    assert calls[triton][1][calls[triton][1].index("--gpus") + 1] == "all"
    first_put = next(i for i, (tool, argv) in enumerate(calls) if tool == "oci" and "put" in argv)
    assert triton < first_put
    assert (assembler.fake / "triton" / "mount").read_text().strip() == f"{assembler.work}/deployed"
    puts = [argv[argv.index("--name") + 1] for argv in assembler.argvs("oci") if "put" in argv]
    assert puts == [f"artifacts/{ASSEMBLED_KEY}/{name}" for name in ("model.zip", "build.log", "manifest.json")]

    # The manifest records the answer as a build's does, and the GPU and driver it was served on.
    assert manifest["mode"] == "assemble"
    assert manifest["validation"] == manifest_of(build_result)["validation"] == VALIDATION
    assert (manifest["gpu"], manifest["driver"], manifest["trtllmVersion"]) == ("NVIDIA A10", "550.90.07", "0.18.2")
    assert manifest["engine"] == manifest_of(build_result)["engine"]
    assert set(manifest["timings"]) == {"preflight", "pull-image", "fetch-engine", "stage", "pack", "validate"}
    assert set(manifest["phases"]) == {
        "provision", "cloudInit", "imagePull", "engineDownload", "pack", "validate", "upload", "wallSeconds",
    }
    zip_bytes = assembler.bucket(f"artifacts/{ASSEMBLED_KEY}/model.zip").read_bytes()
    assert manifest["sha256"] == hashlib.sha256(zip_bytes).hexdigest()
    # Same engine and tokenizer, same repository: the same artifact bytes as the GPU build packed.
    assert zip_bytes == builder.bucket("artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/model.zip").read_bytes()


@pytest.mark.parametrize(
    ("triton", "reason"),
    [
        ({"FAKE_ANSWER": '{"model_name":"ensemble","text_output":" Lyon."}'}, "the answer does not hold 'Paris'"),
        ({"FAKE_TRITON": "load-fails"}, "Triton exited before it was ready"),
    ],
    ids=["wrong-answer", "engine-does-not-load"],
)
def test_assemble_mode_uploads_nothing_that_triton_did_not_answer_rightly_from(tmp_path, packer, repository, built, triton, reason):
    builder, _ = built
    assembler = assembling_host(tmp_path, packer, repository, builder.bucket_dir)
    result = assembler.run(stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n\n", **triton)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "engine build failed in step validate" in result.stderr
    assert reason in result.stderr
    assert [argv for argv in assembler.argvs("oci") if "put" in argv] == []
    assert not assembler.bucket(f"artifacts/{ASSEMBLED_KEY}").exists()


def test_assemble_mode_on_a_host_without_a_gpu_driver_stops_in_preflight(tmp_path, packer, repository, built):
    builder, _ = built
    assembler = assembling_host(tmp_path, packer, repository, builder.bucket_dir)
    write_fakes(tmp_path / "gpu" / "bin", {"nvidia-smi": "#!/usr/bin/env bash\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n"})
    result = assembler.run(stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n\n")
    assert result.returncode == 1
    assert "engine build failed in step preflight" in result.stderr
    assert "no working NVIDIA driver" in result.stderr
    assert assembler.argvs("oci") == []
    assert not any("pull" in argv for argv in assembler.argvs("docker"))


def test_assemble_mode_without_ocir_credentials_stops_before_pulling_or_fetching(tmp_path, packer, repository, built):
    builder, _ = built
    assembler = assembling_host(tmp_path, packer, repository, builder.bucket_dir)
    result = assembler.run(stdin="\n\n\n")
    assert result.returncode == 1
    assert "no OCIR credentials reached the pipeline" in result.stderr
    assert not any("pull" in argv for argv in assembler.argvs("docker"))
    assert assembler.argvs("oci") == []


def test_examples_are_fetched_at_the_image_version_when_the_image_has_none(host):
    shutil.rmtree(host.examples)
    host.examples.mkdir()
    result = host.run()
    assert result.returncode == 0, result.stderr
    clone = next(argv for argv in host.argvs("git") if argv[0] == "clone")
    assert clone == ["clone", "--depth", "1", "--branch", "v0.18.2", "--filter=blob:none", "--sparse",
                     "https://github.com/NVIDIA/TensorRT-LLM.git", f"{host.work}/TensorRT-LLM"]
    assert host.argvs("python3")[0][0] == f"{host.work}/TensorRT-LLM/examples/models/contrib/falcon/convert_checkpoint.py"


def test_systemd_launch_carries_no_secret(host):
    result = host.run(ENGINE_BUILD_LAUNCHER="systemd")
    assert result.returncode == 0, result.stderr
    (argv,) = host.argvs("systemd-run")
    assert argv[:3] == ["--unit", "engine-build", "--collect"]
    assert argv[-2:] == [str(host.dir / "build-host.sh"), "pipeline"]
    assert not any(s in arg for arg in argv for s in (OCIR_TOKEN, HF_TOKEN, OCIR_USER))


def test_invalid_build_env_lists_every_problem_and_starts_nothing(host):
    host.write_env(MAX_BATCH_SIZE="abc", TP="3", IMAGE_REF="iad.ocir.io/ns/repo:latest", STREAMING="yes",
                   CONTAINER_CMD="tritonserver --http-port=9000")
    result = host.run()
    assert result.returncode == 1
    for message in (
        "build.env: MAX_BATCH_SIZE='abc' is invalid: a positive whole number",
        "build.env: TP='3' is invalid: use one of 1 2 4 8",
        "build.env: IMAGE_REF='iad.ocir.io/ns/repo:latest' is invalid: pin the OCIR image by digest",
        "build.env: STREAMING='yes' is invalid: use one of true false",
        "build.env: CONTAINER_CMD='tritonserver --http-port=9000' is invalid: a JSON array of strings",
    ):
        assert message in result.stderr
    assert not (host.work / "status").exists()
    assert host.calls() == []


def test_usage_errors_exit_2(host):
    for args in ([], ["bogus"], ["run", "extra"]):
        result = subprocess.run(["bash", str(host.dir / "build-host.sh"), *args], capture_output=True, text=True, env=host.env)
        assert result.returncode == 2, args
        assert "usage:" in result.stderr
    helped = subprocess.run(["bash", str(host.dir / "build-host.sh"), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "build-host.sh run" in helped.stdout


def test_every_library_and_step_file_is_sourced_and_every_step_has_its_file():
    # `shellcheck -x -a` (npm run test:shell) checks these files through build-host.sh only.
    script = (SCRIPTS / "build-host.sh").read_text()
    sourced = set(re.findall(r'^source "\$\{script_dir\}/(.+)"$', script, re.M))
    assert sourced == {str(p.relative_to(SCRIPTS)) for p in SCRIPTS.rglob("*.sh") if p.parent != SCRIPTS}
    steps = set()
    for mode in ("build_steps", "assemble_steps", "image_copy_steps", "mirror_steps"):
        steps.update(re.search(rf"^readonly {mode}=\(([^)]*)\)", script, re.M).group(1).replace("+", " ").split())
    assert "fetch-engine" in steps and "validate" in steps
    assert {f"steps/{name}.sh" for name in steps} == {path for path in sourced if path.startswith("steps/")}


# --- cloud-init ------------------------------------------------------------------------------------


def test_cloud_init_passes_cloud_init_schema_and_its_script_passes_shellcheck(tmp_path):
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "cloud-init is not installed: apt-get install -y cloud-init (.ci/run does)"
    result = subprocess.run([cloud_init, "schema", "--config-file", str(SCRIPTS / "cloud-init.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout

    import yaml

    config = yaml.safe_load((SCRIPTS / "cloud-init.yaml").read_text())
    (setup,) = config["write_files"]
    script = tmp_path / "setup.sh"
    script.write_text(setup["content"])
    checked = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    for needed in ("oci-growfs -y", "docker-ce", "nvidia-container-toolkit", "nvidia-ctk runtime configure --runtime=docker",
                   "nodejs:20", "python36-oci-cli", " jq ", " unzip "):
        assert needed in setup["content"], needed
    assert config["runcmd"] == [["bash", setup["path"]]]

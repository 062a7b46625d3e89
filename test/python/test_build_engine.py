"""build-engine.sh on its own, as used by hand (docs/engine-by-hand.md) and by the build host's
steps: settings, trtllm-build flags, the download and the quantization arguments, with the image's
tools replaced by the fakes of build_host.py.
"""

import subprocess

import pytest

from build_host import SCRIPTS


def build_engine(host, *args, **env):
    full_env = {
        "PATH": f"{host.root / 'container-bin'}:/usr/bin:/bin",
        "FAKE_DIR": str(host.fake),
        "TRTLLM_EXAMPLES": str(host.examples),
        **env,
    }
    return subprocess.run(["bash", str(SCRIPTS / "build-engine.sh"), *args], capture_output=True, text=True, env=full_env)


def test_build_engine_rejects_bad_settings_all_at_once_with_exit_2(host):
    result = build_engine(host, "/models/x", "/engines/x", MAX_BATCH_SIZE="32x", DTYPE="fp32", FAMILY="gpt")
    assert result.returncode == 2
    assert "MAX_BATCH_SIZE='32x' is not a positive whole number" in result.stderr
    assert "DTYPE='fp32' is not supported: use float16 or bfloat16" in result.stderr
    assert "FAMILY='gpt' is not supported" in result.stderr
    assert "unbound variable" not in result.stderr
    assert build_engine(host, "only-one-arg").returncode == 2


def test_build_engine_outside_the_image_says_so(host, tmp_path):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    (empty_bin / "python3").symlink_to("/bin/false")
    result = build_engine(host, str(tmp_path), str(tmp_path / "engine"), PATH=f"{empty_bin}:/usr/bin:/bin")
    assert result.returncode == 1
    assert "cannot import tensorrt_llm: run this inside the Triton TensorRT-LLM image" in result.stderr


def test_build_engine_refuses_a_missing_model_folder_before_converting(host, tmp_path):
    result = build_engine(host, str(tmp_path / "no-model"), str(tmp_path / "engine"))
    assert result.returncode == 1
    assert f"model folder {tmp_path / 'no-model'} does not exist" in result.stderr
    assert host.argvs("python3") == []


def test_build_engine_by_hand_converts_then_builds(host, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_text("w")
    result = build_engine(host, str(model), str(tmp_path / "engine"), TP="1")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "engine" / "rank0.engine").stat().st_size > 0
    assert "engine ready: set engine.prebuiltDir to" in result.stdout


def test_the_flags_are_trtllm_build_0_18s_and_chunked_context_adds_paged_context_fmha(host):
    plain = build_engine(host, "flags")
    assert plain.returncode == 0, plain.stderr
    assert "--kv_cache_type\npaged\n" in plain.stdout and "--paged_kv_cache" not in plain.stdout
    assert "--use_paged_context_fmha" not in plain.stdout
    chunked = build_engine(host, "flags", CHUNKED_CONTEXT="true")
    assert chunked.stdout.endswith("--use_paged_context_fmha\nenable\n")


def test_awq_block_sizes_other_than_the_kernels_are_refused(host):
    result = build_engine(host, "flags", AWQ_BLOCK_SIZE="96", CHUNKED_CONTEXT="maybe")
    assert result.returncode == 2
    assert "AWQ_BLOCK_SIZE='96' is not a block size TensorRT-LLM's AWQ kernels take: use 64 or 128" in result.stderr
    assert "CHUNKED_CONTEXT='maybe' is not true or false" in result.stderr


@pytest.mark.parametrize(
    ("files", "skipped", "kept"),
    [
        # tiiuae/falcon-7b-instruct carries both formats: the safetensors only.
        (
            "config.json model-00001-of-00002.safetensors model.safetensors.index.json "
            "pytorch_model-00001-of-00002.bin pytorch_model.bin.index.json",
            ["*.bin", "*.bin.index.json", "*.pt", "*.pth"],
            "model-00001-of-00002.safetensors",
        ),
        # A revision with PyTorch weights only: those, and no safetensors index that would point
        # transformers at files that are not there.
        (
            "config.json pytorch_model-00001-of-00002.bin pytorch_model.bin.index.json",
            ["*.safetensors", "*.safetensors.index.json"],
            "pytorch_model-00001-of-00002.bin",
        ),
    ],
)
def test_the_download_lists_the_revision_and_fetches_one_weight_format(host, tmp_path, files, skipped, kept):
    target = tmp_path / "model"
    result = build_engine(host, "download", "tiiuae/falcon-7b-instruct", "8782b5c", str(target), FAKE_REPO_FILES=files)
    assert result.returncode == 0, result.stderr
    (argv,) = host.argvs("hf")
    assert argv == [
        "download", "tiiuae/falcon-7b-instruct", "--revision", "8782b5c", "--local-dir", str(target),
        "--exclude", "*.h5", "*.msgpack", "*.onnx", *skipped,
    ]
    assert (target / kept).exists()


def test_a_revision_without_weights_is_refused_before_downloading(host, tmp_path):
    result = build_engine(
        host, "download", "tiiuae/falcon-7b-instruct", "8782b5c", str(tmp_path / "model"),
        FAKE_REPO_FILES="config.json README.md",
    )
    assert result.returncode == 1
    assert "has neither *.safetensors nor *.bin weights: pick a revision that has them" in result.stderr
    assert host.argvs("hf") == []


def test_the_files_are_listed_with_the_python_the_hugging_face_cli_runs_on(tmp_path):
    # On the build host huggingface_hub is installed for python3.11 only (cloud-init.yaml); the
    # platform's python3 cannot import it.
    cli = tmp_path / "huggingface-cli"
    functions = f"source <(sed '$d' {SCRIPTS / 'build-engine.sh'}); PATH={tmp_path}:$PATH; hub_python huggingface-cli"
    for shebang, python in (("#!/usr/bin/python3.11", "/usr/bin/python3.11"), ("#!/usr/bin/env bash", "python3")):
        cli.write_text(f"{shebang}\nexit 0\n")
        cli.chmod(0o755)
        result = subprocess.run(["bash", "-c", functions], capture_output=True, text=True)
        assert result.stdout == f"{python}\n", result.stderr

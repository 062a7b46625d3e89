"""The model-config step on the build host of build_host.py: before the image pull and the weight
download, the model's config.json alone comes from the Hub (with the Hugging Face token, never on a
command line) and is compared with what the stack declares (HF_CONFIG_EXPECT, written by
components/build/model-config-check.ts, which these tests run through node for the stacks they
need). A model the converter would not build, a gated model without a token, a revision that does
not exist or a Hub out of reach fails the build in that step, before anything large is fetched."""

import json
import subprocess

from build_host import HF_TOKEN, HUB_CONFIGS, OCIR_TOKEN, OCIR_USER, REPO_ROOT

NO_HF_TOKEN = f"{OCIR_USER}\n{OCIR_TOKEN}\n\n"


def expectations(huggingface_id, catalogued=None, declared=None):
    """HF_CONFIG_EXPECT for a model: its catalogue entry, or an architecture the stack declares."""
    script = (
        "const { configExpectations } = require('./components/build/model-config-check.ts');"
        "const { MODELS } = require('./components/config/catalog.ts');"
        "const [id, catalogued, declared] = JSON.parse(process.argv[1]);"
        "const architecture = declared === null ? undefined : { ...MODELS[declared[0]], ...declared[1] };"
        "const resolved = architecture ?? MODELS[catalogued];"
        "process.stdout.write(JSON.stringify(configExpectations({ huggingFaceId: id, architecture, resolved })));"
    )
    result = subprocess.run(
        ["node", "--import", "tsx", "-e", script, json.dumps([huggingface_id, catalogued, declared])],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def started_steps(host):
    return [line.split()[2] for line in (host.work / "status").read_text().splitlines() if line.split()[1] == "start"]


def nothing_large_was_fetched(host):
    assert not any(argv[0] in ("pull", "run") for argv in host.argvs("docker"))
    assert host.argvs("hf") == []
    assert host.argvs("nvidia-smi") != []  # preflight ran first
    assert not host.bucket_dir.exists()


def test_config_json_alone_is_compared_before_the_pull_and_the_download(host):
    result = host.run()
    assert result.returncode == 0, result.stderr
    started = started_steps(host)
    assert started[:2] == ["preflight", "model-config"]
    assert set(started[2:4]) == {"pull-image", "download"}
    (fetch,) = [argv for argv in host.argvs("curl") if "huggingface.co" in argv[-1]]
    assert fetch[-1] == (
        "https://huggingface.co/tiiuae/falcon-7b-instruct/resolve/8782b5c5d8c9290412416618f36a133653e85285/config.json"
    )
    # The token on curl's stdin (-K -), as the header huggingface_hub sends.
    assert fetch[fetch.index("-K") + 1] == "-"
    assert not any(HF_TOKEN in arg for arg in fetch)
    assert (host.fake / "hub-curl-config").read_text() == f'header = "Authorization: Bearer {HF_TOKEN}"'
    log = (host.work / "build.log").read_text()
    assert (
        'config.json matches the stack: {"architectures":["FalconForCausalLM"],"model_type":"falcon",'
        '"hidden_size":4544,"num_attention_heads":71,"num_hidden_layers":32}'
    ) in log
    assert "model-config" in json.loads(result.stdout)["timings"]


def test_a_public_model_is_asked_without_a_token(host):
    result = host.run(stdin=NO_HF_TOKEN)
    assert result.returncode == 0, result.stderr
    assert (host.fake / "hub-curl-config").read_text() == ""


def test_the_original_falcon_config_with_its_older_names_matches_too(host):
    result = host.run(FAKE_HUB_CONFIG=str(HUB_CONFIGS / "tiiuae--falcon-7b-instruct-refinedweb.json"))
    assert result.returncode == 0, result.stderr
    assert '"architectures":["RWForCausalLM"],"model_type":"RefinedWebModel"' in (host.work / "build.log").read_text()


def test_qwen_declared_as_llama_fails_in_the_first_step_naming_every_key(host):
    # Issue 27's example: Qwen2.5-7B-Instruct with a declared Llama architecture of Llama's sizes.
    host.write_env(
        HF_MODEL_ID="Qwen/Qwen2.5-7B-Instruct",
        MODEL_FAMILY="llama",
        HF_CONFIG_EXPECT=expectations(
            "Qwen/Qwen2.5-7B-Instruct", declared=["meta-llama/Llama-3.1-8B-Instruct", {}]
        ),
    )
    result = host.run(FAKE_HUB_CONFIG=str(HUB_CONFIGS / "Qwen--Qwen2.5-7B-Instruct.json"))
    assert result.returncode == 1
    assert "engine build failed in step model-config" in result.stderr
    assert "Qwen/Qwen2.5-7B-Instruct at 8782b5c5d8c9290412416618f36a133653e85285 is not the model the stack declares" in result.stderr
    for line in (
        'model.architecture.family: architectures = "Qwen2ForCausalLM" (the stack says "LlamaForCausalLM" or "MistralForCausalLM")',
        'model.architecture.family: model_type = "qwen2" (the stack says "llama" or "mistral")',
        "model.architecture.hiddenSize: hidden_size = 3584 (the stack says 4096)",
        "model.architecture.queryHeads: num_attention_heads = 28 (the stack says 32)",
        "model.architecture.layers: num_hidden_layers = 28 (the stack says 32)",
    ):
        assert line in result.stderr, line
    assert "nothing was pulled or downloaded" in result.stderr
    nothing_large_was_fetched(host)


def test_a_catalogued_id_whose_config_is_another_size_names_the_id(host):
    # Falcon-40B's catalogue entry, but the repository serves Falcon-7B's config.json.
    host.write_env(HF_MODEL_ID="tiiuae/falcon-40b-instruct", HF_CONFIG_EXPECT=expectations("tiiuae/falcon-40b-instruct", "tiiuae/falcon-40b-instruct"))
    result = host.run()
    assert result.returncode == 1
    assert "model.huggingFaceId: hidden_size = 4544 (the stack says 8192)" in result.stderr
    assert "model.huggingFaceId: num_attention_heads = 71 (the stack says 128)" in result.stderr
    assert "model.huggingFaceId: architectures" not in result.stderr
    nothing_large_was_fetched(host)


def test_a_gated_model_is_fetched_with_the_token_and_refused_without_it(tmp_path_factory, packer, repository):
    from build_host import Host

    with_token = Host(tmp_path_factory.mktemp("gated"), packer, repository)
    result = with_token.run(FAKE_HUB_TOKEN=HF_TOKEN)
    assert result.returncode == 0, result.stderr

    without = Host(tmp_path_factory.mktemp("gated-no-token"), packer, repository)
    result = without.run(stdin=NO_HF_TOKEN, FAKE_HUB_TOKEN=HF_TOKEN)
    assert result.returncode == 1
    assert (
        "tiiuae/falcon-7b-instruct is gated and the Hub refused a request without a token (HTTP 401): set hfToken"
        in result.stderr
    )
    nothing_large_was_fetched(without)


def test_the_hubs_refusals_say_what_to_fix(host):
    cases = [
        ("404 RevisionNotFound", "model.revision 8782b5c5d8c9290412416618f36a133653e85285 is not a revision of tiiuae/falcon-7b-instruct (HTTP 404)"),
        ("404 EntryNotFound", "tiiuae/falcon-7b-instruct at 8782b5c5d8c9290412416618f36a133653e85285 has no config.json (HTTP 404)"),
        ("401 RepoNotFound", "the Hub shows no repository tiiuae/falcon-7b-instruct to this token (HTTP 401, RepoNotFound): check model.huggingFaceId"),
        ("401", "the Hub shows no repository tiiuae/falcon-7b-instruct to this token (HTTP 401): check model.huggingFaceId"),
        ("503", "the Hub answered HTTP 503 for https://huggingface.co/tiiuae/falcon-7b-instruct/resolve/"),
    ]
    for refusal, message in cases:
        result = host.run(FAKE_HUB_REFUSAL=refusal)
        assert result.returncode == 1, refusal
        assert "engine build failed in step model-config" in result.stderr, refusal
        assert message in result.stderr, (refusal, result.stderr)
        nothing_large_was_fetched(host)


def test_a_hub_out_of_reach_fails_the_step(host):
    result = host.run(FAKE_HUB="down")
    assert result.returncode == 1
    assert "cannot fetch https://huggingface.co/tiiuae/falcon-7b-instruct/resolve/" in result.stderr
    nothing_large_was_fetched(host)


def test_a_branch_revision_is_quoted_in_the_url(host):
    host.write_env(HF_REVISION="refs/pr/12")
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert (host.fake / "hub-urls").read_text().splitlines() == [
        "https://huggingface.co/tiiuae/falcon-7b-instruct/resolve/refs%2Fpr%2F12/config.json"
    ]


def test_build_env_without_the_expectations_is_refused_before_anything_runs(host):
    host.write_env(HF_CONFIG_EXPECT='[{"field": "hidden_size"}]')
    result = host.run()
    assert result.returncode == 1
    assert "build.env: HF_CONFIG_EXPECT='[{\"field\": \"hidden_size\"}]' is invalid" in result.stderr
    assert host.calls() == []

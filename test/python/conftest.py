"""Shared fixtures: the model repository rendered for real by `cli/render.ts`, its configs read the
way Triton hands them to a Python model (see pbtxt.py). The models under test run from the rendered
streaming stack's folders, which hold every Python file the renderer ships. And the build host of the
engine-build tests (build_host.py): the packer bundled with esbuild exactly as the build host
receives it, and the dev stack's repository rendered by cli/render.ts.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]

sys.path.insert(0, str(HERE))
# The models are executed from their source folders, which the renderer ships: keep those clean.
sys.dont_write_bytecode = True

import pbtxt  # noqa: E402
import support  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from build_host import Host  # noqa: E402

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexample"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexampleexa"

STACKS = {
    "falcon": """
  triton-trtllm-oci:model:
    huggingFaceId: tiiuae/falcon-7b-instruct
    localDir: ./models/falcon
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/falcon
    maxBatchSize: 8
    maxInputLen: 12
""",
    "llama": """
  triton-trtllm-oci:model:
    huggingFaceId: meta-llama/Llama-3.1-8B-Instruct
    localDir: ./models/llama
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/llama
    tensorParallel: 2
  triton-trtllm-oci:deployment:
    shape: VM.GPU.A10.2
""",
    "streaming": """
  triton-trtllm-oci:model:
    huggingFaceId: tiiuae/falcon-7b-instruct
    localDir: ./models/falcon
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/falcon
    maxBatchSize: 8
  triton-trtllm-oci:deployment:
    streaming: true
""",
    # deployment.api openai: the repository the image's OpenAI frontend loads, under models/.
    "openai": """
  triton-trtllm-oci:model:
    huggingFaceId: tiiuae/falcon-7b-instruct
    localDir: ./models/falcon
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/falcon
    maxBatchSize: 8
  triton-trtllm-oci:deployment:
    api: openai
    defaultMaxTokens: 48
""",
    "openai-llama": """
  triton-trtllm-oci:model:
    huggingFaceId: meta-llama/Llama-3.1-8B-Instruct
    localDir: ./models/llama
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/llama
    tensorParallel: 2
  triton-trtllm-oci:deployment:
    shape: VM.GPU.A10.2
    api: openai
""",
}


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """Stack name -> {model name: config dict}, from `node --import tsx cli/render.ts`."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the configs under test are rendered by cli/render.ts")
    project = tmp_path_factory.mktemp("project")
    configs = {}
    for name, body in STACKS.items():
        (project / f"Pulumi.{name}.yaml").write_text(
            "config:\n  oci:region: us-ashburn-1\n"
            f"  triton-trtllm-oci:compartmentId: {COMPARTMENT}\n"
            f"  triton-trtllm-oci:tenancyId: {TENANCY}\n" + body
        )
        out = tmp_path_factory.mktemp(f"render-{name}")
        result = subprocess.run(
            [node, "--import", "tsx", "cli/render.ts", "--stack", name, "--dir", str(project), "--out", str(out)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        # An OpenAI stack's models are under models/ (components/deployment/openai-frontend.ts).
        configs[name] = {
            config.parent.name: pbtxt.parse(config.read_text())
            for config in (out / "triton").glob("**/config.pbtxt")
        }
        if name == "streaming":
            support.RENDERED["root"] = out / "triton"
        if name == "openai":
            support.RENDERED["openai"] = out / "triton"
    return configs


@pytest.fixture(autouse=True)
def clear_log():
    pb_utils.Logger.messages.clear()


@pytest.fixture(scope="session")
def packer(tmp_path_factory):
    """package-artifact.cjs bundled by esbuild, as the build host receives it."""
    out = tmp_path_factory.mktemp("packer") / "package-artifact.cjs"
    script = (
        "require('esbuild').buildSync({entryPoints: ['cli/package-artifact.ts'], bundle: true,"
        f" platform: 'node', target: 'node20', format: 'cjs', outfile: {json.dumps(str(out))}, logLevel: 'error'}})"
    )
    subprocess.run(["node", "-e", script], cwd=REPO_ROOT, check=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def repository(tmp_path_factory):
    """The dev stack's model repository, rendered by cli/render.ts (no engine, no tokenizer)."""
    out = tmp_path_factory.mktemp("rendered")
    subprocess.run(
        ["node", "--import", "tsx", "cli/render.ts", "--stack", "dev", "--out", str(out)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out / "triton"


@pytest.fixture
def host(tmp_path, packer, repository):
    return Host(tmp_path, packer, repository)

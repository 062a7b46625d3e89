"""Shared fixtures: the model repository rendered for real by `cli/render.ts`, its configs read the
way Triton hands them to a Python model (see pbtxt.py). The models under test run from the rendered
streaming stack's folders, which hold every Python file the renderer ships.
"""

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
        configs[name] = {
            config.parent.name: pbtxt.parse(config.read_text()) for config in (out / "triton").glob("*/config.pbtxt")
        }
        if name == "streaming":
            support.RENDERED["root"] = out / "triton"
    return configs


@pytest.fixture(autouse=True)
def clear_log():
    pb_utils.Logger.messages.clear()

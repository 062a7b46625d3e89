"""The build host scripts (engine-build/*.sh) run end to end, with the GPU and cloud tools replaced by
fakes on PATH that record their argv: docker (which runs "container" commands on this machine with
the container's own fakes: python3, hf, trtllm-build), nvidia-smi, oci (a bucket in a folder), curl
(a Triton that answers from a folder) and systemd-run. node and the project's packer are real: the
packer is bundled with esbuild exactly as the build host receives it, and the model repository is
rendered by cli/render.ts.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "engine-build"

OCIR_USER = "axaxnpcrorw5/builder@example.com"
OCIR_TOKEN = "ocir-token-Zx81;Qv"
HF_TOKEN = "hf_secretTokenValue42"
PROMPT = "What is the capital of France?"
IMAGE_REF = "iad.ocir.io/axaxnpcrorw5/triton-dev:25.04-trtllm-python-py3@sha256:" + "ab" * 32
CONTAINER_CMD = [
    "tritonserver",
    "--model-repository=/opt/ds/model/deployed_model/triton",
    "--http-port=9000",
    "--allow-grpc=false",
]

# Recorded calls: one file per call, argv NUL-separated, named so that sorting gives call order.
RECORD = r"""
record() {
  local name=$1
  shift
  printf '%s\0' "$@" >"${FAKE_DIR}/calls/$(date +%s%N)-$$-${name}"
}
"""

FAKES = {
    "docker": r"""#!/usr/bin/env bash
set -euo pipefail
__RECORD__
record docker "$@"
config=""
if [ "$1" = --config ]; then config=$2; shift 2; fi
sub=$1
shift
triton=${FAKE_DIR}/triton
case "${sub}" in
  info) echo 27.3.1 ;;
  login)
    [ -n "${config}" ] && [ -d "${config}" ] || { echo "login without a private --config dir" >&2; exit 1; }
    cat >"${FAKE_DIR}/login-stdin"
    ;;
  pull)
    [ "${FAKE_FAIL:-}" != pull ] || { echo "pull access denied" >&2; exit 1; }
    touch "${FAKE_DIR}/pulling"
    sleep "${FAKE_PULL_SECONDS:-0}"
    rm -f "${FAKE_DIR}/pulling"
    ;;
  logout) ;;
  rm) [ "${*: -1}" != engine-build-triton ] || rm -f "${triton}/running" ;;
  inspect) if [ -f "${triton}/running" ]; then echo true; else echo false; fi ;;
  logs) cat "${triton}/log" 2>/dev/null || true ;;
  run)
    detached=false envs=() mount=""
    while [ "$#" -gt 0 ]; do
      case "$1" in
        -d) detached=true; shift ;;
        --rm) shift ;;
        --name | -w | --ulimit | --gpus | --shm-size) shift 2 ;;
        --ipc=* | --shm-size=*) shift ;;
        --network) shift 2 ;;
        -v)
          [[ $2 == *:/opt/ds/model/deployed_model:ro ]] && mount=${2%%:*}
          shift 2
          ;;
        -e)
          if [[ $2 == *=* ]]; then envs+=("$2"); elif [ -n "${!2:-}" ]; then envs+=("$2=${!2}"); fi
          shift 2
          ;;
        *) break ;;
      esac
    done
    image=$1
    shift
    [ "${image}" = "${EXPECTED_IMAGE}" ] || { echo "unexpected image ${image}" >&2; exit 1; }
    if [ "${detached}" = true ]; then
      mkdir -p "${triton}"
      echo "I1125 model_lifecycle: loading models from ${mount}" >"${triton}/log"
      echo "${mount}" >"${triton}/mount"
      if [ "${FAKE_TRITON:-ok}" != ok ]; then
        echo "E1125 model_lifecycle.cc:654] failed to load 'tensorrt_llm' version 1: engine plan file is generated on an incompatible device" >>"${triton}/log"
      fi
      # load-fails: Triton exits (--exit-on-error, the default); load-fails-running: it keeps running.
      [ "${FAKE_TRITON:-ok}" = load-fails ] || touch "${triton}/running"
      echo 3f2a9c
    else
      # The image's filesystem: TensorRT-LLM's examples where FAKE_IMAGE_EXAMPLES says.
      env -i PATH="${FAKE_CONTAINER_BIN}:/usr/bin:/bin" HOME=/root FAKE_DIR="${FAKE_DIR}" \
        TRTLLM_EXAMPLES="${FAKE_IMAGE_EXAMPLES}" FAKE_BLOCK="${FAKE_BLOCK:-}" FAKE_FAIL="${FAKE_FAIL:-}" \
        "${envs[@]}" "$@"
    fi
    ;;
  *) echo "fake docker: unexpected ${sub}" >&2; exit 1 ;;
esac
""",
    "nvidia-smi": r"""#!/usr/bin/env bash
__RECORD__
record nvidia-smi "$@"
for ((i = 0; i < ${FAKE_GPUS:-1}; i++)); do echo "NVIDIA A10, 550.90.07, 23028 MiB"; done
""",
    "oci": r"""#!/usr/bin/env bash
set -euo pipefail
__RECORD__
record oci "$@"
name="" file="" verb=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    head | put | get) verb=$1; shift ;;
    --name) name=$2; shift 2 ;;
    --file) file=$2; shift 2 ;;
    *) shift ;;
  esac
done
object=${FAKE_BUCKET}/${name}
case "${verb}" in
  head)
    [ -f "${object}" ] || { echo 'ServiceError: {"status": 404, "code": "ObjectNotFound"}' >&2; exit 1; }
    printf '{"content-length": "%s", "etag": "x"}\n' "$(stat -c %s "${object}")"
    ;;
  put)
    # FAKE_DENIED_PUTS: so many puts are refused first, as while a new policy is not yet in force.
    denied=$(cat "${FAKE_DIR}/denied-puts" 2>/dev/null || echo 0)
    if [ "${denied}" -lt "${FAKE_DENIED_PUTS:-0}" ]; then
      echo $((denied + 1)) >"${FAKE_DIR}/denied-puts"
      echo 'ServiceError: {"status": 404, "code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found"}' >&2
      exit 1
    fi
    mkdir -p "$(dirname "${object}")"; cp "${file}" "${object}" ;;
  get) [ -f "${object}" ] || { echo 'ServiceError: 404' >&2; exit 1; }; cp "${object}" "${file}" ;;
esac
""",
    "curl": r"""#!/usr/bin/env bash
set -uo pipefail
__RECORD__
record curl "$@"
url="" body="" write_out=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --data-binary) body=${2#@}; shift 2 ;;
    -w) write_out=$2; shift 2 ;;
    -o | -H | --max-time) shift 2 ;;
    http*) url=$1; shift ;;
    *) shift ;;
  esac
done
# The instance metadata: created FAKE_PROVISION_SECONDS before the boot that PROC_UPTIME implies.
if [ "${url}" = "${ENGINE_BUILD_IMDS_URL}" ]; then
  [ "${FAKE_IMDS:-up}" = up ] || exit 7  # not on OCI: nothing answers at 169.254.169.254
  uptime=$(cut -d' ' -f1 "${PROC_UPTIME}")
  printf '{"id": "ocid1.instance.oc1..x", "timeCreated": %s000}' \
    "$(($(date +%s) - ${uptime%.*} - ${FAKE_PROVISION_SECONDS}))"
  exit 0
fi
triton=${FAKE_DIR}/triton
[ -f "${triton}/running" ] || exit 7
code=200
case "${url}" in
  */v2/health/ready) [ "${FAKE_TRITON:-ok}" = ok ] || exit 22 ;;
  */v2/models/*/ready)
    model=${url%/ready}
    model=${model##*/}
    [ "${FAKE_UNREADY_MODEL:-}" != "${model}" ] || code=400
    ;;
  */generate)
    cp "${body}" "${FAKE_DIR}/generate-request.json"
    printf '%s' "${FAKE_ANSWER:-{\"model_name\":\"ensemble\",\"model_version\":\"1\",\"text_output\":\" Paris.\"\}}"
    ;;
  */generate_stream)
    cp "${body}" "${FAKE_DIR}/stream-request.json"
    printf 'data: {"text_output":" Par"}\n\n'
    [ -z "${FAKE_STREAM_ERROR:-}" ] || printf 'data: {"error":"%s"}\n\n' "${FAKE_STREAM_ERROR}"
    printf 'data: {"text_output":"is."}\n\n'
    ;;
esac
if [ -n "${write_out}" ]; then printf '%s' "${code}"; fi
""",
    "systemd-run": r"""#!/usr/bin/env bash
__RECORD__
record systemd-run "$@"
envs=()
while [[ $1 == --* ]]; do
  case "$1" in
    --setenv=*) envs+=("${1#--setenv=}") ;;
    --unit) shift ;;
  esac
  shift
done
env "${envs[@]}" setsid nohup "$@" </dev/null >/dev/null 2>&1 &
""",
    "git": r"""#!/usr/bin/env bash
__RECORD__
record git "$@"
if [ "$1" = clone ]; then
  dest=${*: -1}
  mkdir -p "${dest}/examples/models/contrib/falcon" "${dest}/examples/quantization"
  touch "${dest}/examples/models/contrib/falcon/convert_checkpoint.py" "${dest}/examples/quantization/quantize.py"
fi
""",
}

# Inside the fake image.
CONTAINER_FAKES = {
    "python3": r"""#!/usr/bin/env bash
set -euo pipefail
__RECORD__
if [ "$1" = -c ]; then echo 0.18.2; exit 0; fi
record python3 "$@"
out=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[i]}" = --output_dir ] && out=${args[i + 1]}
done
mkdir -p "${out}"
echo '{"architecture": "FalconForCausalLM"}' >"${out}/config.json"
echo weights >"${out}/rank0.safetensors"
""",
    "hf": r"""#!/usr/bin/env bash
set -euo pipefail
__RECORD__
record hf "$@"
printf '%s' "${HF_TOKEN-<unset>}" >"${FAKE_DIR}/hf-token-seen"
dir=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[i]}" = --local-dir ] && dir=${args[i + 1]}
done
mkdir -p "${dir}"
for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
  echo "{\"file\": \"${f}\"}" >"${dir}/${f}"
done
head -c 4096 /dev/zero >"${dir}/model-00001-of-00002.safetensors"
echo readme >"${dir}/README.md"
""",
    "trtllm-build": r"""#!/usr/bin/env bash
set -euo pipefail
__RECORD__
record trtllm-build "$@"
if [ "${FAKE_FAIL:-}" = trtllm-build ]; then
  echo "[TRT] [E] out of memory while building the engine" >&2
  exit 1
fi
if [ "${FAKE_BLOCK:-}" = trtllm-build ] && [ ! -f "${FAKE_DIR}/release" ]; then
  touch "${FAKE_DIR}/blocked"
  while [ ! -f "${FAKE_DIR}/release" ]; do sleep 0.05; done
fi
out="" workers=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --output_dir) out=${args[i + 1]} ;;
    --workers) workers=${args[i + 1]} ;;
  esac
done
mkdir -p "${out}"
for ((r = 0; r < workers; r++)); do
  { printf 'engine rank %s;' "${r}"; head -c 2048 /dev/zero; } >"${out}/rank${r}.engine"
done
echo '{"version": "0.18.2", "build_config": {"max_batch_size": 32}}' >"${out}/config.json"
""",
}


def write_fakes(folder, fakes):
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in fakes.items():
        path = folder / name
        path.write_text(body.replace("__RECORD__", RECORD))
        path.chmod(0o755)


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


def build_env(**overrides):
    values = {
        "BUILD_MODE": "build",
        "IMAGE_REF": IMAGE_REF,
        "OCIR_REGISTRY": "iad.ocir.io",
        "HF_MODEL_ID": "tiiuae/falcon-7b-instruct",
        "HF_REVISION": "8782b5c5d8c9290412416618f36a133653e85285",
        "MODEL_FAMILY": "falcon",
        "DTYPE": "bfloat16",
        "QUANTIZATION": "none",
        "TP": "1",
        "MAX_BATCH_SIZE": "32",
        "MAX_INPUT_LEN": "1024",
        "MAX_OUTPUT_LEN": "1024",
        "REPOSITORY_FOLDER": "triton",
        "HTTP_PORT": "9000",
        "STREAMING": "false",
        "CONTAINER_CMD": json.dumps(CONTAINER_CMD, separators=(",", ":")),
        "PROMPT": PROMPT,
        "END_TOKEN": "<|endoftext|>",
        "BUCKET": "triton-dev-artifacts",
        "NAMESPACE": "axaxnpcrorw5",
        "REGION": "us-ashburn-1",
        "ENGINE_KEY": "e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2",
        "ARTIFACT_KEY": "a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8",
        "SCRIPT_VERSION": "3",
    }
    values.update(overrides)
    values.setdefault("ENGINE_PREFIX", f"engines/{values['ENGINE_KEY']}/")
    values.setdefault("ARTIFACT_PREFIX", f"artifacts/{values['ARTIFACT_KEY']}/")
    return "".join(f"{key}='{value}'\n" for key, value in values.items())


class Host:
    """A build host in a temp folder: the copied build files, WORK_DIR, the fakes and their records."""

    def __init__(self, root, packer, repository, bucket=None):
        self.root = root
        self.dir = root / "engine-build"
        self.work = root / "work"
        self.secrets = root / "run"
        self.fake = root / "fake"
        self.bucket_dir = bucket or root / "bucket"
        (self.fake / "calls").mkdir(parents=True, exist_ok=True)
        self.dir.mkdir(parents=True)
        # Every .sh under engine-build/ by its relative path, as buildHostFiles stages them.
        for script in SCRIPTS.rglob("*.sh"):
            target = self.dir / script.relative_to(SCRIPTS)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(script, target)
        shutil.copy(packer, self.dir / "package-artifact.cjs")
        # Files only, as the Pulumi component copies them (buildHostFiles): no empty version folders.
        for source in repository.rglob("*"):
            if source.is_file():
                target = self.dir / "repository" / "triton" / source.relative_to(repository)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        (self.dir / "example-request.json").write_text(
            json.dumps({"text_input": PROMPT, "max_tokens": 64, "end_id": 11, "pad_id": 11})
        )
        self.write_env()
        write_fakes(root / "bin", FAKES)
        # The weights download on the host, with the CLI cloud-init.yaml installs there.
        write_fakes(root / "bin", {"hf": CONTAINER_FAKES["hf"]})
        write_fakes(root / "container-bin", CONTAINER_FAKES)
        # What the host knows of its own start: seconds since boot, and cloud-init's at host-ready.
        (root / "uptime").write_text("600.42 1187.50\n")
        self.work.mkdir()
        (self.work / "host-ready-uptime").write_text("420\n")
        examples = root / "image" / "app" / "examples"
        for script in ("models/contrib/falcon/convert_checkpoint.py", "quantization/quantize.py"):
            (examples / script).parent.mkdir(parents=True, exist_ok=True)
            (examples / script).touch()
        self.examples = examples
        self.env = {
            "PATH": f"{root / 'bin'}:{os.path.dirname(shutil.which('node'))}:/usr/bin:/bin",
            "HOME": str(root),
            "WORK_DIR": str(self.work),
            "SECRETS_DIR": str(self.secrets),
            "ENGINE_BUILD_LAUNCHER": "setsid",
            "POLL_SECONDS": "0.1",
            "READY_TIMEOUT_SECONDS": "5",
            "MIN_FREE_GB": "0",
            "FAKE_DIR": str(self.fake),
            "FAKE_BUCKET": str(self.bucket_dir),
            "FAKE_CONTAINER_BIN": str(root / "container-bin"),
            "FAKE_IMAGE_EXAMPLES": str(examples),
            "EXPECTED_IMAGE": IMAGE_REF,
            "PROC_UPTIME": str(root / "uptime"),
            "ENGINE_BUILD_IMDS_URL": "http://169.254.169.254/opc/v2/instance/",
            "FAKE_PROVISION_SECONDS": "95",
        }

    def write_env(self, **overrides):
        (self.dir / "build.env").write_text(build_env(**overrides))

    def start(self, stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n{HF_TOKEN}\n", **env):
        process = subprocess.Popen(
            ["bash", str(self.dir / "build-host.sh"), "run"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **env},
        )
        process.stdin.write(stdin)
        process.stdin.close()
        process.stdin = None  # so that communicate() does not flush it again
        return process

    def run(self, **env):
        process = self.start(**env)
        stdout, stderr = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def calls(self, name=None):
        """Recorded calls in order, as (tool, argv)."""
        result = []
        for path in sorted((self.fake / "calls").iterdir()):
            tool = path.name.split("-", 2)[2]
            if name is None or tool == name:
                result.append((tool, path.read_bytes().decode().split("\0")[:-1]))
        return result

    def argvs(self, name):
        return [argv for _, argv in self.calls(name)]

    def bucket(self, name):
        return self.bucket_dir / name


@pytest.fixture
def host(tmp_path, packer, repository):
    return Host(tmp_path, packer, repository)


@pytest.fixture(scope="module")
def built(tmp_path_factory, packer, repository):
    """One successful bf16 build, shared by the tests that only read what it did (its bucket too)."""
    host = Host(tmp_path_factory.mktemp("built"), packer, repository)
    return host, host.run()


@pytest.fixture(scope="module")
def validating(tmp_path_factory, packer, repository):
    """A host whose builds fail at validation: after the first, each run resumes at `validate`."""
    return Host(tmp_path_factory.mktemp("validating"), packer, repository)


def manifest_of(result):
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def all_text_under(*folders):
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                yield path, path.read_bytes()


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
        "--paged_kv_cache", "enable", "--max_batch_size", "32", "--max_input_len", "1024",
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
        "preflight", "pull-image", "inspect-image", "download", "convert", "build-engine", "stage", "pack",
        "validate", "upload-engine",
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
         "--local-dir", f"{host.work}/model", "--exclude", "*.h5", "*.msgpack", "*.onnx"]
    ]

    # The zip is what the deployment mounts: rendered models + engine + tokenizer files, no weights.
    names = set(zipfile.ZipFile(host.work / "model.zip").namelist())
    assert {"triton/tensorrt_llm/1/rank0.engine", "triton/tensorrt_llm/1/config.json",
            "triton/tokenizer/tokenizer.json", "triton/ensemble/config.pbtxt"} <= names
    assert not any("safetensors" in n or "README" in n for n in names)

    # Triton ran the image with exactly CONTAINER_CMD on the unzipped artifact, mounted read-only.
    detached = [argv for argv in host.argvs("docker") if argv[:2] == ["run", "-d"]]
    assert len(detached) == 1
    assert f"{host.work}/deployed:/opt/ds/model/deployed_model:ro" in detached[0]
    assert detached[0][-len(CONTAINER_CMD) - 1 :] == [IMAGE_REF, *CONTAINER_CMD]
    assert "--gpus" in detached[0]
    assert (host.fake / "triton" / "mount").read_text().strip() == f"{host.work}/deployed"
    assert json.loads((host.fake / "generate-request.json").read_text())["text_input"] == PROMPT
    assert not (host.fake / "stream-request.json").exists()

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


def test_int4_awq_quantizes_with_the_shared_quantization_script(host):
    host.write_env(QUANTIZATION="int4_awq", DTYPE="float16")
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert host.argvs("python3") == [
        [str(host.examples / "quantization/quantize.py"), "--model_dir", f"{host.work}/model",
         "--output_dir", f"{host.work}/checkpoint", "--dtype", "float16", "--tp_size", "1",
         "--qformat", "int4_awq"],
    ]
    assert manifest_of(result)["engine"]["quantization"] == "int4_awq"


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
        "--paged_kv_cache", "enable", "--max_batch_size", "64", "--max_input_len", "2048",
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


def test_streaming_posts_to_generate_stream_with_stream_true(host):
    host.write_env(STREAMING="true")
    result = host.run(ENGINE_BUILD_LAUNCHER="foreground")
    assert result.returncode == 0, result.stderr
    assert json.loads((host.fake / "stream-request.json").read_text())["stream"] is True
    assert "generate_stream: text_output:  Paris." in (host.work / "build.log").read_text()


def wait_for(path, seconds=30):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


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


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FAKE_ANSWER": '{"text_output": " Paris.<|endoftext|>"}'},
            "text_output contains the end token <|endoftext|>",
        ),
        ({"FAKE_ANSWER": '{"model_name": "ensemble", "error_detail": "x"}'}, "the answer has no text_output"),
        ({"FAKE_ANSWER": '{"text_output": "What is the capital of France? Paris."}'}, "text_output repeats the prompt"),
        ({"FAKE_TRITON": "load-fails"}, "Triton exited before it was ready: a model failed to load"),
        ({"FAKE_TRITON": "load-fails-running"}, "a model failed to load and Triton will never be ready"),
        ({"FAKE_UNREADY_MODEL": "postprocessing"}, "model postprocessing is not ready (HTTP 400)"),
        ({"STREAMING": "true", "FAKE_STREAM_ERROR": "Stream must be decoupled"}, "generate_stream: the stream carried an error"),
    ],
)
def test_validation_fails_the_build_with_the_triton_log(validating, env, message):
    host = validating
    env = dict(env)
    host.write_env(STREAMING=env.pop("STREAMING", "false"))
    result = host.run(**env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "engine build failed in step validate" in result.stderr
    assert message in result.stderr
    assert "last lines of the Triton log" in result.stderr
    assert "loading models from" in result.stderr
    if "FAKE_TRITON" in env:
        assert "failed to load 'tensorrt_llm'" in result.stderr
    assert not (host.fake / "triton" / "running").exists()  # the container was stopped
    assert not host.bucket_dir.exists()  # nothing uploaded
    assert len(host.argvs("trtllm-build")) == 1  # later cases resumed at validate


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


def test_assemble_mode_repacks_the_cached_engine_without_a_gpu(tmp_path, packer, repository, built):
    builder, build_result = built
    bucket = tmp_path / "bucket"
    shutil.copytree(builder.bucket_dir, bucket)
    assembler = Host(tmp_path / "cpu", packer, repository, bucket=bucket)
    assembler.write_env(BUILD_MODE="assemble", ARTIFACT_KEY="b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1")
    result = assembler.run(stdin="\n\n\n")
    assert result.returncode == 0, result.stderr
    manifest = manifest_of(result)
    tools = {tool for tool, _ in assembler.calls()}
    # No nvidia-smi, no download, no trtllm-build; curl asks the instance metadata for its creation.
    assert tools == {"docker", "oci", "curl"}
    assert set(manifest["phases"]) == {"provision", "cloudInit", "engineDownload", "pack", "upload", "wallSeconds"}
    assert [argv[0] for argv in assembler.argvs("docker")] == ["info"]  # no image pulled, no container
    gets = [argv[argv.index("--name") + 1] for argv in assembler.argvs("oci") if "get" in argv]
    assert gets == ["engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/manifest.json", "engines/e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2b3e1a2/engine.tar"]
    zip_bytes = assembler.bucket("artifacts/b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1d2b0c1/model.zip").read_bytes()
    assert manifest["sha256"] == hashlib.sha256(zip_bytes).hexdigest()
    assert manifest["mode"] == "assemble"
    assert (manifest["gpu"], manifest["trtllmVersion"]) == ("NVIDIA A10", "0.18.2")
    assert manifest["engine"] == manifest_of(build_result)["engine"]
    assert set(manifest["timings"]) == {"preflight", "fetch-engine", "stage", "pack"}
    # Same engine and tokenizer, same repository: the same artifact bytes as the GPU build packed.
    assert zip_bytes == builder.bucket("artifacts/a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8e7a9f8/model.zip").read_bytes()


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
    for mode in ("build_steps", "assemble_steps"):
        steps.update(re.search(rf"^readonly {mode}=\(([^)]*)\)", script, re.M).group(1).replace("+", " ").split())
    assert "fetch-engine" in steps and "validate" in steps
    assert {f"steps/{name}.sh" for name in steps} == {path for path in sourced if path.startswith("steps/")}


# --- build-engine.sh on its own (by hand, docs/engine-by-hand.md) ---------------------------------


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

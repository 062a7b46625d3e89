"""The build host of the tests: engine-build/ copied to a temp folder with its settings, and the GPU
and cloud tools replaced by fakes on PATH that record their argv: docker (which runs "container"
commands on this machine with the container's own fakes: python3, hf, trtllm-build), nvidia-smi, oci
(a bucket in a folder), curl (a Triton that answers from a folder) and systemd-run. node and the
project's packer are real (conftest.py bundles and renders them).
"""

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "engine-build"

OCIR_USER = "axaxnpcrorw5/builder@example.com"
OCIR_TOKEN = "ocir-token-Zx81;Qv"
HF_TOKEN = "hf_secretTokenValue42"
PROMPT = "The capital of France is"
IMAGE_REF = "iad.ocir.io/axaxnpcrorw5/triton-dev:25.04-trtllm-python-py3@sha256:" + "ab" * 32
CONTAINER_CMD = [
    "tritonserver",
    "--model-repository=/opt/ds/model/deployed_model/triton",
    "--http-port=9000",
    "--allow-grpc=false",
    "--load-model=preprocessing",
    "--load-model=tensorrt_llm",
    "--load-model=postprocessing",
    "--load-model=ensemble",
]
CONTAINER_ENV = {
    "MODEL_DEPLOY_PREDICT_ENDPOINT": "/v2/models/ensemble/versions/1/generate",
    "MODEL_DEPLOY_HEALTH_ENDPOINT": "/v2/health/ready",
    "STORAGE_SIZE_IN_GB": "500",
    "GREETING": "it's \"quoted\"\nover two lines",
}
# What a streaming stack's deployment runs and serves instead.
STREAMING_SETTINGS = {
    "STREAMING": "true",
    "CONTAINER_CMD": json.dumps([*CONTAINER_CMD, "--load-model=tensorrt_llm_bls"], separators=(",", ":")),
    "CONTAINER_ENV": json.dumps(
        {
            **CONTAINER_ENV,
            "MODEL_DEPLOY_PREDICT_ENDPOINT": "/v2/models/tensorrt_llm_bls/versions/1/generate_stream",
            "MODEL_DEPLOY_ENABLE_STREAMING": "true",
        }
    ),
}

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
        --name | -w | --ulimit | --gpus | --shm-size | -p | --entrypoint) shift 2 ;;
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
      printf '%s\0' "${envs[@]}" >"${triton}/environment"
      echo "I1125 model_lifecycle: loading models from ${mount}" >"${triton}/log"
      echo "${mount}" >"${triton}/mount"
      # never-ready: it runs and loads, but never reports ready.
      if [[ ${FAKE_TRITON:-ok} == load-fails* ]]; then
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
    # A Triton answering /generate: one JSON object (HTTP 400 and {"error": ...} when it fails).
    cp "${body}" "${FAKE_DIR}/asked-$(ls "${FAKE_DIR}" | grep -c '^asked-')-generate.json"
    code=${FAKE_CODE:-200}
    printf '%s' "${FAKE_ANSWER:-{\"model_name\":\"ensemble\",\"model_version\":\"1\",\"text_output\":\" Paris.\"\}}"
    ;;
  */generate_stream)
    # Server-sent events: one `data: {...}` per response; errors arrive as events inside the 200.
    cp "${body}" "${FAKE_DIR}/asked-$(ls "${FAKE_DIR}" | grep -c '^asked-')-generate_stream.json"
    if [ "$(jq -r .stream "${body}")" = true ]; then
      printf 'data: {"model_name":"tensorrt_llm_bls","text_output":" Par","batch_index":0}\n\n'
      [ -z "${FAKE_STREAM_ERROR:-}" ] || printf 'data: {"error":"%s"}\n\n' "${FAKE_STREAM_ERROR}"
      printf 'data: {"model_name":"tensorrt_llm_bls","text_output":"is.","batch_index":0}\n\n'
    else
      printf 'data: %s\n\n' "${FAKE_ANSWER:-{\"model_name\":\"tensorrt_llm_bls\",\"text_output\":\" Paris.\",\"batch_index\":0\}}"
    fi
    ;;
esac
# curl -w: its variables replaced, escapes like \n interpreted.
if [ -n "${write_out}" ]; then printf '%b' "${write_out//'%{http_code}'/${code}}"; fi
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
if [ "$1" = -c ]; then
  case "$2" in
    *tensorrt_llm*) echo 0.18.2 ;;
    # huggingface_hub.list_repo_files: the revision's files, one a line.
    *list_repo_files*) printf '%s\n' ${FAKE_REPO_FILES:-config.json tokenizer.json model-00001-of-00002.safetensors pytorch_model-00001-of-00002.bin} ;;
    *) exec /usr/bin/python3 "$@" ;;
  esac
  exit 0
fi
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
for f in tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
  echo "{\"file\": \"${f}\"}" >"${dir}/${f}"
done
# Falcon-7B's config.json, as far as the build reads it.
echo '{"architectures": ["FalconForCausalLM"], "hidden_size": 4544}' >"${dir}/config.json"
# The weights of the format the download did not exclude.
if [[ " $* " == *" *.safetensors "* ]]; then
  head -c 4096 /dev/zero >"${dir}/pytorch_model-00001-of-00002.bin"
else
  head -c 4096 /dev/zero >"${dir}/model-00001-of-00002.safetensors"
fi
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
        "CHUNKED_CONTEXT": "false",
        "CONTAINER_CMD": json.dumps(CONTAINER_CMD, separators=(",", ":")),
        "CONTAINER_ENTRYPOINT": "[]",
        "CONTAINER_ENV": json.dumps(CONTAINER_ENV),
        "VALIDATION_EXPECT": "Paris",
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
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


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
        (self.dir / "validation-request.json").write_text(
            json.dumps({"text_input": PROMPT, "max_tokens": 16, "top_k": 1, "end_id": 11, "pad_id": 11})
        )
        self.write_env()
        write_fakes(root / "bin", FAKES)
        # The weights download on the host, with the CLI cloud-init.yaml installs there (and its
        # Python, which lists the revision's files).
        write_fakes(root / "bin", {"hf": CONTAINER_FAKES["hf"], "python3": CONTAINER_FAKES["python3"]})
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



def manifest_of(result):
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def all_text_under(*folders):
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                yield path, path.read_bytes()



def wait_for(path, seconds=30):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)



"""The build host of the tests: engine-build/ copied to a temp folder with its settings, and the GPU
and cloud tools replaced by fakes on PATH that record their argv: docker (which runs "container"
commands on this machine with the container's own fakes: python3, hf, trtllm-build, and `docker
exec` commands as if inside the running Triton container), nvidia-smi, oci (a bucket in a folder),
curl (the Hugging Face Hub's config.json on the host, a Triton that answers from a folder inside its
container) and systemd-run. node and the project's packer are real (conftest.py bundles and renders
them).
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
# Real config.json files of the Hub and what the stack expects of Falcon-7B-instruct's (what
# components/build/model-config-check.ts `configExpectations` gives the dev stack; test/
# model-config-check.test.ts holds the two equal).
HUB_CONFIGS = REPO_ROOT / "test" / "fixtures" / "hub-configs"
FALCON_EXPECTATIONS = (HUB_CONFIGS / "expectations--tiiuae--falcon-7b-instruct.json").read_text()

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

# What an OpenAI stack's deployment runs (deployment.api openai, components/deployment/container-spec.ts):
# the image's OpenAI frontend through the artifact's launcher, and the environment OCI reads for it.
OPENAI_MODEL = "odsc-llm"
OPENAI_CMD = [
    "python3",
    "/opt/ds/model/deployed_model/triton/openai_frontend.py",
    "--model-repository",
    "/opt/ds/model/deployed_model/triton/models",
    "--tokenizer",
    "/opt/ds/model/deployed_model/triton/tokenizer",
    "--openai-port",
    "9000",
    "--host",
    "0.0.0.0",
]
OPENAI_SETTINGS = {
    "API": "openai",
    "OPENAI_MODEL": OPENAI_MODEL,
    "CONTAINER_CMD": json.dumps(OPENAI_CMD, separators=(",", ":")),
    "CONTAINER_ENV": json.dumps(
        {
            "MODEL_DEPLOY_HEALTH_ENDPOINT": "/health/ready",
            "STORAGE_SIZE_IN_GB": "500",
            "MODEL_DEPLOY_ENABLE_STREAMING": "true",
        }
    ),
}
# Its validation request (validationRequestBody, components/deployment/stack-outputs.ts).
CHAT_REQUEST = {
    "model": OPENAI_MODEL,
    "messages": [{"role": "user", "content": PROMPT}],
    "max_tokens": 16,
    "top_p": 1e-6,
    "stream": False,
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
  exec)
    # The command runs inside the running Triton container, stdin passed on with -i, and exits as
    # it does (Docker docs, "docker container exec"); the daemon refuses a stopped container.
    [ "$1" != -i ] || shift
    container=$1
    shift
    [ -f "${triton}/running" ] || { echo "Error response from daemon: container ${container} is not running" >&2; exit 1; }
    # An image without the command: docker run's documented status for a command not found (127).
    if [ "$1" = "${FAKE_IMAGE_LACKS:-}" ]; then
      echo "OCI runtime exec failed: exec failed: unable to start container process: exec: \"$1\": executable file not found in \$PATH: unknown" >&2
      exit 127
    fi
    FAKE_IN_CONTAINER=1 exec "$@"
    ;;
  run)
    detached=false envs=() mount="" network=default
    while [ "$#" -gt 0 ]; do
      case "$1" in
        -d) detached=true; shift ;;
        --rm) shift ;;
        --name | -w | --ulimit | --gpus | --shm-size | -p | --entrypoint) shift 2 ;;
        --ipc=* | --shm-size=*) shift ;;
        --network) network=$2; shift 2 ;;
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
      echo "${network}" >"${triton}/network"
      # never-ready: it runs and loads, but never reports ready.
      if [[ ${FAKE_TRITON:-ok} == load-fails* ]]; then
        echo "E1125 model_lifecycle.cc:654] failed to load 'tensorrt_llm' version 1: engine plan file is generated on an incompatible device" >>"${triton}/log"
      fi
      # needs-network: a model that loads its tokenizer from the Hub; without a network transformers
      # cannot reach it (utils/hub.py cached_file's "We couldn't connect to" error) and, as with any
      # failed load at start-up, Triton exits (--exit-on-error, the default).
      if [ "${FAKE_TRITON:-ok}" = needs-network ] && [ "${network}" = none ]; then
        echo "E1125 model_lifecycle.cc:654] failed to load 'preprocessing' version 1: OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the cached files." >>"${triton}/log"
      fi
      # openai-missing: an image without the OpenAI frontend; the launcher says so and exits 3
      # (components/model-repository/python/launcher/openai_frontend.py).
      if [ "${FAKE_TRITON:-ok}" = openai-missing ]; then
        echo "openai_frontend.py: the image has no OpenAI frontend: /opt/tritonserver/python/openai/openai_frontend/main.py does not exist" >>"${triton}/log"
      fi
      # load-fails: Triton exits (--exit-on-error, the default); load-fails-running: it keeps running.
      case "${FAKE_TRITON:-ok}" in
        load-fails | openai-missing) ;;
        needs-network) [ "${network}" = none ] || touch "${triton}/running" ;;
        *) touch "${triton}/running" ;;
      esac
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
# curl as the build calls it: -o, -D (the response headers), -w '%{http_code}', -K - (options such
# as `header = "..."` read from stdin) and --data-binary @- or @file (curl(1)); exit 7 where nothing
# listens ("Failed to connect to host"), 6 for a host it cannot resolve (curl(1), EXIT CODES).
set -uo pipefail
__RECORD__
record curl "$@"
[ "$1" != --version ] || { echo "curl 8.5.0 (x86_64-pc-linux-gnu) libcurl/8.5.0"; exit 0; }
url="" body="" write_out="" out="" dump=/dev/null config=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --data-binary) body=$2; shift 2 ;;
    -w) write_out=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -D) dump=$2; shift 2 ;;
    -K) config=$2; shift 2 ;;
    -H | --max-time | --retry) shift 2 ;;
    http*) url=$1; shift ;;
    *) shift ;;
  esac
done
if [ "${body}" = @- ]; then body=$(mktemp); cat >"${body}"; else body=${body#@}; fi
if [ "${config}" = - ]; then config=$(cat); fi
code=200
respond() {
  if [ -n "${out}" ]; then printf '%s' "$1" >"${out}"; else printf '%s' "$1"; fi
}

# What Triton answers a generate request, from the request itself (server v2.57.0
# docs/protocol/extension_generate.md): /generate one JSON object, /generate_stream one `data: {...}`
# event per response. The answer is FAKE_WHOLE (" Paris."), ended before the first of the request's
# stop_words (docs/serving.md, "Stop and bad words"; FAKE_IGNORE_STOP: a model that does not);
# tensorrt_llm_bls answers each row of a request (text_input a list) with its batch_index, streamed
# in pieces when `stream` is true (FAKE_STREAMED: pieces that join to other text), and sends no
# event for a streamed row with no text (its final flag alone ends the stream). FAKE_ANSWER replaces
# a whole (non-streamed) response; FAKE_STREAM_ERROR arrives after the first piece; FAKE_ROWS: the
# number of rows answered.
triton_answer() {
  jq -r --arg kind "$1" --arg whole "${FAKE_WHOLE:- Paris.}" --arg streamed "${FAKE_STREAMED:-}" \
    --arg answer "${FAKE_ANSWER:-}" --arg error "${FAKE_STREAM_ERROR:-}" --arg ignore "${FAKE_IGNORE_STOP:-}" \
    --arg rows "${FAKE_ROWS:-}" '
    . as $request
    | def cut($text): if $ignore != "" then $text else reduce (($request.stop_words // [])[]) as $stop ($text; split($stop)[0]) end;
      def event: "data: \(tojson)\n";
      ([$request.stream] | flatten | any) as $stream
    | (if ($request.text_input | type) == "array" then ($request.text_input | length) else 1 end) as $asked
    | if $kind == "generate" then
        (if $answer != "" then $answer else {model_name: "ensemble", model_version: "1", text_output: cut($whole)} | tojson end)
      elif $stream then
        [range(0; if $rows != "" then ($rows | tonumber) else $asked end) as $row
          | cut(if $streamed != "" then $streamed else $whole end) as $text
          | [range(0; $text | length; 3) as $at | $text[$at:$at + 3]] | to_entries[]
          | ({model_name: "tensorrt_llm_bls", text_output: .value, batch_index: $row} | event),
            (if .key == 0 and $error != "" then {error: $error} | event else empty end)]
        | join("\n")
      else
        [range(0; if $rows != "" then ($rows | tonumber) else $asked end) as $row
          | if $answer != "" then "data: \($answer)\n"
            else {model_name: "tensorrt_llm_bls", text_output: cut($whole), batch_index: $row} | event end]
        | join("\n")
      end' "$2"
}

# What the image's OpenAI frontend answers a chat request (server v2.57.0
# python/openai/openai_frontend/engine/triton_engine.py): a whole request one chat completion, its
# text in choices[0].message.content (:155-171); a streamed one a chunk with the role and content "",
# one chunk per response of the model, the last with finish_reason "stop", then `data: [DONE]`
# (:285-343), each event `data: <json>` and a blank line. The text is FAKE_WHOLE (" Paris.") ended
# before the first of the request's `stop` strings (FAKE_IGNORE_STOP: a model that does not); a
# stream of no text is the final response alone, one chunk with "" (FAKE_STREAMED: pieces that join
# to other text; FAKE_NO_DONE: a stream cut before its end). FAKE_ANSWER replaces the body.
chat_answer() {
  jq -r --arg whole "${FAKE_WHOLE:- Paris.}" --arg streamed "${FAKE_STREAMED:-}" --arg answer "${FAKE_ANSWER:-}" \
    --arg ignore "${FAKE_IGNORE_STOP:-}" --arg nodone "${FAKE_NO_DONE:-}" '
    . as $request
    | def cut($text): if $ignore != "" then $text else reduce ([$request.stop // empty] | flatten | .[]) as $stop ($text; split($stop)[0]) end;
      def chunk($delta; $finish): {id: "cmpl-fake", choices: [{index: 0, delta: $delta, logprobs: null, finish_reason: $finish}],
        created: 0, model: $request.model, system_fingerprint: null, object: "chat.completion.chunk"};
      def event: "data: \(tojson)\n";
    if $answer != "" then $answer
    elif $request.stream then
      cut(if $streamed != "" then $streamed else $whole end) as $text
      | ([range(0; $text | length; 3) as $at | $text[$at:$at + 3]] | if length == 0 then [""] else . end) as $pieces
      | ([chunk({role: "assistant", content: "", function_call: null}; null) | event]
        + [$pieces | to_entries[] | chunk({role: null, content: .value, function_call: null};
            if .key == ($pieces | length) - 1 then "stop" else null end) | event]
        + (if $nodone != "" then [] else ["data: [DONE]\n"] end))
      | join("\n")
    else
      {id: "cmpl-fake", choices: [{finish_reason: "stop", index: 0, logprobs: null,
        message: {content: cut($whole), tool_calls: null, role: "assistant", function_call: null}}],
       created: 0, model: $request.model, system_fingerprint: null, object: "chat.completion", usage: null} | tojson
    end' "$1"
}

case "${url}" in
  "${ENGINE_BUILD_IMDS_URL}")
    # The instance metadata: created FAKE_PROVISION_SECONDS before the boot that PROC_UPTIME implies.
    [ "${FAKE_IMDS:-up}" = up ] || exit 7  # not on OCI: nothing answers at 169.254.169.254
    uptime=$(cut -d' ' -f1 "${PROC_UPTIME}")
    respond "$(printf '{"id": "ocid1.instance.oc1..x", "timeCreated": %s000}' \
      "$(($(date +%s) - ${uptime%.*} - ${FAKE_PROVISION_SECONDS}))")"
    exit 0
    ;;
  https://huggingface.co/*/resolve/*/config.json)
    # The Hub: the file (FAKE_HUB_CONFIG) with HTTP 200, or a refusal FAKE_HUB_REFUSAL="<code>
    # [<X-Error-Code>]" with the error code header huggingface_hub reads (v0.30.2
    # utils/_http.py:411-448). A gated model (FAKE_HUB_TOKEN set) answers 401 GatedRepo unless the
    # request carries that token as huggingface_hub sends it (utils/_headers.py:137).
    [ -z "${FAKE_IN_CONTAINER:-}" ] || exit 6
    echo "${url}" >>"${FAKE_DIR}/hub-urls"
    printf '%s' "${config}" >"${FAKE_DIR}/hub-curl-config"
    [ "${FAKE_HUB:-up}" = up ] || exit 6
    refusal=${FAKE_HUB_REFUSAL:-}
    if [ -n "${FAKE_HUB_TOKEN:-}" ] && [ "${config}" != "header = \"Authorization: Bearer ${FAKE_HUB_TOKEN}\"" ]; then
      refusal="401 GatedRepo"
    fi
    if [ -n "${refusal}" ]; then
      code=${refusal%% *}
      error=${refusal#"${code}"}
      printf 'HTTP/2 %s\r\n%scontent-type: application/json\r\n\r\n' "${code}" "${error:+x-error-code:${error}$'\r\n'}" >"${dump}"
      respond '{"error":"refused"}'
    else
      printf 'HTTP/2 200\r\ncontent-type: application/json\r\n\r\n' >"${dump}"
      respond "$(cat "${FAKE_HUB_CONFIG}")"
    fi
    ;;
  http://127.0.0.1:*)
    # Triton's container has no network and publishes no port: only a curl inside it (docker exec)
    # reaches Triton, on the container's loopback.
    [ -n "${FAKE_IN_CONTAINER:-}" ] || exit 7
    triton=${FAKE_DIR}/triton
    [ -f "${triton}/running" ] || exit 7
    case "${url}" in
      */v2/health/ready) [ "${FAKE_TRITON:-ok}" = ok ] || exit 22 ;;
      */v2/models/*/ready)
        model=${url%/ready}
        model=${model##*/}
        [ "${FAKE_UNREADY_MODEL:-}" != "${model}" ] || code=400
        ;;
      */generate | */generate_stream)
        kind=${url##*/}
        cp "${body}" "${FAKE_DIR}/asked-$(ls "${FAKE_DIR}" | grep -c '^asked-')-${kind}.json"
        code=${FAKE_CODE:-200}
        respond "$(triton_answer "${kind}" "${body}")"
        ;;
      # The OpenAI frontend's routes (frontend/fastapi/routers/ of server v2.57.0): readiness,
      # the models it loaded (FAKE_MODELS), chat completions.
      */health/ready) [ "${FAKE_TRITON:-ok}" = ok ] || exit 22 ;;
      */v1/models)
        respond "$(printf '%s\n' ${FAKE_MODELS:-preprocessing tensorrt_llm odsc-llm} |
          jq -R -s -c '{object: "list", data: [split("\n")[] | select(. != "") | {id: ., object: "model", created: 0, owned_by: "Triton Inference Server"}]}')"
        ;;
      */v1/chat/completions)
        cp "${body}" "${FAKE_DIR}/asked-$(ls "${FAKE_DIR}" | grep -c '^asked-')-chat.json"
        code=${FAKE_CODE:-200}
        respond "$(chat_answer "${body}")"
        ;;
    esac
    ;;
  *) exit 6 ;;
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
# A model whose tokenizer_config.json carries its own chat template (as Llama 3.1's does).
if [ -n "${FAKE_OWN_CHAT_TEMPLATE:-}" ]; then
  jq -c --arg t "${FAKE_OWN_CHAT_TEMPLATE}" '. + {chat_template: $t}' "${dir}/tokenizer_config.json" >"${dir}/t.json"
  mv "${dir}/t.json" "${dir}/tokenizer_config.json"
fi
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
        "HF_CONFIG_EXPECT": json.dumps(json.loads(FALCON_EXPECTATIONS), separators=(",", ":")),
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

    def __init__(self, root, packer, repository, bucket=None, validation_request=None):
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
            json.dumps(
                validation_request or {"text_input": PROMPT, "max_tokens": 16, "top_k": 1, "end_id": 11, "pad_id": 11}
            )
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
            "FAKE_HUB_CONFIG": str(HUB_CONFIGS / "tiiuae--falcon-7b-instruct.json"),
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



#!/usr/bin/env bash
# Runs on the engine build instance (Oracle Linux 8, prepared by cloud-init.yaml): builds the
# TensorRT-LLM engine in the image the deployment serves (or fetches the cached one), assembles the
# model artifact with the project's own packer, validates it in Triton exactly as the deployment
# mounts it, and uploads everything to the artifact bucket.
#
# usage:
#   build-host.sh run      read 3 lines on stdin (OCIR username, OCIR auth token, Hugging Face token
#                          or an empty line), start the pipeline detached (or attach to the running
#                          one), follow it; on success print the manifest JSON on stdout
#   build-host.sh follow   attach to the current pipeline without starting one
#   build-host.sh pipeline the pipeline itself, in the foreground (what run starts detached)
#   build-host.sh --help
# files: build.env, package-artifact.cjs, example-request.json and repository/<REPOSITORY_FOLDER>/
#   beside this script.
# environment (optional):
#   WORK_DIR=/var/lib/engine-build   state, downloads, the log (build.log) and step markers
#   SECRETS_DIR=/run/engine-build    root-only tmpfs folder that hands the secrets to the pipeline
#   ENGINE_BUILD_LAUNCHER=auto       auto | systemd | setsid | foreground
#   POLL_SECONDS=5  READY_TIMEOUT_SECONDS=1200  MIN_FREE_GB (build 100, assemble 40)
# exit codes: 0 built, 1 failed or invalid build.env, 2 usage.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly script_dir
readonly build_env=${BUILD_ENV:-${script_dir}/build.env}
readonly work_dir=${WORK_DIR:-/var/lib/engine-build}
readonly secrets_dir=${SECRETS_DIR:-/run/engine-build}
readonly secrets_file=${secrets_dir}/secrets
readonly steps_dir=${work_dir}/steps
readonly status_file=${work_dir}/status
readonly log_file=${work_dir}/build.log
readonly lock_file=${work_dir}/pipeline.lock
readonly poll_seconds=${POLL_SECONDS:-5}
readonly triton_container=engine-build-triton
# The Triton models the rendered repository holds; each must report ready.
readonly triton_models=(ensemble preprocessing postprocessing tensorrt_llm)
# Top-level snapshot files the pre/postprocessing models read; the same list as isTokenizerFile in
# components/artifact/packer.ts (weights never qualify).
readonly tokenizer_files=(tokenizer.json tokenizer_config.json special_tokens_map.json tokenizer.model
  vocab.json merges.txt vocab.txt added_tokens.json generation_config.json config.json)

usage() {
  sed -n '/^# usage:/,/^# exit codes/p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "build-host.sh: $*" >&2
  exit 1
}

now() {
  date +%s
}

# --- build.env -----------------------------------------------------------------------------------

env_errors=()
env_error() {
  env_errors+=("build.env: $1")
}

require_match() {
  local name=$1 pattern=$2 hint=$3 value
  value=${!name:-}
  if [ -z "${value}" ]; then
    env_error "${name} is missing or empty: ${hint}"
  elif ! [[ ${value} =~ ${pattern} ]]; then
    env_error "${name}='${value}' is invalid: ${hint}"
  fi
}

require_one_of() {
  local name=$1 value
  shift
  value=${!name:-}
  local allowed
  for allowed in "$@"; do
    [ "${value}" = "${allowed}" ] && return 0
  done
  env_error "${name}='${value}' is invalid: use one of $*"
}

# Reads build.env and checks every value; all problems are reported together.
load_build_env() {
  command -v jq >/dev/null 2>&1 || die "jq is not installed: cloud-init.yaml installs it (dnf -y install jq)"
  [ -f "${build_env}" ] || die "${build_env} does not exist: copy it beside build-host.sh with the other build files"
  set -a
  # shellcheck source=/dev/null
  source "${build_env}"
  set +a
  local int='^[1-9][0-9]{0,6}$' name='^[A-Za-z0-9._-]+$'
  require_one_of BUILD_MODE build assemble
  require_match IMAGE_REF '^[a-z0-9.-]+\.ocir\.io/[a-z0-9_-]+/[a-z0-9._/-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$' \
    "pin the OCIR image by digest: <region>.ocir.io/<namespace>/<repo>:<tag>@sha256:<64 hex>"
  require_match OCIR_REGISTRY '^[a-z0-9.-]+\.ocir\.io$' "the registry host of IMAGE_REF, like iad.ocir.io"
  if [[ ${IMAGE_REF:-} != "${OCIR_REGISTRY:-}/"* ]]; then
    env_error "IMAGE_REF='${IMAGE_REF:-}' is not in OCIR_REGISTRY='${OCIR_REGISTRY:-}': they must name the same registry"
  fi
  require_match HF_MODEL_ID '^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$' "a Hugging Face model id <owner>/<name>"
  require_match HF_REVISION '^[A-Za-z0-9._/-]+$' "a commit sha or tag of the model"
  require_one_of MODEL_FAMILY falcon llama
  require_one_of DTYPE float16 bfloat16
  require_one_of QUANTIZATION none fp8 int8_sq int4_awq int8_weight_only int4_weight_only
  require_one_of TP 1 2 4 8
  local key
  for key in MAX_BATCH_SIZE MAX_INPUT_LEN MAX_OUTPUT_LEN; do
    require_match "${key}" "${int}" "a positive whole number, like ${key}=1024"
  done
  require_match REPOSITORY_FOLDER "${name}" "a folder name (letters, digits, . _ -)"
  require_match HTTP_PORT '^[1-9][0-9]{3,4}$' "the port Triton listens on, 1024-65535"
  if [[ ${HTTP_PORT:-} =~ ^[0-9]+$ ]] && { [ "${HTTP_PORT}" -lt 1024 ] || [ "${HTTP_PORT}" -gt 65535 ]; }; then
    env_error "HTTP_PORT='${HTTP_PORT}' is out of range: use 1024-65535"
  fi
  require_one_of STREAMING true false
  if ! jq -e 'type == "array" and length > 0 and all(.[]; type == "string" and (contains("\n") | not))' \
    <<<"${CONTAINER_CMD:-null}" >/dev/null 2>&1; then
    env_error "CONTAINER_CMD='${CONTAINER_CMD:-}' is invalid: a JSON array of strings, like [\"tritonserver\",\"--model-repository=...\"]"
  fi
  [ -n "${PROMPT:-}" ] || env_error "PROMPT is missing or empty: the prompt of example-request.json"
  # END_TOKEN may be empty: a model outside the catalogue has no known end-token text to look for.
  require_match BUCKET "${name}" "the artifact bucket's name"
  require_match NAMESPACE '^[a-z0-9]+$' "the Object Storage namespace"
  require_match REGION '^[a-z]+(-[a-z]+)+-[0-9]+$' "a region identifier, like us-ashburn-1"
  require_match ENGINE_KEY '^[A-Za-z0-9_-]+$' "the engine cache key"
  require_match ARTIFACT_KEY '^[A-Za-z0-9_-]+$' "the artifact cache key"
  [ "${ENGINE_PREFIX:-}" = "engines/${ENGINE_KEY:-}/" ] ||
    env_error "ENGINE_PREFIX='${ENGINE_PREFIX:-}' must be engines/<ENGINE_KEY>/, here engines/${ENGINE_KEY:-}/"
  [ "${ARTIFACT_PREFIX:-}" = "artifacts/${ARTIFACT_KEY:-}/" ] ||
    env_error "ARTIFACT_PREFIX='${ARTIFACT_PREFIX:-}' must be artifacts/<ARTIFACT_KEY>/, here artifacts/${ARTIFACT_KEY:-}/"
  require_match SCRIPT_VERSION '^[A-Za-z0-9._-]+$' "the build scripts' version"
  TRTLLM_GIT_URL=${TRTLLM_GIT_URL:-https://github.com/NVIDIA/TensorRT-LLM.git}
  require_match TRTLLM_GIT_URL '^https://[^[:space:]]+$' "an https git URL of TensorRT-LLM"
  if [[ ${REPOSITORY_FOLDER:-} =~ ${name} ]] && [ ! -d "${script_dir}/repository/${REPOSITORY_FOLDER}" ]; then
    env_error "REPOSITORY_FOLDER='${REPOSITORY_FOLDER}' but ${script_dir}/repository/${REPOSITORY_FOLDER}/ does not exist: copy the rendered model repository there"
  fi
  [ -f "${script_dir}/example-request.json" ] || env_error "${script_dir}/example-request.json is missing: copy the example request there"
  [ -f "${script_dir}/package-artifact.cjs" ] || env_error "${script_dir}/package-artifact.cjs is missing: copy the bundled packer there"
  if [ "${#env_errors[@]}" -gt 0 ]; then
    printf '%s\n' "${env_errors[@]}" >&2
    exit 1
  fi
}

# --- pipeline helpers (run inside the detached pipeline; stdout and stderr go to build.log) -------

# To stderr, so that a step can capture a command's output without its log line.
log() {
  echo "[$(date -u +%H:%M:%S)] $*" >&2
}

# Runs an external command with its command line in the log.
x() {
  log "+ $(printf '%q ' "$@")"
  "$@"
}

status() {
  echo "$(now) $*" >>"${status_file}"
}

# Runs one step unless its marker says it finished in an earlier run. The step runs in a subshell
# so that `set -e` holds inside it; what it produces lives in files under WORK_DIR.
step() {
  local name=$1 started seconds rc
  shift
  if [ -f "${steps_dir}/${name}.done" ]; then
    log "=== ${name}: done in an earlier run, skipped"
    status "skip ${name}"
    return 0
  fi
  log "=== ${name}"
  status "start ${name}"
  started=$(now)
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  seconds=$(($(now) - started))
  if [ "${rc}" -ne 0 ]; then
    log "=== ${name} failed (exit ${rc}) after ${seconds} s"
    status "failed ${name} ${rc}"
    exit 1
  fi
  echo "${seconds}" >"${steps_dir}/${name}.done"
  log "=== ${name} done in ${seconds} s"
  status "done ${name} ${seconds}"
}

# Options every container of the build shares: WORK_DIR and the scripts at the same paths inside
# as outside, so a path means the same thing on both sides of `docker run`.
container_mounts() {
  printf '%s\n' -v "${work_dir}:${work_dir}" -v "${script_dir}:${script_dir}:ro" -w "${work_dir}"
}

engine_settings() {
  printf '%s\n' -e "FAMILY=${MODEL_FAMILY}" -e "DTYPE=${DTYPE}" -e "QUANTIZATION=${QUANTIZATION}" -e "TP=${TP}" \
    -e "MAX_BATCH_SIZE=${MAX_BATCH_SIZE}" -e "MAX_INPUT_LEN=${MAX_INPUT_LEN}" -e "MAX_OUTPUT_LEN=${MAX_OUTPUT_LEN}"
  if [ -s "${work_dir}/examples-dir" ]; then
    printf '%s\n' -e "TRTLLM_EXAMPLES=$(cat "${work_dir}/examples-dir")"
  fi
}

# usage: in_image <container suffix> gpus|nogpus [docker run options...] -- <command...>
# One container per step, named so that a resumed run can remove the one an interrupted run left
# behind (killing `docker run` does not stop its container).
in_image() {
  local name=engine-build-$1 gpus=$2 mounts settings options=()
  shift 2
  while [ "$1" != -- ]; do
    options+=("$1")
    shift
  done
  shift
  mapfile -t mounts < <(container_mounts)
  mapfile -t settings < <(engine_settings)
  docker rm -f "${name}" >/dev/null 2>&1 || true
  local gpu_args=()
  [ "${gpus}" = gpus ] && gpu_args=(--gpus all --ipc=host --ulimit memlock=-1 --ulimit stack=67108864)
  x docker run --rm --name "${name}" "${gpu_args[@]}" "${mounts[@]}" "${settings[@]}" "${options[@]}" "${IMAGE_REF}" "$@"
}

oci_cli() {
  x oci --auth instance_principal --region "${REGION}" "$@"
}

# usage: upload <file> <object> [always]
# Skips the upload when the bucket already holds an object of that name and size (a resumed or
# repeated build: the zip and the engine tar are GBs). Manifests and logs say `always`: their
# content changes at the same size.
upload() {
  local file=$1 object=$2 mode=${3:-skip-same-size} size existing
  size=$(stat -c %s "${file}")
  if [ "${mode}" != always ] && existing=$(oci_cli os object head --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${object}" 2>/dev/null |
    jq -r '."content-length" // empty'); then
    if [ "${existing}" = "${size}" ]; then
      log "${object} is already in the bucket with the same size (${size} bytes): not uploaded again"
      return 0
    fi
  fi
  # 128 MiB parts, 8 in parallel: a 15 GB zip is about 120 parts (the limit is 10,000).
  oci_cli os object put --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${object}" \
    --file "${file}" --force --part-size 128 --parallel-upload-count 8
}

# --- the steps -----------------------------------------------------------------------------------

step_preflight() {
  local tool
  for tool in docker jq node unzip tar curl oci flock git; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is not installed: cloud-init.yaml installs it; see /var/log/cloud-init-output.log"
  done
  x docker info --format '{{.ServerVersion}}' || die "the Docker daemon does not answer: systemctl status docker"
  local need_gb=${MIN_FREE_GB:-40} free_kb
  if [ "${BUILD_MODE}" = build ]; then
    need_gb=${MIN_FREE_GB:-100}
    local gpus
    gpus=$(x nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) ||
      die "nvidia-smi failed: this instance has no working NVIDIA driver; use a GPU shape with an Oracle Linux GPU image"
    log "GPUs: ${gpus}"
    local count
    count=$(grep -c . <<<"${gpus}")
    [ "${count}" -ge "${TP}" ] || die "TP=${TP} needs ${TP} GPUs; this instance has ${count}"
    head -n 1 <<<"${gpus}" | awk -F', ' '{print $1}' >"${work_dir}/gpu-name"
    head -n 1 <<<"${gpus}" | awk -F', ' '{print $2}' >"${work_dir}/gpu-driver"
  fi
  free_kb=$(df -Pk "${work_dir}" | awk 'NR == 2 {print $4}')
  log "free space in ${work_dir}: $((free_kb / 1024 / 1024)) GiB (need ${need_gb} GiB)"
  [ "${free_kb}" -ge $((need_gb * 1024 * 1024)) ] ||
    die "only $((free_kb / 1024 / 1024)) GiB free in ${work_dir}, the build needs ${need_gb} GiB: grow the boot volume (oci-growfs) or size it larger"
}

step_pull_image() {
  local docker_config
  docker_config=$(mktemp -d "${secrets_dir}/docker.XXXXXX")
  # The token goes in on stdin; the credentials docker keeps live in a tmpfs folder removed below.
  log "+ docker --config ${docker_config} login --username <OCIR username> --password-stdin ${OCIR_REGISTRY}"
  if ! printf '%s\n' "${ocir_token}" | docker --config "${docker_config}" login --username "${ocir_username}" \
    --password-stdin "${OCIR_REGISTRY}"; then
    rm -rf "${docker_config}"
    die "docker login to ${OCIR_REGISTRY} failed: check ocirUsername (<namespace>/<user>) and ocirAuthToken"
  fi
  local rc=0
  x docker --config "${docker_config}" pull "${IMAGE_REF}" || rc=$?
  x docker --config "${docker_config}" logout "${OCIR_REGISTRY}" || true
  rm -rf "${docker_config}"
  [ "${rc}" -eq 0 ] || die "docker pull ${IMAGE_REF} failed: check the image digest and the registry's policies"
}

step_inspect_image() {
  local out version examples
  # An earlier run's answer may belong to another image.
  rm -f "${work_dir}/examples-dir"
  out=$(in_image inspect nogpus -- bash "${script_dir}/build-engine.sh" inspect)
  echo "${out}"
  version=$(sed -n 's/^trtllm_version=//p' <<<"${out}")
  examples=$(sed -n 's/^examples=//p' <<<"${out}")
  [ -n "${version}" ] || die "the image reports no TensorRT-LLM version"
  echo "${version}" >"${work_dir}/trtllm-version"
  if [ -n "${examples}" ]; then
    log "the image ships TensorRT-LLM's examples at ${examples}"
    echo "${examples}" >"${work_dir}/examples-dir"
    return 0
  fi
  local checkout=${work_dir}/TensorRT-LLM
  log "the image has no usable examples/: fetching them from ${TRTLLM_GIT_URL} at v${version}"
  rm -rf "${checkout}"
  x git clone --depth 1 --branch "v${version}" --filter=blob:none --sparse "${TRTLLM_GIT_URL}" "${checkout}"
  x git -C "${checkout}" sparse-checkout set examples
  echo "${checkout}/examples" >"${work_dir}/examples-dir"
}

step_download() {
  local token_args=()
  if [ -n "${hf_token}" ]; then
    # `-e HF_TOKEN` without a value: docker copies it from its own environment (this step's
    # subshell), so the token is on no command line.
    export HF_TOKEN=${hf_token}
    token_args=(-e HF_TOKEN)
  fi
  in_image download nogpus "${token_args[@]}" -e "HF_HOME=${work_dir}/hf-home" -- \
    bash "${script_dir}/build-engine.sh" download "${HF_MODEL_ID}" "${HF_REVISION}" "${work_dir}/model"
}

step_convert() {
  # quantize.py downloads its calibration set (cnn_dailymail) through the Hugging Face cache: keep
  # that cache in WORK_DIR so a resumed run does not fetch it again.
  in_image convert gpus -e "HF_HOME=${work_dir}/hf-home" -- bash "${script_dir}/build-engine.sh" convert "${work_dir}/model" "${work_dir}/checkpoint"
}

step_build_engine() {
  rm -rf "${work_dir}/engine"
  in_image build gpus -- bash "${script_dir}/build-engine.sh" build "${work_dir}/checkpoint" "${work_dir}/engine"
}

step_fetch_engine() {
  local cached=${work_dir}/cached
  rm -rf "${cached}" "${work_dir}/engine" "${work_dir}/engine-manifest.json"
  mkdir -p "${cached}"
  oci_cli os object get --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${ENGINE_PREFIX}manifest.json" \
    --file "${work_dir}/engine-manifest.json"
  oci_cli os object get --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${ENGINE_PREFIX}engine.tar" \
    --file "${work_dir}/engine.tar"
  x tar -xf "${work_dir}/engine.tar" -C "${cached}"
  [[ -d ${cached}/engine && -d ${cached}/tokenizer ]] ||
    die "${ENGINE_PREFIX}engine.tar has no engine/ and tokenizer/ folders: delete it from the bucket so that the next run builds again"
  mv "${cached}/engine" "${work_dir}/engine"
  jq -r '.trtllmVersion' "${work_dir}/engine-manifest.json" >"${work_dir}/trtllm-version"
  jq -r '.gpu' "${work_dir}/engine-manifest.json" >"${work_dir}/gpu-name"
  jq -r '.driver' "${work_dir}/engine-manifest.json" >"${work_dir}/gpu-driver"
}

tokenizer_source() {
  if [ "${BUILD_MODE}" = build ]; then
    echo "${work_dir}/model"
  else
    echo "${work_dir}/cached/tokenizer"
  fi
}

# Links rather than copies: the engine is GBs and the stage only lives until it is packed.
link_or_copy() {
  cp --link -- "$1" "$2" 2>/dev/null || cp -- "$1" "$2"
}

step_stage() {
  local stage=${work_dir}/stage folder file source model found=0
  folder=${stage}/${REPOSITORY_FOLDER}
  rm -rf "${stage}"
  mkdir -p "${stage}"
  x cp -R "${script_dir}/repository/${REPOSITORY_FOLDER}" "${folder}"
  # Version folders may arrive without their empty ones (the copy to the host carries files only),
  # and Triton needs one per model, the ensemble's empty.
  for model in "${triton_models[@]}"; do
    mkdir -p "${folder}/${model}/1"
  done
  mkdir -p "${folder}/tokenizer"
  for file in "${work_dir}/engine"/*; do
    [ -f "${file}" ] && link_or_copy "${file}" "${folder}/tensorrt_llm/1/"
  done
  source=$(tokenizer_source)
  for file in "${tokenizer_files[@]}"; do
    if [ -f "${source}/${file}" ]; then
      link_or_copy "${source}/${file}" "${folder}/tokenizer/${file}"
      found=$((found + 1))
    fi
  done
  [ "${found}" -gt 0 ] || die "no tokenizer files in ${source}: the model snapshot is incomplete"
  find "${folder}/tensorrt_llm/1" "${folder}/tokenizer" -type f -printf '%s %p\n'
}

step_pack() {
  rm -f "${work_dir}/model.zip" "${work_dir}/pack.json"
  x node "${script_dir}/package-artifact.cjs" "${work_dir}/stage/${REPOSITORY_FOLDER}" "${work_dir}/model.zip" \
    >"${work_dir}/pack.json.partial"
  jq -e '.sha256 and .bytes and .entries' "${work_dir}/pack.json.partial" >/dev/null ||
    die "package-artifact.cjs printed no {sha256, bytes, entries}: $(cat "${work_dir}/pack.json.partial")"
  mv "${work_dir}/pack.json.partial" "${work_dir}/pack.json"
  cat "${work_dir}/pack.json"
}

stop_triton() {
  docker logs "${triton_container}" >"${work_dir}/triton.log" 2>&1 || true
  docker rm -f "${triton_container}" >/dev/null 2>&1 || true
}

# Fails unless a /generate answer (a JSON object) has a text_output without the prompt or the end token.
check_answer() {
  local what=$1 text
  text=$(jq -r 'if type == "object" and (.text_output | type) == "string" then .text_output else empty end' <<<"$2") ||
    die "${what}: the answer is not JSON: $2"
  [ -n "${text}" ] || die "${what}: the answer has no text_output: $2"
  if [ -n "${END_TOKEN:-}" ] && [[ ${text} == *"${END_TOKEN}"* ]]; then
    die "${what}: text_output contains the end token ${END_TOKEN}: generation did not stop at it (end_id / skip_special_tokens): ${text}"
  fi
  if [[ ${text} == *"${PROMPT}"* ]]; then
    die "${what}: text_output repeats the prompt (exclude_input_in_output is off): ${text}"
  fi
  log "${what}: text_output: ${text}"
}

step_validate() {
  local deployed=${work_dir}/deployed base cmd running model code
  base=http://127.0.0.1:${HTTP_PORT}
  rm -rf "${deployed}"
  mkdir -p "${deployed}"
  x unzip -q "${work_dir}/model.zip" -d "${deployed}"
  mapfile -t cmd < <(jq -r '.[]' <<<"${CONTAINER_CMD}")
  stop_triton
  trap stop_triton EXIT
  # A Data Science model deployment mounts the unzipped artifact read-only at
  # /opt/ds/model/deployed_model (a top-level folder of the zip is a path level there) and runs
  # CONTAINER_CMD as the container's command, the image's entrypoint unchanged.
  x docker run -d --name "${triton_container}" --gpus all --ipc=host --network host --shm-size=2g \
    --ulimit memlock=-1 --ulimit stack=67108864 \
    -v "${deployed}:/opt/ds/model/deployed_model:ro" "${IMAGE_REF}" "${cmd[@]}"
  local deadline=$(($(now) + ${READY_TIMEOUT_SECONDS:-1200}))
  until curl -sf -o /dev/null "${base}/v2/health/ready"; do
    running=$(docker inspect -f '{{.State.Running}}' "${triton_container}" 2>/dev/null || echo false)
    [ "${running}" = true ] || die "Triton exited before it was ready: a model failed to load (Triton log below)"
    # With --exit-on-error=false Triton keeps running without the model and is never ready
    # (model_lifecycle.cc logs "failed to load '<model>' version <n>: <reason>").
    if docker logs "${triton_container}" 2>&1 | grep -q "failed to load '"; then
      die "a model failed to load and Triton will never be ready (Triton log below)"
    fi
    [ "$(now)" -lt "${deadline}" ] || die "Triton was not ready after ${READY_TIMEOUT_SECONDS:-1200} s (Triton log below)"
    sleep "${poll_seconds}"
  done
  log "Triton is ready on ${base}"
  for model in "${triton_models[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "${base}/v2/models/${model}/ready") || code=000
    [ "${code}" = 200 ] || die "model ${model} is not ready (HTTP ${code}): it failed to load (Triton log below)"
  done
  local answer
  answer=$(x curl -sS --max-time 300 -H 'Content-Type: application/json' \
    --data-binary "@${script_dir}/example-request.json" "${base}/v2/models/ensemble/generate") ||
    die "POST /v2/models/ensemble/generate failed"
  check_answer generate "${answer}"
  if [ "${STREAMING}" = true ]; then
    local events joined
    jq -c '. + {stream: true}' "${script_dir}/example-request.json" >"${work_dir}/stream-request.json"
    events=$(x curl -sS -N --max-time 300 -H 'Content-Type: application/json' \
      --data-binary "@${work_dir}/stream-request.json" "${base}/v2/models/ensemble/generate_stream") ||
      die "POST /v2/models/ensemble/generate_stream failed"
    # Server-sent events: one `data: {...}` line per partial answer; errors arrive as {"error": ...}.
    if grep '^data:' <<<"${events}" | sed 's/^data: *//' | jq -s -e 'any(.[]; has("error"))' >/dev/null 2>&1; then
      die "generate_stream: the stream carried an error: ${events}"
    fi
    joined=$(grep '^data:' <<<"${events}" | sed 's/^data: *//' | jq -s '{text_output: (map(.text_output // "") | join(""))}') ||
      die "generate_stream: the events are not JSON: ${events}"
    check_answer generate_stream "${joined}"
  fi
  stop_triton
  trap - EXIT
}

step_upload_engine() {
  local stage=${work_dir}/engine-tar
  rm -rf "${stage}"
  mkdir -p "${stage}/engine" "${stage}/tokenizer"
  cp --link "${work_dir}/engine"/* "${stage}/engine/" 2>/dev/null || cp "${work_dir}/engine"/* "${stage}/engine/"
  cp "${work_dir}/stage/${REPOSITORY_FOLDER}/tokenizer"/* "${stage}/tokenizer/"
  # Fixed order, owners and times: the same engine gives the same tar, so a re-run skips the upload.
  x tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "${work_dir}/engine.tar" -C "${stage}" engine tokenizer
  engine_manifest >"${work_dir}/engine-manifest.json"
  upload "${work_dir}/engine.tar" "${ENGINE_PREFIX}engine.tar"
  upload "${work_dir}/engine-manifest.json" "${ENGINE_PREFIX}manifest.json" always
}

step_upload_artifact() {
  build_manifest >"${work_dir}/manifest.json"
  cp "${log_file}" "${work_dir}/build-log-upload.log"
  upload "${work_dir}/model.zip" "${ARTIFACT_PREFIX}model.zip"
  upload "${work_dir}/build-log-upload.log" "${ARTIFACT_PREFIX}build.log" always
  # Last: its presence marks a complete artifact.
  upload "${work_dir}/manifest.json" "${ARTIFACT_PREFIX}manifest.json" always
}

# --- manifests -----------------------------------------------------------------------------------

timings_json() {
  local marker
  for marker in "${steps_dir}"/*.done; do
    [ -f "${marker}" ] && printf '%s %s\n' "$(basename "${marker}" .done)" "$(cat "${marker}")"
  done | jq -R -s 'split("\n") | map(select(length > 0) | split(" ") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

engine_flags_json() {
  if [ "${BUILD_MODE}" = assemble ]; then
    jq -c '.engine.flags' "${work_dir}/engine-manifest.json"
  else
    FAMILY=${MODEL_FAMILY} bash "${script_dir}/build-engine.sh" flags | jq -R -s -c 'split("\n") | map(select(length > 0))'
  fi
}

engine_json() {
  jq -n -c --arg dtype "${DTYPE}" --arg quantization "${QUANTIZATION}" --argjson tp "${TP}" \
    --argjson maxBatchSize "${MAX_BATCH_SIZE}" --argjson maxInputLen "${MAX_INPUT_LEN}" \
    --argjson maxOutputLen "${MAX_OUTPUT_LEN}" --argjson flags "$(engine_flags_json)" \
    '{dtype: $dtype, quantization: $quantization, tp: $tp, maxBatchSize: $maxBatchSize,
      maxInputLen: $maxInputLen, maxOutputLen: $maxOutputLen, flags: $flags}'
}

bytes_of() {
  find "$@" -type f -printf '%s\n' | awk '{sum += $1} END {print sum + 0}'
}

engine_manifest() {
  jq -n -c --arg engineKey "${ENGINE_KEY}" --arg imageRef "${IMAGE_REF}" \
    --arg trtllmVersion "$(cat "${work_dir}/trtllm-version")" --arg gpu "$(cat "${work_dir}/gpu-name")" \
    --arg driver "$(cat "${work_dir}/gpu-driver")" --argjson engine "$(engine_json)" \
    --arg sha256 "$(sha256sum "${work_dir}/engine.tar" | cut -d' ' -f1)" \
    --argjson bytes "$(stat -c %s "${work_dir}/engine.tar")" --argjson timings "$(timings_json)" \
    --arg scriptVersion "${SCRIPT_VERSION}" --arg finishedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{schema: 1, engineKey: $engineKey, object: "engine.tar", sha256: $sha256, bytes: $bytes,
      imageRef: $imageRef, trtllmVersion: $trtllmVersion, gpu: $gpu, driver: $driver, engine: $engine,
      timings: $timings, scriptVersion: $scriptVersion, finishedAt: $finishedAt}'
}

build_manifest() {
  local folder=${work_dir}/stage/${REPOSITORY_FOLDER}
  jq -n -c --arg mode "${BUILD_MODE}" --arg engineKey "${ENGINE_KEY}" --arg artifactKey "${ARTIFACT_KEY}" \
    --arg object "${ARTIFACT_PREFIX}model.zip" --slurpfile pack "${work_dir}/pack.json" \
    --arg imageRef "${IMAGE_REF}" --arg trtllmVersion "$(cat "${work_dir}/trtllm-version")" \
    --arg gpu "$(cat "${work_dir}/gpu-name")" --arg driver "$(cat "${work_dir}/gpu-driver")" \
    --argjson engine "$(engine_json)" --argjson timings "$(timings_json)" \
    --argjson engineBytes "$(bytes_of "${folder}/tensorrt_llm/1")" \
    --argjson tokenizerBytes "$(bytes_of "${folder}/tokenizer")" \
    --arg scriptVersion "${SCRIPT_VERSION}" --arg finishedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{schema: 1, mode: $mode, engineKey: $engineKey, artifactKey: $artifactKey, object: $object,
      sha256: $pack[0].sha256, bytes: $pack[0].bytes, entries: $pack[0].entries, imageRef: $imageRef,
      trtllmVersion: $trtllmVersion, gpu: $gpu, driver: $driver, engine: $engine, timings: $timings,
      sizes: {engineBytes: $engineBytes, tokenizerBytes: $tokenizerBytes, zipBytes: $pack[0].bytes},
      scriptVersion: $scriptVersion, finishedAt: $finishedAt}'
}

# --- the pipeline --------------------------------------------------------------------------------

# The pipeline's state belongs to one engine and artifact key: a different build.env starts afresh
# (downloads already on disk still resume).
reset_if_keys_changed() {
  local keys="${ENGINE_KEY} ${ARTIFACT_KEY} ${BUILD_MODE}"
  if [ "$(cat "${work_dir}/keys" 2>/dev/null || true)" != "${keys}" ]; then
    rm -rf "${steps_dir}"
    echo "${keys}" >"${work_dir}/keys"
  fi
  mkdir -p "${steps_dir}"
}

read_secrets() {
  ocir_username="" ocir_token="" hf_token=""
  if [ -f "${secrets_file}" ]; then
    {
      IFS= read -r ocir_username || true
      IFS= read -r ocir_token || true
      IFS= read -r hf_token || true
    } <"${secrets_file}"
    rm -f "${secrets_file}"
  fi
}

pipeline() {
  exec 9>"${lock_file}"
  flock -w 10 9 || die "another pipeline holds ${lock_file}"
  reset_if_keys_changed
  read_secrets
  exec >>"${log_file}" 2>&1
  echo "$$" >"${work_dir}/pipeline.pid"
  status "begin $$"
  log "engine build pipeline, scripts ${SCRIPT_VERSION}, mode ${BUILD_MODE}, engine ${ENGINE_KEY}, artifact ${ARTIFACT_KEY}"
  trap 'status "failed ${current_step:-pipeline} terminated"; exit 1' TERM INT
  current_step=preflight
  step preflight step_preflight
  if [ "${BUILD_MODE}" = build ]; then
    [ -f "${steps_dir}/pull-image.done" ] || [ -n "${ocir_token}" ] ||
      { status "failed pull-image no-secrets" && die "no OCIR credentials reached the pipeline: give them on run's stdin"; }
    for current_step in pull-image inspect-image download convert build-engine; do
      step "${current_step}" "step_${current_step//-/_}"
    done
  else
    current_step=fetch-engine
    step fetch-engine step_fetch_engine
  fi
  for current_step in stage pack; do
    step "${current_step}" "step_${current_step}"
  done
  if [ "${BUILD_MODE}" = build ]; then
    for current_step in validate upload-engine; do
      step "${current_step}" "step_${current_step//-/_}"
    done
  fi
  current_step=upload-artifact
  step upload-artifact step_upload_artifact
  log "artifact ${ARTIFACT_PREFIX}model.zip complete"
  status "finished"
}

# --- run / follow --------------------------------------------------------------------------------

pipeline_running() {
  [ -f "${lock_file}" ] && ! flock -n "${lock_file}" true
}

finished_ok() {
  [ -f "${steps_dir}/upload-artifact.done" ] && [ -f "${work_dir}/manifest.json" ]
}

launcher() {
  local choice=${ENGINE_BUILD_LAUNCHER:-auto}
  if [ "${choice}" = auto ]; then
    # /run/systemd/system exists only when systemd is the init (sd_booted(3)).
    if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then choice=systemd; else choice=setsid; fi
  fi
  echo "${choice}"
}

start_pipeline() {
  local self=${script_dir}/build-host.sh how
  how=$(launcher)
  : >"${status_file}"
  status "launched ${how}"
  case "${how}" in
    systemd)
      # Only paths go through --setenv: systemctl show displays a unit's environment.
      systemd-run --unit engine-build --collect --quiet --setenv=HOME=/root --setenv=WORK_DIR="${work_dir}" \
        --setenv=SECRETS_DIR="${secrets_dir}" --setenv=BUILD_ENV="${build_env}" \
        --setenv=POLL_SECONDS="${poll_seconds}" bash "${self}" pipeline ||
        die "systemd-run could not start the pipeline: see journalctl -u engine-build"
      ;;
    setsid)
      setsid nohup bash "${self}" pipeline </dev/null >>"${log_file}" 2>&1 &
      ;;
    foreground)
      bash "${self}" pipeline </dev/null || true
      grep -q '^[0-9]* begin ' "${status_file}" || status "failed pipeline not-started"
      ;;
    *) die "ENGINE_BUILD_LAUNCHER='${how}' is invalid: use auto, systemd, setsid or foreground" ;;
  esac
}

report_failure() {
  local step=$1
  echo "engine build failed in step ${step}; last lines of ${log_file}:" >&2
  tail -n 80 "${log_file}" >&2 || true
  if [ "${step}" = validate ] && [ -f "${work_dir}/triton.log" ]; then
    echo "--- last lines of the Triton log (${work_dir}/triton.log):" >&2
    tail -n 80 "${work_dir}/triton.log" >&2
  fi
  echo "run build-host.sh run again to resume from ${step}" >&2
}

# Prints the status file's events as they come, one line per step on stderr; returns once the
# pipeline finished, failed or vanished.
follow() {
  local began seen=0 line at event name detail total begun=false
  began=$(now)
  while true; do
    total=$(wc -l <"${status_file}" 2>/dev/null || echo 0)
    while [ "${seen}" -lt "${total}" ]; do
      seen=$((seen + 1))
      line=$(sed -n "${seen}p" "${status_file}")
      read -r at event name detail <<<"${line}"
      case "${event}" in
        launched) began=${at} ;;
        begin) begun=true ;;
        start) echo "[engine-build +$((at - began))s] ${name} ..." >&2 ;;
        done) echo "[engine-build +$((at - began))s] ${name} done in ${detail} s" >&2 ;;
        skip) echo "[engine-build +$((at - began))s] ${name} already done" >&2 ;;
        failed)
          report_failure "${name}"
          return 1
          ;;
        finished)
          echo "[engine-build +$((at - began))s] artifact complete" >&2
          jq -c . "${work_dir}/manifest.json"
          return 0
          ;;
      esac
    done
    # A pipeline that began holds its lock until it ends; one that never began within a minute of
    # its launch failed to start (its own output is in the log).
    if ! pipeline_running && [ "$(wc -l <"${status_file}")" -eq "${seen}" ]; then
      if [ "${begun}" = true ] || [ "$(($(now) - began))" -gt 60 ]; then
        echo "the pipeline stopped without finishing (killed, or the instance rebooted)" >&2
        report_failure "$(awk '$2 == "start" {s = $3} END {print s}' "${status_file}")"
        return 1
      fi
    fi
    sleep "${poll_seconds}"
  done
}

run() {
  load_build_env
  if ! mkdir -p "${work_dir}" 2>/dev/null || [ ! -w "${work_dir}" ]; then
    die "cannot write to ${work_dir}: run build-host.sh as root (sudo bash build-host.sh run)"
  fi
  if pipeline_running; then
    echo "a build is already running: following it" >&2
    follow
    return
  fi
  reset_if_keys_changed
  # Secrets: read now, whatever happens next, so that they never linger on a pipe. A trailing CR
  # (stdin written on Windows) is not part of a token.
  local username token hf
  IFS= read -r username || true
  IFS= read -r token || true
  IFS= read -r hf || true
  username=${username%$'\r'} token=${token%$'\r'} hf=${hf%$'\r'}
  if finished_ok; then
    echo "this build already finished: ${ARTIFACT_PREFIX}model.zip" >&2
    jq -c . "${work_dir}/manifest.json"
    return 0
  fi
  (
    umask 077
    mkdir -p "${secrets_dir}"
    chmod 700 "${secrets_dir}"
    printf '%s\n%s\n%s\n' "${username}" "${token}" "${hf}" >"${secrets_file}"
  )
  # The pipeline removes the file as soon as it has read it; this covers a pipeline that never started.
  trap 'rm -f "${secrets_file}"' EXIT
  start_pipeline
  follow
}

main() {
  case "${1:-}" in
    -h | --help)
      usage
      exit 0
      ;;
    run)
      [ "$#" -eq 1 ] || { usage >&2 && exit 2; }
      run
      ;;
    follow)
      [ "$#" -eq 1 ] || { usage >&2 && exit 2; }
      [ -f "${status_file}" ] || die "no build has started in ${work_dir}: use build-host.sh run"
      follow
      ;;
    pipeline)
      load_build_env
      mkdir -p "${work_dir}"
      pipeline
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"

# shellcheck shell=bash
# Sourced by build-host.sh: reads build.env, the settings the Pulumi program writes
# (renderBuildEnv), and checks every value.

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
  require_one_of BUILD_MODE build assemble mirror
  [ "${BUILD_MODE:-}" != mirror ] || [ -n "${MIRROR_SOURCE:-}" ] ||
    env_error "BUILD_MODE=mirror but MIRROR_SOURCE is missing: a mirror host only copies the serving image, name it"
  require_match IMAGE_REF '^[a-z0-9.-]+\.ocir\.io/[a-z0-9_-]+/[a-z0-9._/-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$' \
    "pin the OCIR image by digest: <region>.ocir.io/<namespace>/<repo>:<tag>@sha256:<64 hex>"
  require_match OCIR_REGISTRY '^[a-z0-9.-]+\.ocir\.io$' "the registry host of IMAGE_REF, like iad.ocir.io"
  if [[ ${IMAGE_REF:-} != "${OCIR_REGISTRY:-}/"* ]]; then
    env_error "IMAGE_REF='${IMAGE_REF:-}' is not in OCIR_REGISTRY='${OCIR_REGISTRY:-}': they must name the same registry"
  fi
  require_match HF_MODEL_ID '^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$' "a Hugging Face model id <owner>/<name>"
  require_match HF_REVISION '^[A-Za-z0-9._/-]+$' "a commit sha or tag of the model"
  require_one_of MODEL_FAMILY falcon llama
  # What steps/model-config.sh compares config.json with; a build downloads the model, the other
  # modes never read it.
  if [ "${BUILD_MODE:-}" = build ] && ! jq -e 'type == "array" and length > 0 and all(.[];
      (.field | type) == "string" and (.stackKey | type) == "string"
      and (.keys | type == "array" and length > 0 and all(.[]; type == "string"))
      and (.allowed | type == "array" and length > 0 and all(.[]; type == "string" or type == "number")))' \
    <<<"${HF_CONFIG_EXPECT:-null}" >/dev/null 2>&1; then
    env_error "HF_CONFIG_EXPECT='${HF_CONFIG_EXPECT:-}' is invalid: the config.json fields to compare, a JSON array of {field, keys, allowed, stackKey} (components/build/model-config-check.ts)"
  fi
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
  # Unset on a Triton stack; openai: the container runs the image's OpenAI frontend (validate.sh).
  API=${API:-triton}
  require_one_of API triton openai
  [ "${API}" != openai ] || require_match OPENAI_MODEL "${name}" "the model the OpenAI frontend serves, like odsc-llm"
  require_one_of CHUNKED_CONTEXT true false
  [ "${QUANTIZATION:-}" != int4_awq ] || require_one_of AWQ_BLOCK_SIZE 64 128
  if ! jq -e 'type == "array" and length > 0 and all(.[]; type == "string" and (contains("\n") | not))' \
    <<<"${CONTAINER_CMD:-null}" >/dev/null 2>&1; then
    env_error "CONTAINER_CMD='${CONTAINER_CMD:-}' is invalid: a JSON array of strings, like [\"tritonserver\",\"--model-repository=...\"]"
  fi
  if ! jq -e 'type == "array" and all(.[]; type == "string")' <<<"${CONTAINER_ENTRYPOINT:-null}" >/dev/null 2>&1; then
    env_error "CONTAINER_ENTRYPOINT='${CONTAINER_ENTRYPOINT:-}' is invalid: a JSON array of strings, [] for the image's own"
  fi
  if [ "${API}" = openai ]; then
    # OCI forwards the OpenAI routes themselves: no predict endpoint, the frontend's health route.
    if ! jq -e 'type == "object" and all(.[]; type == "string") and .MODEL_DEPLOY_HEALTH_ENDPOINT == "/health/ready"' \
      <<<"${CONTAINER_ENV:-null}" >/dev/null 2>&1; then
      env_error "CONTAINER_ENV='${CONTAINER_ENV:-}' is invalid: the deployment's environment as a JSON object of strings, with MODEL_DEPLOY_HEALTH_ENDPOINT=/health/ready (API=openai)"
    fi
  elif ! jq -e 'type == "object" and all(.[]; type == "string") and (.MODEL_DEPLOY_PREDICT_ENDPOINT | type == "string" and startswith("/v2/models/"))' \
    <<<"${CONTAINER_ENV:-null}" >/dev/null 2>&1; then
    env_error "CONTAINER_ENV='${CONTAINER_ENV:-}' is invalid: the deployment's environment as a JSON object of strings, with MODEL_DEPLOY_PREDICT_ENDPOINT=/v2/models/..."
  fi
  [ -n "${VALIDATION_EXPECT:-}" ] || env_error "VALIDATION_EXPECT is missing or empty: the text the answer to validation-request.json must hold"
  require_match BUCKET "${name}" "the artifact bucket's name"
  require_match NAMESPACE '^[a-z0-9]+$' "the Object Storage namespace"
  require_match REGION '^[a-z]+(-[a-z]+)+-[0-9]+$' "a region identifier, like us-ashburn-1"
  require_match ENGINE_KEY '^[A-Za-z0-9_-]+$' "the engine cache key"
  require_match ARTIFACT_KEY '^[A-Za-z0-9_-]+$' "the artifact cache key"
  [ "${ENGINE_PREFIX:-}" = "engines/${ENGINE_KEY:-}/" ] ||
    env_error "ENGINE_PREFIX='${ENGINE_PREFIX:-}' must be engines/<ENGINE_KEY>/, here engines/${ENGINE_KEY:-}/"
  [ "${ARTIFACT_PREFIX:-}" = "artifacts/${ARTIFACT_KEY:-}/" ] ||
    env_error "ARTIFACT_PREFIX='${ARTIFACT_PREFIX:-}' must be artifacts/<ARTIFACT_KEY>/, here artifacts/${ARTIFACT_KEY:-}/"
  if [ -n "${MIRROR_SOURCE:-}" ]; then
    local problem
    while IFS= read -r problem; do
      [ -z "${problem}" ] || env_error "${problem}"
    done <<<"$(mirror_settings_problems)"
    [ "${IMAGE_REF##*@}" = "${MIRROR_DIGEST:-}" ] ||
      env_error "IMAGE_REF='${IMAGE_REF:-}' is not pinned to MIRROR_DIGEST='${MIRROR_DIGEST:-}': the deployment must pull the copy"
  fi
  require_match SCRIPT_VERSION '^[A-Za-z0-9._-]+$' "the build scripts' version"
  TRTLLM_GIT_URL=${TRTLLM_GIT_URL:-https://github.com/NVIDIA/TensorRT-LLM.git}
  require_match TRTLLM_GIT_URL '^https://[^[:space:]]+$' "an https git URL of TensorRT-LLM"
  if [[ ${REPOSITORY_FOLDER:-} =~ ${name} ]] && [ ! -d "${script_dir}/repository/${REPOSITORY_FOLDER}" ]; then
    env_error "REPOSITORY_FOLDER='${REPOSITORY_FOLDER}' but ${script_dir}/repository/${REPOSITORY_FOLDER}/ does not exist: copy the rendered model repository there"
  fi
  if [ "${API}" = openai ]; then
    jq -e --arg model "${OPENAI_MODEL:-}" '.model == $model and (.messages[-1].content | type == "string")' \
      "${script_dir}/validation-request.json" >/dev/null 2>&1 ||
      env_error "${script_dir}/validation-request.json is missing or is not a chat request to ${OPENAI_MODEL:-OPENAI_MODEL}: copy the validation request there"
  else
    jq -e '.text_input | type == "string"' "${script_dir}/validation-request.json" >/dev/null 2>&1 ||
      env_error "${script_dir}/validation-request.json is missing or has no text_input: copy the validation request there"
  fi
  [ -f "${script_dir}/package-artifact.cjs" ] || env_error "${script_dir}/package-artifact.cjs is missing: copy the bundled packer there"
  if [ "${#env_errors[@]}" -gt 0 ]; then
    printf '%s\n' "${env_errors[@]}" >&2
    exit 1
  fi
}

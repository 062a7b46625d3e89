#!/usr/bin/env bash
# The one place that knows how a TensorRT-LLM engine is made: download, quantize or convert, and
# trtllm-build flags. Runs inside the Triton TensorRT-LLM image the deployment serves with (engines
# only load under the TensorRT-LLM version and GPU architecture that built them), by hand
# (docs/engine-by-hand.md) or from build-host.sh on the build instance.
#
# usage:
#   build-engine.sh <hf-snapshot-dir> <engine-out-dir>        convert (or quantize), then build
#   build-engine.sh convert <hf-snapshot-dir> <checkpoint-dir> quantize or convert only
#   build-engine.sh build <checkpoint-dir> <engine-out-dir>    trtllm-build only
#   build-engine.sh download <hf-model-id> <revision> <dir>    snapshot at a pinned revision
#   build-engine.sh inspect                                    print trtllm_version= and examples=
#   build-engine.sh flags                                      print the trtllm-build flags, one a line
#   build-engine.sh --help
# settings (environment; defaults match Pulumi.dev.yaml):
#   FAMILY=falcon            falcon | llama (the TensorRT-LLM example family)
#   DTYPE=bfloat16           float16 | bfloat16
#   QUANTIZATION=none        none | fp8 | int8_sq | int4_awq | int8_weight_only | int4_weight_only
#   TP=1                     tensor parallelism: 1, 2, 4 or 8 (Falcon-7B: 1 only, 71 heads)
#   MAX_BATCH_SIZE=32  MAX_INPUT_LEN=1024  MAX_OUTPUT_LEN=1024
#   CHUNKED_CONTEXT=false    true builds for serving.enableChunkedContext (--use_paged_context_fmha)
#   AWQ_BLOCK_SIZE=128       (int4_awq) 64 or 128, dividing the hidden size per GPU: Falcon-7B needs 64
#   TRTLLM_EXAMPLES=/app/examples   TensorRT-LLM's examples/ at the image's version; the Triton
#                            TensorRT-LLM images ship them there (tensorrtllm_backend v0.18.2,
#                            dockerfile/Dockerfile.triton.trt_llm_backend lines 195-200)
#   HF_TOKEN                 (download only) for gated models; pass it as `docker run -e HF_TOKEN`
# exit codes: 0 ok, 1 a problem with the environment or the inputs, 2 usage or an invalid setting.
set -euo pipefail

readonly DEFAULT_EXAMPLES=/app/examples

usage() {
  sed -n '/^# usage:/,/^# exit codes/p' "$0" | sed 's/^# \{0,1\}//'
}

fail() {
  echo "build-engine.sh: $*" >&2
  exit 1
}

settings_errors=()
setting_error() {
  settings_errors+=("$1")
}

is_positive_int() {
  [[ $1 =~ ^[1-9][0-9]{0,6}$ ]]
}

# Every setting checked before any work, all problems reported at once.
check_settings() {
  family=${FAMILY:-falcon}
  dtype=${DTYPE:-bfloat16}
  quantization=${QUANTIZATION:-none}
  tp=${TP:-1}
  max_batch_size=${MAX_BATCH_SIZE:-32}
  max_input_len=${MAX_INPUT_LEN:-1024}
  max_output_len=${MAX_OUTPUT_LEN:-1024}
  chunked_context=${CHUNKED_CONTEXT:-false}
  awq_block_size=${AWQ_BLOCK_SIZE:-128}
  case "${family}" in falcon | llama) ;; *) setting_error "FAMILY='${family}' is not supported: use falcon or llama" ;; esac
  case "${dtype}" in float16 | bfloat16) ;; *) setting_error "DTYPE='${dtype}' is not supported: use float16 or bfloat16" ;; esac
  case "${quantization}" in
    none | fp8 | int8_sq | int4_awq | int8_weight_only | int4_weight_only) ;;
    *) setting_error "QUANTIZATION='${quantization}' is not supported: use none, fp8, int8_sq, int4_awq, int8_weight_only or int4_weight_only" ;;
  esac
  case "${tp}" in 1 | 2 | 4 | 8) ;; *) setting_error "TP='${tp}' is not a tensor-parallel size: use 1, 2, 4 or 8 (it must divide the model's attention heads)" ;; esac
  case "${chunked_context}" in true | false) ;; *) setting_error "CHUNKED_CONTEXT='${chunked_context}' is not true or false" ;; esac
  # TensorRT-LLM's AWQ kernels take blocks of 64 or 128 (NVIDIA/TensorRT-LLM issue #988).
  case "${awq_block_size}" in 64 | 128) ;; *) setting_error "AWQ_BLOCK_SIZE='${awq_block_size}' is not a block size TensorRT-LLM's AWQ kernels take: use 64 or 128" ;; esac
  local name value
  for name in MAX_BATCH_SIZE MAX_INPUT_LEN MAX_OUTPUT_LEN; do
    case "${name}" in
      MAX_BATCH_SIZE) value=${max_batch_size} ;;
      MAX_INPUT_LEN) value=${max_input_len} ;;
      MAX_OUTPUT_LEN) value=${max_output_len} ;;
    esac
    is_positive_int "${value}" || setting_error "${name}='${value}' is not a positive whole number: set it like ${name}=1024"
  done
  if [ "${#settings_errors[@]}" -gt 0 ]; then
    printf 'build-engine.sh: %s\n' "${settings_errors[@]}" >&2
    exit 2
  fi
}

# The trtllm-build arguments that shape the engine (the manifest records exactly these). Names as
# in TensorRT-LLM's tensorrt_llm/commands/build.py parse_arguments (plugins: add_plugin_argument):
# --kv_cache_type paged (--paged_kv_cache is its deprecated spelling there), and the paged context
# FMHA that chunked context needs (tensorrtllm_backend v0.18.2 model_instance_state.cc:455, "requires
# building the model with use_paged_context_fmha"; NVIDIA's own engines for it:
# ci/L0_backend_trtllm/generate_engines.sh:54-60).
build_flags() {
  printf '%s\n' --gemm_plugin auto --gpt_attention_plugin auto \
    --remove_input_padding enable --kv_cache_type paged \
    --max_batch_size "${max_batch_size}" --max_input_len "${max_input_len}" \
    --max_seq_len "$((max_input_len + max_output_len))" --workers "${tp}"
  if [ "${chunked_context}" = true ]; then
    printf '%s\n' --use_paged_context_fmha enable
  fi
}

trtllm_version() {
  python3 -c 'import tensorrt_llm; print(tensorrt_llm.__version__)' 2>/dev/null | tail -n 1
}

examples_dir() {
  echo "${TRTLLM_EXAMPLES:-${DEFAULT_EXAMPLES}}"
}

# Falcon moved under the contrib examples in newer releases, Llama under core.
find_converter() {
  local examples candidate
  examples=$(examples_dir)
  for candidate in "${examples}/${family}/convert_checkpoint.py" \
    "${examples}/models/core/${family}/convert_checkpoint.py" \
    "${examples}/models/contrib/${family}/convert_checkpoint.py"; do
    if [ -f "${candidate}" ]; then
      echo "${candidate}"
      return 0
    fi
  done
  return 1
}

require_image() {
  command -v python3 >/dev/null 2>&1 ||
    fail "python3 is not on PATH: run this inside the Triton TensorRT-LLM image (docs/engine-by-hand.md step 2)"
  version=$(trtllm_version || true)
  [ -n "${version}" ] ||
    fail "python3 cannot import tensorrt_llm: run this inside the Triton TensorRT-LLM image (nvcr.io/nvidia/tritonserver:<yy.mm>-trtllm-python-py3), not on the host"
}

require_model_dir() {
  local dir=$1
  [ -d "${dir}" ] || fail "model folder ${dir} does not exist: download the snapshot first (build-engine.sh download ...)"
  [ -f "${dir}/config.json" ] || fail "${dir} has no config.json: it is not a Hugging Face model snapshot"
  compgen -G "${dir}/*.safetensors" >/dev/null || compgen -G "${dir}/*.bin" >/dev/null ||
    fail "${dir} has no *.safetensors or *.bin weights: the download is incomplete; run the download again (it resumes)"
}

# The AWQ blocks run along each GPU's share of the hidden size: a block size that does not divide it
# fails only after the ~20 minutes of calibration.
require_awq_block_fits() {
  local model_dir=$1 hidden
  hidden=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["hidden_size"])' "${model_dir}/config.json") ||
    fail "${model_dir}/config.json has no hidden_size: cannot check AWQ_BLOCK_SIZE against it"
  if ((hidden % tp != 0 || (hidden / tp) % awq_block_size != 0)); then
    local fix="use int4_weight_only instead of int4_awq"
    ((hidden % tp == 0 && (hidden / tp) % 64 == 0)) && fix="set AWQ_BLOCK_SIZE=64"
    fail "AWQ_BLOCK_SIZE=${awq_block_size} does not divide the hidden size ${hidden} per GPU (TP=${tp}): ${fix}"
  fi
}

require_writable_parent() {
  local dir=$1 parent
  parent=$(dirname "${dir}")
  mkdir -p "${parent}" 2>/dev/null || fail "cannot create ${parent}: choose an output folder on a writable mount"
  [ -w "${parent}" ] || fail "${parent} is not writable: choose an output folder on a writable mount"
}

convert() {
  local model_dir=$1 checkpoint_dir=$2 converter script
  require_image
  require_model_dir "${model_dir}"
  require_writable_parent "${checkpoint_dir}"
  case "${quantization}" in
    fp8 | int4_awq | int8_sq)
      script="$(examples_dir)/quantization/quantize.py"
      [ -f "${script}" ] || fail "no ${script}: set TRTLLM_EXAMPLES to TensorRT-LLM's examples/ at version ${version}"
      ;;
    *)
      converter=$(find_converter) ||
        fail "no convert_checkpoint.py for FAMILY=${family} under $(examples_dir): set TRTLLM_EXAMPLES to TensorRT-LLM's examples/ at version ${version}"
      ;;
  esac
  # A half-written checkpoint from an interrupted run must not be mistaken for a finished one.
  rm -rf "${checkpoint_dir}"
  echo "TensorRT-LLM ${version}; examples from $(examples_dir)"
  # Arguments as parsed by examples/models/contrib/falcon/convert_checkpoint.py (the Llama one takes
  # the same) and examples/quantization/quantize.py (--qformat, --kv_cache_dtype, --awq_block_size).
  local args
  case "${quantization}" in
    none)
      args=("${converter}" --model_dir "${model_dir}" --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}")
      ;;
    int8_weight_only | int4_weight_only)
      args=("${converter}" --model_dir "${model_dir}" --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}"
        --use_weight_only --weight_only_precision "${quantization%_weight_only}")
      ;;
    fp8)
      args=("${script}" --model_dir "${model_dir}" --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}"
        --qformat fp8 --kv_cache_dtype fp8)
      ;;
    int4_awq)
      require_awq_block_fits "${model_dir}"
      args=("${script}" --model_dir "${model_dir}" --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}"
        --qformat int4_awq --awq_block_size "${awq_block_size}")
      ;;
    int8_sq)
      args=("${script}" --model_dir "${model_dir}" --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}"
        --qformat int8_sq)
      ;;
  esac
  echo "+ python3 ${args[*]}"
  python3 "${args[@]}"
  [ -f "${checkpoint_dir}/config.json" ] || fail "the converter wrote no ${checkpoint_dir}/config.json: see its output above"
}

build() {
  local checkpoint_dir=$1 engine_dir=$2 flags rank
  command -v trtllm-build >/dev/null 2>&1 ||
    fail "trtllm-build is not on PATH: run this inside the Triton TensorRT-LLM image"
  [ -f "${checkpoint_dir}/config.json" ] ||
    fail "${checkpoint_dir} has no config.json: convert first (build-engine.sh convert ...)"
  require_writable_parent "${engine_dir}"
  mapfile -t flags < <(build_flags)
  echo "+ trtllm-build --checkpoint_dir ${checkpoint_dir} --output_dir ${engine_dir} ${flags[*]}"
  trtllm-build --checkpoint_dir "${checkpoint_dir}" --output_dir "${engine_dir}" "${flags[@]}"
  for ((rank = 0; rank < tp; rank++)); do
    [ -s "${engine_dir}/rank${rank}.engine" ] ||
      fail "trtllm-build wrote no ${engine_dir}/rank${rank}.engine (TP=${tp} needs one engine per rank): see its output above"
  done
  [ -f "${engine_dir}/config.json" ] || fail "trtllm-build wrote no ${engine_dir}/config.json: see its output above"
  ls -l "${engine_dir}"
}

# The weight files of a snapshot: one format only. Most repositories carry safetensors, many (like
# tiiuae/falcon-7b-instruct) both formats, some only PyTorch *.bin; the converters read either, so
# fetching both doubles the download (~14 GB more for Falcon-7B). Each format's index goes with it:
# transformers prefers safetensors when their index is present.
weights_to_skip() {
  local files=$1
  if grep -q '\.safetensors$' <<<"${files}"; then
    printf '%s\n' '*.bin' '*.bin.index.json' '*.pt' '*.pth'
  elif grep -q '\.bin$' <<<"${files}"; then
    printf '%s\n' '*.safetensors' '*.safetensors.index.json'
  else
    return 1
  fi
}

# The interpreter of a pip-installed CLI: its shebang, when that names a Python; python3 otherwise.
hub_python() {
  local shebang
  shebang=$(head -n 1 "$(command -v "$1")")
  if [[ ${shebang} =~ ^#!(/[^[:space:]]*python[0-9.]*)$ ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    echo python3
  fi
}

download() {
  local model_id=$1 revision=$2 dir=$3 cli files skipped
  [[ ${model_id} =~ ^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$ ]] ||
    { echo "build-engine.sh: '${model_id}' is not a Hugging Face model id: use <owner>/<name>" >&2 && exit 2; }
  [ -n "${revision}" ] || { echo "build-engine.sh: the revision is empty: pin a commit sha or tag" >&2 && exit 2; }
  if command -v hf >/dev/null 2>&1; then
    cli=hf
  elif command -v huggingface-cli >/dev/null 2>&1; then
    cli=huggingface-cli
  else
    fail "neither hf nor huggingface-cli is on PATH: run this inside the Triton TensorRT-LLM image (it ships huggingface_hub)"
  fi
  require_writable_parent "${dir}"
  [ -n "${HF_TOKEN:-}" ] || echo "HF_TOKEN is not set: gated models (Llama) will answer 401; public ones download anyway"
  # huggingface_hub's list_repo_files lists a revision's files and reads HF_TOKEN itself; it runs on
  # the Python the CLI runs on (the build host installs huggingface_hub for python3.11 only).
  files=$("$(hub_python "${cli}")" -c 'import sys; from huggingface_hub import list_repo_files; print("\n".join(list_repo_files(sys.argv[1], revision=sys.argv[2])))' \
    "${model_id}" "${revision}") ||
    fail "cannot list the files of ${model_id} at ${revision}: check the id, the revision and, for a gated model, HF_TOKEN"
  mapfile -t skipped < <(weights_to_skip "${files}")
  [ "${#skipped[@]}" -gt 0 ] ||
    fail "${model_id} at ${revision} has neither *.safetensors nor *.bin weights: pick a revision that has them"
  echo "one weight format: skipping ${skipped[*]}"
  # Formats the converters never read; downloading them only costs disk and minutes.
  local args=(download "${model_id}" --revision "${revision}" --local-dir "${dir}" --exclude '*.h5' '*.msgpack' '*.onnx' "${skipped[@]}")
  echo "+ ${cli} ${args[*]}"
  "${cli}" "${args[@]}"
  require_model_dir "${dir}"
}

main() {
  case "${1:-}" in
    -h | --help)
      usage
      exit 0
      ;;
    convert | build)
      [ "$#" -eq 3 ] || { usage >&2 && exit 2; }
      check_settings
      "$1" "$2" "$3"
      ;;
    download)
      [ "$#" -eq 4 ] || { usage >&2 && exit 2; }
      download "$2" "$3" "$4"
      ;;
    inspect)
      [ "$#" -eq 1 ] || { usage >&2 && exit 2; }
      check_settings
      require_image
      echo "trtllm_version=${version}"
      if find_converter >/dev/null && [ -f "$(examples_dir)/quantization/quantize.py" ]; then
        echo "examples=$(examples_dir)"
      else
        echo "examples="
      fi
      ;;
    flags)
      [ "$#" -eq 1 ] || { usage >&2 && exit 2; }
      check_settings
      build_flags
      ;;
    *)
      [ "$#" -eq 2 ] || { usage >&2 && exit 2; }
      [[ $1 != -* ]] || { usage >&2 && exit 2; }
      check_settings
      scratch_dir=$(mktemp -d)
      trap 'rm -rf "${scratch_dir}"' EXIT
      convert "$1" "${scratch_dir}/checkpoint"
      build "${scratch_dir}/checkpoint" "$2"
      echo "engine ready: set engine.prebuiltDir to $2"
      ;;
  esac
}

main "$@"

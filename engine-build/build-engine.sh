#!/usr/bin/env bash
# Builds a TensorRT-LLM engine for engine.prebuiltDir, by hand, on a GPU host of the same GPU model
# as deployment.shape, inside the same Triton TensorRT-LLM image the deployment runs (engines only
# load under the TensorRT-LLM version and GPU architecture that built them).
#
# usage: build-engine.sh <hf-snapshot-dir> <engine-out-dir>
# settings (environment, defaults match Pulumi.dev.yaml):
#   FAMILY=falcon            TensorRT-LLM example family (falcon | llama)
#   DTYPE=bfloat16           float16 | bfloat16
#   QUANTIZATION=none        none | fp8 | int8_sq | int4_awq | int8_weight_only | int4_weight_only
#   TP=1                     tensor parallelism (Falcon-7B: 1 only, 71 heads)
#   MAX_BATCH_SIZE=32  MAX_INPUT_LEN=1024  MAX_OUTPUT_LEN=1024
#   TRTLLM_EXAMPLES=         a TensorRT-LLM checkout's examples/ at the tag of the image's version
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <hf-snapshot-dir> <engine-out-dir>" >&2
  exit 2
fi
model_dir=$1
engine_dir=$2
family=${FAMILY:-falcon}
dtype=${DTYPE:-bfloat16}
quantization=${QUANTIZATION:-none}
tp=${TP:-1}
max_batch_size=${MAX_BATCH_SIZE:-32}
max_input_len=${MAX_INPUT_LEN:-1024}
max_output_len=${MAX_OUTPUT_LEN:-1024}
examples=${TRTLLM_EXAMPLES:?set TRTLLM_EXAMPLES to the examples/ folder of TensorRT-LLM at the image version}

version=$(python3 -c 'import tensorrt_llm; print(tensorrt_llm.__version__)' 2>/dev/null | tail -n 1)
echo "TensorRT-LLM ${version} in this image; examples from ${examples}"

# Falcon moved under the contrib examples in newer releases.
converter=""
for candidate in "${examples}/${family}/convert_checkpoint.py" \
  "${examples}/models/contrib/${family}/convert_checkpoint.py" \
  "${examples}/models/core/${family}/convert_checkpoint.py"; do
  if [ -f "${candidate}" ]; then
    converter=${candidate}
    break
  fi
done

checkpoint_dir=$(mktemp -d)
trap 'rm -rf "${checkpoint_dir}"' EXIT

case "${quantization}" in
  none)
    python3 "${converter:?no convert_checkpoint.py for ${family}}" --model_dir "${model_dir}" \
      --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}"
    ;;
  int8_weight_only | int4_weight_only)
    python3 "${converter:?no convert_checkpoint.py for ${family}}" --model_dir "${model_dir}" \
      --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}" \
      --use_weight_only --weight_only_precision "${quantization%_weight_only}"
    ;;
  fp8 | int4_awq | int8_sq)
    kv_args=()
    [ "${quantization}" = "fp8" ] && kv_args=(--kv_cache_dtype fp8)
    python3 "${examples}/quantization/quantize.py" --model_dir "${model_dir}" \
      --output_dir "${checkpoint_dir}" --dtype "${dtype}" --tp_size "${tp}" \
      --qformat "${quantization}" "${kv_args[@]}"
    ;;
  *)
    echo "unknown QUANTIZATION ${quantization}" >&2
    exit 2
    ;;
esac

trtllm-build --checkpoint_dir "${checkpoint_dir}" --output_dir "${engine_dir}" \
  --gemm_plugin auto --gpt_attention_plugin auto \
  --remove_input_padding enable --paged_kv_cache enable \
  --max_batch_size "${max_batch_size}" --max_input_len "${max_input_len}" \
  --max_seq_len "$((max_input_len + max_output_len))" --workers "${tp}"

ls -l "${engine_dir}"
echo "engine ready: set engine.prebuiltDir to ${engine_dir}"

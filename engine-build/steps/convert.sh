# shellcheck shell=bash
# Step convert: the snapshot to a TensorRT-LLM checkpoint (converted or quantized), on the GPUs.

step_convert() {
  # quantize.py downloads its calibration set (cnn_dailymail) through the Hugging Face cache: keep
  # that cache in WORK_DIR so a resumed run does not fetch it again.
  in_image convert gpus -e "HF_HOME=${work_dir}/hf-home" -- bash "${script_dir}/build-engine.sh" convert "${work_dir}/model" "${work_dir}/checkpoint"
}

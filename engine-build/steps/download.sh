# shellcheck shell=bash
# Step download: the Hugging Face snapshot of HF_MODEL_ID at HF_REVISION. It runs on the host with
# the Hugging Face CLI that cloud-init.yaml installs, not in the image, so that it runs while the
# image is still being pulled (build-host.sh runs pull-image+download together).

step_download() {
  # The token reaches the CLI through its environment only (huggingface_hub reads HF_TOKEN), never a
  # command line; this step runs in its own subshell, so it goes no further.
  if [ -n "${hf_token}" ]; then export HF_TOKEN=${hf_token}; else unset HF_TOKEN; fi
  HF_HOME=${work_dir}/hf-home bash "${script_dir}/build-engine.sh" download "${HF_MODEL_ID}" "${HF_REVISION}" \
    "${work_dir}/model"
}

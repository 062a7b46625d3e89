# shellcheck shell=bash
# Step download: the Hugging Face snapshot of HF_MODEL_ID at HF_REVISION, in the image.

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

# shellcheck shell=bash
# Step build-engine: trtllm-build on the checkpoint (build-engine.sh build, in the image), on the GPUs.

step_build_engine() {
  rm -rf "${work_dir}/engine"
  in_image build gpus -- bash "${script_dir}/build-engine.sh" build "${work_dir}/checkpoint" "${work_dir}/engine"
}

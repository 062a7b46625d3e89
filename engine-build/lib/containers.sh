# shellcheck shell=bash
# Sourced by build-host.sh: the build's containers, all of the image the deployment serves.

# Options every container of the build shares: WORK_DIR and the scripts at the same paths inside
# as outside, so a path means the same thing on both sides of `docker run`.
container_mounts() {
  printf '%s\n' -v "${work_dir}:${work_dir}" -v "${script_dir}:${script_dir}:ro" -w "${work_dir}"
}

engine_settings() {
  printf '%s\n' -e "FAMILY=${MODEL_FAMILY}" -e "DTYPE=${DTYPE}" -e "QUANTIZATION=${QUANTIZATION}" -e "TP=${TP}" \
    -e "MAX_BATCH_SIZE=${MAX_BATCH_SIZE}" -e "MAX_INPUT_LEN=${MAX_INPUT_LEN}" -e "MAX_OUTPUT_LEN=${MAX_OUTPUT_LEN}" \
    -e "CHUNKED_CONTEXT=${CHUNKED_CONTEXT}"
  if [ -n "${AWQ_BLOCK_SIZE:-}" ]; then
    printf '%s\n' -e "AWQ_BLOCK_SIZE=${AWQ_BLOCK_SIZE}"
  fi
  if [ -s "${work_dir}/examples-dir" ]; then
    printf '%s\n' -e "TRTLLM_EXAMPLES=$(cat "${work_dir}/examples-dir")"
  fi
}

# The image the build runs: IMAGE_REF, the copy in OCIR the deployment pulls; while that copy is
# being made on this host (MIRROR_SOURCE set), the source by the same digest, which has the same bytes.
build_image() {
  echo "${MIRROR_SOURCE:-${IMAGE_REF}}"
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
  x docker run --rm --name "${name}" "${gpu_args[@]}" "${mounts[@]}" "${settings[@]}" "${options[@]}" "$(build_image)" "$@"
}

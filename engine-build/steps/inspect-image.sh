# shellcheck shell=bash
# Step inspect-image: the image's TensorRT-LLM version and where its examples (the converters) are.

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

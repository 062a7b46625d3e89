# shellcheck shell=bash
# Step stage: the rendered model repository with the engine and the tokenizer files in it.

# Top-level snapshot files the pre/postprocessing models read; the same list as isTokenizerFile in
# components/artifact/packer.ts (weights never qualify).
readonly tokenizer_files=(tokenizer.json tokenizer_config.json special_tokens_map.json tokenizer.model
  vocab.json merges.txt vocab.txt added_tokens.json generation_config.json config.json)

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

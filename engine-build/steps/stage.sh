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

# usage: models_folder <artifact folder>: where its Triton models are. An OpenAI stack's are under
# models/, which the frontend loads whole, with the tokenizer, the launcher and the chat template
# beside it (components/deployment/openai-frontend.ts).
models_folder() {
  if [ "${API}" = openai ]; then echo "$1/models"; else echo "$1"; fi
}

# usage: stage_chat_template <artifact folder>: an OpenAI stack's tokenizer_config.json must hold a
# chat template, which the frontend renders every chat prompt with (server v2.57.0
# python/openai/openai_frontend/engine/triton_engine.py:125-129). The model's own stays; where it has
# none, the one the stack wrote for it (chat_template.jinja, from components/config/chat-templates.ts)
# goes in. The staged file is a link to the snapshot's: it is replaced, never edited, so the snapshot
# and the engine cache keep the model's own file.
stage_chat_template() {
  local folder=$1 config=$1/tokenizer/tokenizer_config.json template=$1/chat_template.jinja
  [ -f "${config}" ] ||
    die "${HF_MODEL_ID} has no tokenizer_config.json: deployment.api openai renders chat prompts with the chat template it holds"
  if jq -e '.chat_template != null' "${config}" >/dev/null; then
    log "chat template: the model's own, in tokenizer_config.json"
  elif [ -f "${template}" ]; then
    jq --rawfile template "${template}" '. + {chat_template: $template}' "${config}" >"${work_dir}/tokenizer_config.json" ||
      die "tokenizer_config.json of ${HF_MODEL_ID} is not JSON: the model snapshot is damaged"
    mv -f "${work_dir}/tokenizer_config.json" "${config}"
    log "chat template: ${REPOSITORY_FOLDER}/chat_template.jinja written into tokenizer_config.json"
  else
    die "tokenizer_config.json of ${HF_MODEL_ID} has no chat_template and this stack has none to write for it (components/config/chat-templates.ts): deployment.api openai renders chat prompts with it. Fix: serve a model that has one, or set deployment.api triton"
  fi
}

step_stage() {
  local stage=${work_dir}/stage folder models file source config found=0
  folder=${stage}/${REPOSITORY_FOLDER}
  models=$(models_folder "${folder}")
  rm -rf "${stage}"
  mkdir -p "${stage}"
  x cp -R "${script_dir}/repository/${REPOSITORY_FOLDER}" "${folder}"
  # Version folders may arrive without their empty ones (the copy to the host carries files only),
  # and Triton needs one per model of the rendered repository, the ensemble's empty.
  for config in "${models}"/*/config.pbtxt; do
    mkdir -p "$(dirname "${config}")/1"
  done
  mkdir -p "${folder}/tokenizer"
  for file in "${work_dir}/engine"/*; do
    [ -f "${file}" ] && link_or_copy "${file}" "${models}/tensorrt_llm/1/"
  done
  source=$(tokenizer_source)
  for file in "${tokenizer_files[@]}"; do
    if [ -f "${source}/${file}" ]; then
      link_or_copy "${source}/${file}" "${folder}/tokenizer/${file}"
      found=$((found + 1))
    fi
  done
  [ "${found}" -gt 0 ] || die "no tokenizer files in ${source}: the model snapshot is incomplete"
  [ "${API}" != openai ] || stage_chat_template "${folder}"
  find "${models}/tensorrt_llm/1" "${folder}/tokenizer" -type f -printf '%s %p\n'
}

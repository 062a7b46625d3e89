# shellcheck shell=bash
# Sourced by build-host.sh: the manifests written beside the engine tar and the artifact zip
# (read back by components/artifact/engine-cache.ts). Timings are the seconds each step's
# marker holds, one key per finished step.

timings_json() {
  local marker
  for marker in "${steps_dir}"/*.done; do
    [ -f "${marker}" ] && printf '%s %s\n' "$(basename "${marker}" .done)" "$(cat "${marker}")"
  done | jq -R -s 'split("\n") | map(select(length > 0) | split(" ") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

engine_flags_json() {
  if [ "${BUILD_MODE}" = assemble ]; then
    jq -c '.engine.flags' "${work_dir}/engine-manifest.json"
  else
    FAMILY=${MODEL_FAMILY} bash "${script_dir}/build-engine.sh" flags | jq -R -s -c 'split("\n") | map(select(length > 0))'
  fi
}

engine_json() {
  jq -n -c --arg dtype "${DTYPE}" --arg quantization "${QUANTIZATION}" --argjson tp "${TP}" \
    --argjson maxBatchSize "${MAX_BATCH_SIZE}" --argjson maxInputLen "${MAX_INPUT_LEN}" \
    --argjson maxOutputLen "${MAX_OUTPUT_LEN}" --argjson flags "$(engine_flags_json)" \
    '{dtype: $dtype, quantization: $quantization, tp: $tp, maxBatchSize: $maxBatchSize,
      maxInputLen: $maxInputLen, maxOutputLen: $maxOutputLen, flags: $flags}'
}

bytes_of() {
  find "$@" -type f -printf '%s\n' | awk '{sum += $1} END {print sum + 0}'
}

engine_manifest() {
  jq -n -c --arg engineKey "${ENGINE_KEY}" --arg imageRef "${IMAGE_REF}" \
    --arg trtllmVersion "$(cat "${work_dir}/trtllm-version")" --arg gpu "$(cat "${work_dir}/gpu-name")" \
    --arg driver "$(cat "${work_dir}/gpu-driver")" --argjson engine "$(engine_json)" \
    --arg sha256 "$(sha256sum "${work_dir}/engine.tar" | cut -d' ' -f1)" \
    --argjson bytes "$(stat -c %s "${work_dir}/engine.tar")" --argjson timings "$(timings_json)" \
    --arg scriptVersion "${SCRIPT_VERSION}" --arg finishedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{schema: 1, engineKey: $engineKey, object: "engine.tar", sha256: $sha256, bytes: $bytes,
      imageRef: $imageRef, trtllmVersion: $trtllmVersion, gpu: $gpu, driver: $driver, engine: $engine,
      timings: $timings, scriptVersion: $scriptVersion, finishedAt: $finishedAt}'
}

# What the served model answered the known-answer request (build mode; assemble does not serve).
validation_json() {
  if [ -f "${work_dir}/validation.json" ]; then cat "${work_dir}/validation.json"; else echo null; fi
}

build_manifest() {
  local folder=${work_dir}/stage/${REPOSITORY_FOLDER}
  jq -n -c --arg mode "${BUILD_MODE}" --arg engineKey "${ENGINE_KEY}" --arg artifactKey "${ARTIFACT_KEY}" \
    --arg object "${ARTIFACT_PREFIX}model.zip" --slurpfile pack "${work_dir}/pack.json" \
    --arg imageRef "${IMAGE_REF}" --arg trtllmVersion "$(cat "${work_dir}/trtllm-version")" \
    --arg gpu "$(cat "${work_dir}/gpu-name")" --arg driver "$(cat "${work_dir}/gpu-driver")" \
    --argjson engine "$(engine_json)" --argjson timings "$(timings_json)" \
    --argjson engineBytes "$(bytes_of "${folder}/tensorrt_llm/1")" \
    --argjson tokenizerBytes "$(bytes_of "${folder}/tokenizer")" \
    --argjson validation "$(validation_json)" \
    --arg scriptVersion "${SCRIPT_VERSION}" --arg finishedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{schema: 1, mode: $mode, engineKey: $engineKey, artifactKey: $artifactKey, object: $object,
      sha256: $pack[0].sha256, bytes: $pack[0].bytes, entries: $pack[0].entries, imageRef: $imageRef,
      trtllmVersion: $trtllmVersion, gpu: $gpu, driver: $driver, engine: $engine, timings: $timings,
      sizes: {engineBytes: $engineBytes, tokenizerBytes: $tokenizerBytes, zipBytes: $pack[0].bytes},
      scriptVersion: $scriptVersion, finishedAt: $finishedAt}
      + (if $validation == null then {} else {validation: $validation} end)'
}

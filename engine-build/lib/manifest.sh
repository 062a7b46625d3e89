# shellcheck shell=bash
# Sourced by build-host.sh: the manifests written beside the engine tar and the artifact zip
# (read back by components/artifact/engine-cache.ts). Timings are the seconds each step's
# marker holds, one key per finished step; phases group them as the time to an endpoint is told.

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

# What the served model answered the known-answer request: build and assemble both validate before
# they upload (steps/validate.sh), so an artifact's manifest always carries it.
validation_json() {
  if [ -f "${work_dir}/validation.json" ]; then cat "${work_dir}/validation.json"; else echo null; fi
}

build_manifest() {
  local folder=${work_dir}/stage/${REPOSITORY_FOLDER}
  jq -n -c --arg mode "${BUILD_MODE}" --arg engineKey "${ENGINE_KEY}" --arg artifactKey "${ARTIFACT_KEY}" \
    --arg object "${ARTIFACT_PREFIX}model.zip" --slurpfile pack "${work_dir}/pack.json" \
    --arg imageRef "${IMAGE_REF}" --arg trtllmVersion "$(cat "${work_dir}/trtllm-version")" \
    --arg gpu "$(cat "${work_dir}/gpu-name")" --arg driver "$(cat "${work_dir}/gpu-driver")" \
    --argjson engine "$(engine_json)" --argjson timings "$(timings_json)" --argjson phases "$(phases_json)" \
    --argjson engineBytes "$(bytes_of "${folder}/tensorrt_llm/1")" \
    --argjson tokenizerBytes "$(bytes_of "${folder}/tokenizer")" \
    --argjson validation "$(validation_json)" \
    --arg scriptVersion "${SCRIPT_VERSION}" --arg finishedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{schema: 1, mode: $mode, engineKey: $engineKey, artifactKey: $artifactKey, object: $object,
      sha256: $pack[0].sha256, bytes: $pack[0].bytes, entries: $pack[0].entries, imageRef: $imageRef,
      trtllmVersion: $trtllmVersion, gpu: $gpu, driver: $driver, engine: $engine, timings: $timings,
      phases: $phases, sizes: {engineBytes: $engineBytes, tokenizerBytes: $tokenizerBytes, zipBytes: $pack[0].bytes},
      scriptVersion: $scriptVersion, finishedAt: $finishedAt}
      + (if $validation == null then {} else {validation: $validation} end)'
}

# The two phases before the pipeline, read once from what the host knows: the instance's creation
# time (instance metadata, `timeCreated` in epoch milliseconds), its boot time (now minus
# /proc/uptime) and the uptime cloud-init.yaml wrote when the host was ready. Without the metadata
# (a host outside OCI) they are left out and the log says so.
record_host_phases() {
  local file=${work_dir}/host-phases.json created_ms uptime boot ready
  [ -f "${file}" ] && return 0
  uptime=$(cut -d' ' -f1 "${PROC_UPTIME:-/proc/uptime}")
  boot=$(($(now) - ${uptime%.*}))
  if ! created_ms=$(curl -sf --max-time 5 -H "Authorization: Bearer Oracle" \
    "${ENGINE_BUILD_IMDS_URL:-http://169.254.169.254/opc/v2/instance/}" | jq -er '.timeCreated'); then
    log "no instance metadata: the provision and cloud-init phases are not recorded"
    return 0
  fi
  ready=$(cat "${work_dir}/host-ready-uptime" 2>/dev/null || echo "${uptime%.*}")
  jq -n -c --argjson provision "$((boot - created_ms / 1000))" --argjson cloudInit "${ready}" \
    '{provision: $provision, cloudInit: $cloudInit}' >"${file}"
}

# Seconds of a finished step, 0 when it did not run in this mode.
step_seconds() {
  cat "${steps_dir}/$1.done" 2>/dev/null || echo 0
}

# Wall seconds per phase of the time to an endpoint (docs/cost.md lists them beside the estimate).
# Overlapping phases (imagePull with weightDownload or engineDownload) each keep their own seconds;
# wallSeconds is the pipeline's from its first start to this manifest.
phases_json() {
  local host='{}' upload_zip
  [ -f "${work_dir}/host-phases.json" ] && host=$(cat "${work_dir}/host-phases.json")
  upload_zip=$(cat "${work_dir}/upload-zip-seconds" 2>/dev/null || echo 0)
  if [ "${BUILD_MODE}" = build ]; then
    jq -n -c --argjson host "${host}" \
      --argjson imagePull "$(($(step_seconds pull-image) + $(step_seconds inspect-image)))" \
      --argjson weightDownload "$(step_seconds download)" --argjson convert "$(step_seconds convert)" \
      --argjson build "$(step_seconds build-engine)" --argjson validate "$(step_seconds validate)" \
      --argjson pack "$(($(step_seconds stage) + $(step_seconds pack)))" \
      --argjson upload "$(($(step_seconds upload-engine) + upload_zip))" \
      --argjson wallSeconds "$(($(now) - $(cat "${steps_dir}/began")))" \
      '$host + {imagePull: $imagePull, weightDownload: $weightDownload, convert: $convert, build: $build,
        validate: $validate, pack: $pack, upload: $upload, wallSeconds: $wallSeconds}'
  else
    # assemble: the image pull and the engine download overlap.
    jq -n -c --argjson host "${host}" --argjson imagePull "$(step_seconds pull-image)" \
      --argjson engineDownload "$(step_seconds fetch-engine)" \
      --argjson pack "$(($(step_seconds stage) + $(step_seconds pack)))" --argjson validate "$(step_seconds validate)" \
      --argjson upload "${upload_zip}" --argjson wallSeconds "$(($(now) - $(cat "${steps_dir}/began")))" \
      '$host + {imagePull: $imagePull, engineDownload: $engineDownload, pack: $pack, validate: $validate,
        upload: $upload, wallSeconds: $wallSeconds}'
  fi
}

# shellcheck shell=bash
# Step upload-artifact: the zip, then the build log and, last, the artifact manifest.

step_upload_artifact() {
  local started
  started=$(now)
  upload "${work_dir}/model.zip" "${ARTIFACT_PREFIX}model.zip"
  # The manifest carries this upload's seconds, so it is written after it.
  echo "$(($(now) - started))" >"${work_dir}/upload-zip-seconds"
  build_manifest >"${work_dir}/manifest.json"
  cp "${log_file}" "${work_dir}/build-log-upload.log"
  upload "${work_dir}/build-log-upload.log" "${ARTIFACT_PREFIX}build.log" always
  # Last: its presence marks a complete artifact.
  upload "${work_dir}/manifest.json" "${ARTIFACT_PREFIX}manifest.json" always
}

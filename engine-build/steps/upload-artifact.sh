# shellcheck shell=bash
# Step upload-artifact: the zip, the build log and, last, the artifact manifest.

step_upload_artifact() {
  build_manifest >"${work_dir}/manifest.json"
  cp "${log_file}" "${work_dir}/build-log-upload.log"
  upload "${work_dir}/model.zip" "${ARTIFACT_PREFIX}model.zip"
  upload "${work_dir}/build-log-upload.log" "${ARTIFACT_PREFIX}build.log" always
  # Last: its presence marks a complete artifact.
  upload "${work_dir}/manifest.json" "${ARTIFACT_PREFIX}manifest.json" always
}

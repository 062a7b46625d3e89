# shellcheck shell=bash
# Step upload-engine: the engine and tokenizer as one tar in the engine cache, with its manifest.

step_upload_engine() {
  local stage=${work_dir}/engine-tar source file
  rm -rf "${stage}"
  mkdir -p "${stage}/engine" "${stage}/tokenizer"
  cp --link "${work_dir}/engine"/* "${stage}/engine/" 2>/dev/null || cp "${work_dir}/engine"/* "${stage}/engine/"
  # The snapshot's tokenizer files as they are (the artifact's may carry a chat template this stack
  # wrote, steps/stage.sh): the cached engine serves stacks of either API.
  source=$(tokenizer_source)
  for file in "${tokenizer_files[@]}"; do
    if [ -f "${source}/${file}" ]; then cp "${source}/${file}" "${stage}/tokenizer/"; fi
  done
  # Fixed order, owners and times: the same engine gives the same tar, so a re-run skips the upload.
  x tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "${work_dir}/engine.tar" -C "${stage}" engine tokenizer
  engine_manifest >"${work_dir}/engine-manifest.json"
  upload "${work_dir}/engine.tar" "${ENGINE_PREFIX}engine.tar"
  upload "${work_dir}/engine-manifest.json" "${ENGINE_PREFIX}manifest.json" always
}

# shellcheck shell=bash
# Step fetch-engine (assemble mode): the cached engine tar and its manifest from the bucket.

step_fetch_engine() {
  local cached=${work_dir}/cached
  rm -rf "${cached}" "${work_dir}/engine" "${work_dir}/engine-manifest.json"
  mkdir -p "${cached}"
  oci_cli_authorized os object get --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${ENGINE_PREFIX}manifest.json" \
    --file "${work_dir}/engine-manifest.json"
  oci_cli_authorized os object get --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${ENGINE_PREFIX}engine.tar" \
    --file "${work_dir}/engine.tar"
  x tar -xf "${work_dir}/engine.tar" -C "${cached}"
  [[ -d ${cached}/engine && -d ${cached}/tokenizer ]] ||
    die "${ENGINE_PREFIX}engine.tar has no engine/ and tokenizer/ folders: delete it from the bucket so that the next run builds again"
  mv "${cached}/engine" "${work_dir}/engine"
  jq -r '.trtllmVersion' "${work_dir}/engine-manifest.json" >"${work_dir}/trtllm-version"
  # The artifact manifest names the GPU and driver this host validates on (preflight); the engine's
  # own stay in its manifest. The engine key holds the GPU model, so both are the same model.
  log "engine built on $(jq -r '"\(.gpu), driver \(.driver)"' "${work_dir}/engine-manifest.json")"
}

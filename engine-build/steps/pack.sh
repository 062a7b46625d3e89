# shellcheck shell=bash
# Step pack: the staged repository zipped by the project's own packer.

step_pack() {
  rm -f "${work_dir}/model.zip" "${work_dir}/pack.json"
  x node "${script_dir}/package-artifact.cjs" "${work_dir}/stage/${REPOSITORY_FOLDER}" "${work_dir}/model.zip" \
    >"${work_dir}/pack.json.partial"
  jq -e '.sha256 and .bytes and .entries' "${work_dir}/pack.json.partial" >/dev/null ||
    die "package-artifact.cjs printed no {sha256, bytes, entries}: $(cat "${work_dir}/pack.json.partial")"
  mv "${work_dir}/pack.json.partial" "${work_dir}/pack.json"
  cat "${work_dir}/pack.json"
}

# shellcheck shell=bash
# Sourced by build-host.sh: the artifact bucket, through the OCI CLI as the instance principal.

oci_cli() {
  x oci --auth instance_principal --region "${REGION}" "$@"
}

# usage: upload <file> <object> [always]
# Skips the upload when the bucket already holds an object of that name and size (a resumed or
# repeated build: the zip and the engine tar are GBs). Manifests and logs say `always`: their
# content changes at the same size.
upload() {
  local file=$1 object=$2 mode=${3:-skip-same-size} size existing
  size=$(stat -c %s "${file}")
  if [ "${mode}" != always ] && existing=$(oci_cli os object head --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${object}" 2>/dev/null |
    jq -r '."content-length" // empty'); then
    if [ "${existing}" = "${size}" ]; then
      log "${object} is already in the bucket with the same size (${size} bytes): not uploaded again"
      return 0
    fi
  fi
  # 128 MiB parts, 8 in parallel: a 15 GB zip is about 120 parts (the limit is 10,000).
  oci_cli os object put --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${object}" \
    --file "${file}" --force --part-size 128 --parallel-upload-count 8
}

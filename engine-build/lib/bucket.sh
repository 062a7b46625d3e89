# shellcheck shell=bash
# Sourced by build-host.sh: the artifact bucket, through the OCI CLI as the instance principal.

oci_cli() {
  x oci --auth instance_principal --region "${REGION}" "$@"
}

# usage: oci_cli_authorized <oci arguments...>
# oci_cli for a call that must succeed once the build host's policy is in force: a new dynamic group
# and policy take minutes to take effect (IAM is written in the tenancy's home region and replicated
# to the others), and until then Object Storage answers 401 NotAuthenticated or 404
# NotAuthorizedOrNotFound. Such answers are retried for POLICY_WAIT_SECONDS (default 900), every
# POLICY_RETRY_SECONDS (20); any other failure, or one past the deadline, fails at once. Only for
# calls on objects known to exist or being written: a HEAD of a missing object also says 404.
oci_cli_authorized() {
  local wait=${POLICY_WAIT_SECONDS:-900} every=${POLICY_RETRY_SECONDS:-20} started errors rc
  started=$(now)
  errors=$(mktemp)
  while true; do
    rc=0
    oci_cli "$@" 2>"${errors}" || rc=$?
    cat "${errors}" >&2
    if [ "${rc}" -eq 0 ]; then
      rm -f "${errors}"
      return 0
    fi
    if ! grep -qE 'NotAuthorizedOrNotFound|NotAuthenticated|"status": 401' "${errors}" ||
      [ "$(($(now) - started))" -ge "${wait}" ]; then
      rm -f "${errors}"
      return "${rc}"
    fi
    log "not authorized yet: waiting for the build host's policy to take effect (up to ${wait} s)"
    sleep "${every}"
  done
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
  oci_cli_authorized os object put --namespace "${NAMESPACE}" --bucket-name "${BUCKET}" --name "${object}" \
    --file "${file}" --force --part-size 128 --parallel-upload-count 8
}

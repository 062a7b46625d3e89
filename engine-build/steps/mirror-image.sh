# shellcheck shell=bash
# Step mirror-image: copies the serving image from its source registry into the shared OCIR
# repository, registry to registry with skopeo (no Docker daemon, nothing on disk), keeping the
# source's manifest digest, then checks that OCIR serves exactly that digest.
#
# settings (build.env):
#   MIRROR_SOURCE   <registry>/<path>@sha256:<64 hex>; no tag, since skopeo refuses a reference with
#                   both (containers/image docker/docker_transport.go, newReference)
#   MIRROR_DIGEST   sha256:<64 hex>, the source's manifest digest: what the deployment pulls
#   MIRROR_TARGET   <OCIR_REGISTRY>/<namespace>/<repository>:<tag>
#   MIRROR_ATTEMPTS=3  MIRROR_RETRY_SECONDS=30   whole-copy attempts, after skopeo's own retries
# secrets: ocir_username and ocir_token from run's stdin; the token reaches skopeo on stdin only.

mirror_settings_problems() {
  local digest='sha256:[0-9a-f]{64}'
  [[ ${MIRROR_SOURCE:-} =~ ^[^@[:space:]]+@${digest}$ ]] ||
    echo "MIRROR_SOURCE='${MIRROR_SOURCE:-}' is not <image>@sha256:<64 hex> (no tag)"
  # A colon in the last path segment is a tag (one before it belongs to a registry port).
  local name=${MIRROR_SOURCE:-}
  name=${name%@*}
  [[ ${name##*/} != *:* ]] ||
    echo "MIRROR_SOURCE='${MIRROR_SOURCE:-}' has a tag and a digest: skopeo takes one of them"
  [[ ${MIRROR_DIGEST:-} =~ ^${digest}$ ]] || echo "MIRROR_DIGEST='${MIRROR_DIGEST:-}' is not sha256:<64 hex>"
  [ "${MIRROR_SOURCE##*@}" = "${MIRROR_DIGEST:-}" ] ||
    echo "MIRROR_SOURCE='${MIRROR_SOURCE:-}' is not pinned to MIRROR_DIGEST='${MIRROR_DIGEST:-}'"
  [[ ${MIRROR_TARGET:-} =~ ^${OCIR_REGISTRY:-}/[a-z0-9_-]+/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] ||
    echo "MIRROR_TARGET='${MIRROR_TARGET:-}' is not ${OCIR_REGISTRY:-<OCIR_REGISTRY>}/<namespace>/<repository>:<tag>"
}

# What to tell the operator about a failed copy, from skopeo's message.
mirror_failure_hint() {
  local errors=$1
  if grep -qiE 'unauthorized|denied|forbidden|authentication required' "${errors}"; then
    echo "OCIR refused the credentials or the push: check ocirUsername (<namespace>/<user>), ocirAuthToken, and that the user may manage repos in the compartment (docs/troubleshooting.md, a failed image copy)"
  elif grep -qiE 'quota|limit exceeded|toomanyrequests|429|no space' "${errors}"; then
    echo "a registry limit stopped the copy (OCIR storage or repository quota, or the source's rate limit): see docs/troubleshooting.md, a failed image copy"
  else
    echo "see the skopeo messages above; the source must be reachable from the build network (NAT) and OCIR through the service gateway"
  fi
}

step_mirror_image() {
  local problems
  problems=$(mirror_settings_problems)
  [ -z "${problems}" ] || die "build.env: ${problems//$'\n'/; }"
  [ -n "${ocir_token:-}" ] || die "no OCIR credentials reached the pipeline: give them on run's stdin"
  local auth_dir
  auth_dir=$(mktemp -d "${secrets_dir}/skopeo.XXXXXX")
  local auth_file=${auth_dir}/auth.json errors=${auth_dir}/copy.err
  log "+ skopeo login --authfile ${auth_file} --username <OCIR username> --password-stdin ${OCIR_REGISTRY}"
  if ! printf '%s\n' "${ocir_token}" | skopeo login --authfile "${auth_file}" --username "${ocir_username}" \
    --password-stdin "${OCIR_REGISTRY}"; then
    rm -rf "${auth_dir}"
    die "skopeo login to ${OCIR_REGISTRY} failed: check ocirUsername (<namespace>/<user>) and ocirAuthToken"
  fi
  local attempt=1 attempts=${MIRROR_ATTEMPTS:-3} rc
  while :; do
    rc=0
    # --all copies the index and every image it lists, so OCIR holds the digest the preview resolved
    # (an index digest for a multi-platform tag); --preserve-digests fails rather than rewrite it.
    x skopeo copy --all --preserve-digests --retry-times 3 --authfile "${auth_file}" \
      --digestfile "${auth_dir}/digest" "docker://${MIRROR_SOURCE}" "docker://${MIRROR_TARGET}" 2>"${errors}" || rc=$?
    cat "${errors}" >&2
    [ "${rc}" -ne 0 ] || break
    if [ "${attempt}" -ge "${attempts}" ]; then
      local hint
      hint=$(mirror_failure_hint "${errors}")
      rm -rf "${auth_dir}"
      die "skopeo copy to ${MIRROR_TARGET} failed ${attempts} times (exit ${rc}): ${hint}"
    fi
    log "copy attempt ${attempt} of ${attempts} failed (exit ${rc}); again in ${MIRROR_RETRY_SECONDS:-30} s"
    attempt=$((attempt + 1))
    sleep "${MIRROR_RETRY_SECONDS:-30}"
  done
  # The digest of the manifest OCIR now serves under that digest, recomputed from its bytes.
  local copied served
  copied=$(cat "${auth_dir}/digest")
  served=$(skopeo inspect --raw --authfile "${auth_file}" "docker://${MIRROR_TARGET%:*}@${MIRROR_DIGEST}" |
    sha256sum | cut -d' ' -f1) || served=""
  x skopeo logout --authfile "${auth_file}" "${OCIR_REGISTRY}" || true
  rm -rf "${auth_dir}"
  [ "${copied}" = "${MIRROR_DIGEST}" ] ||
    die "skopeo wrote ${copied:-no digest}, not the source's ${MIRROR_DIGEST}: the deployment would pull another manifest"
  [ "sha256:${served}" = "${MIRROR_DIGEST}" ] ||
    die "OCIR does not serve ${MIRROR_DIGEST} at ${MIRROR_TARGET%:*} after the copy (its manifest hashes to sha256:${served})"
  log "${MIRROR_TARGET} holds ${MIRROR_DIGEST}"
}

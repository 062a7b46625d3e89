# shellcheck shell=bash
# Step pull-image: logs in to OCIR with the token from run's stdin, pulls the build's image
# (build_image: IMAGE_REF, or the source by digest while mirror-image copies it), logs out.

step_pull_image() {
  local docker_config
  docker_config=$(mktemp -d "${secrets_dir}/docker.XXXXXX")
  # The token goes in on stdin; the credentials docker keeps live in a tmpfs folder removed below.
  log "+ docker --config ${docker_config} login --username <OCIR username> --password-stdin ${OCIR_REGISTRY}"
  if ! printf '%s\n' "${ocir_token}" | docker --config "${docker_config}" login --username "${ocir_username}" \
    --password-stdin "${OCIR_REGISTRY}"; then
    rm -rf "${docker_config}"
    die "docker login to ${OCIR_REGISTRY} failed: check ocirUsername (<namespace>/<user>) and ocirAuthToken"
  fi
  local rc=0 image
  image=$(build_image)
  x docker --config "${docker_config}" pull "${image}" || rc=$?
  x docker --config "${docker_config}" logout "${OCIR_REGISTRY}" || true
  rm -rf "${docker_config}"
  [ "${rc}" -eq 0 ] || die "docker pull ${image} failed: check the image digest and the registry's policies"
}

# shellcheck shell=bash
# Step preflight: the tools, the Docker daemon, the GPUs (build and assemble: both serve the artifact
# in Triton before it is uploaded) and the free disk space.

# Free GiB each mode needs at least (MIN_FREE_GB overrides). Floors that catch a boot volume that
# was never grown (OCI's default for Linux images is 46.6 GB, "Custom Boot Volume Sizes"); the volume
# itself is sized per stack by components/config/build-estimate.ts. build: the unpacked image, the
# weights, the checkpoint, the engine, the zip and the copy Triton serves. assemble: the unpacked
# image (the smallest catalogued one, 12.25 GB compressed, is about 31 GB at the 2.5 times the
# estimate plans with) and four copies of the engine (tar, extracted, zip, the copy Triton serves).
# mirror: nothing lands on disk (skopeo copies registry to registry).
min_free_gb() {
  case "${BUILD_MODE}" in
    build) echo 100 ;;
    assemble) echo 60 ;;
    *) echo 40 ;;
  esac
}

step_preflight() {
  local tool
  for tool in docker jq node unzip tar curl oci flock git; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is not installed: cloud-init.yaml installs it; see /var/log/cloud-init-output.log"
  done
  x docker info --format '{{.ServerVersion}}' || die "the Docker daemon does not answer: systemctl status docker"
  local need_gb free_kb
  need_gb=${MIN_FREE_GB:-$(min_free_gb)}
  if [ "${BUILD_MODE}" != mirror ]; then
    local gpus
    gpus=$(x nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) ||
      die "nvidia-smi failed: this instance has no working NVIDIA driver; use a GPU shape with an Oracle Linux GPU image"
    log "GPUs: ${gpus}"
    local count
    count=$(grep -c . <<<"${gpus}")
    [ "${count}" -ge "${TP}" ] || die "TP=${TP} needs ${TP} GPUs; this instance has ${count}"
    # The GPU and driver Triton validates on (and, in build mode, the engine is built on).
    head -n 1 <<<"${gpus}" | awk -F', ' '{print $1}' >"${work_dir}/gpu-name"
    head -n 1 <<<"${gpus}" | awk -F', ' '{print $2}' >"${work_dir}/gpu-driver"
  fi
  free_kb=$(df -Pk "${work_dir}" | awk 'NR == 2 {print $4}')
  log "free space in ${work_dir}: $((free_kb / 1024 / 1024)) GiB (need ${need_gb} GiB)"
  [ "${free_kb}" -ge $((need_gb * 1024 * 1024)) ] ||
    die "only $((free_kb / 1024 / 1024)) GiB free in ${work_dir}, the build needs ${need_gb} GiB: grow the boot volume (oci-growfs) or size it larger"
}

# shellcheck shell=bash
# Step preflight: the tools, the Docker daemon, the GPUs (build mode) and the free disk space.

step_preflight() {
  local tool
  for tool in docker jq node unzip tar curl oci flock git; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is not installed: cloud-init.yaml installs it; see /var/log/cloud-init-output.log"
  done
  x docker info --format '{{.ServerVersion}}' || die "the Docker daemon does not answer: systemctl status docker"
  local need_gb=${MIN_FREE_GB:-40} free_kb
  if [ "${BUILD_MODE}" = build ]; then
    need_gb=${MIN_FREE_GB:-100}
    local gpus
    gpus=$(x nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) ||
      die "nvidia-smi failed: this instance has no working NVIDIA driver; use a GPU shape with an Oracle Linux GPU image"
    log "GPUs: ${gpus}"
    local count
    count=$(grep -c . <<<"${gpus}")
    [ "${count}" -ge "${TP}" ] || die "TP=${TP} needs ${TP} GPUs; this instance has ${count}"
    head -n 1 <<<"${gpus}" | awk -F', ' '{print $1}' >"${work_dir}/gpu-name"
    head -n 1 <<<"${gpus}" | awk -F', ' '{print $2}' >"${work_dir}/gpu-driver"
  fi
  free_kb=$(df -Pk "${work_dir}" | awk 'NR == 2 {print $4}')
  log "free space in ${work_dir}: $((free_kb / 1024 / 1024)) GiB (need ${need_gb} GiB)"
  [ "${free_kb}" -ge $((need_gb * 1024 * 1024)) ] ||
    die "only $((free_kb / 1024 / 1024)) GiB free in ${work_dir}, the build needs ${need_gb} GiB: grow the boot volume (oci-growfs) or size it larger"
}

#!/usr/bin/env bash
# Runs on the engine build instance (Oracle Linux 8, prepared by cloud-init.yaml): builds the
# TensorRT-LLM engine in the image the deployment serves (or fetches the cached one), assembles the
# model artifact with the project's own packer, validates it in Triton exactly as the deployment
# runs it (asking the model the endpoint serves a known-answer question), and uploads everything to
# the artifact bucket.
#
# usage:
#   build-host.sh run [--attach-seconds N]     read 3 lines on stdin (OCIR username, OCIR auth token,
#                          Hugging Face token or an empty line), start the pipeline detached (or
#                          attach to the running one), follow it; on success print the manifest JSON
#   build-host.sh follow [--attach-seconds N]  attach to the current pipeline without starting one
#                          (a finished one prints its manifest at once)
#   build-host.sh pipeline the pipeline itself, in the foreground (what run starts detached)
#   build-host.sh --help
#   --attach-seconds N     let go after N seconds while the pipeline still runs (exit 3): an OCI
#                          Bastion session ends after 3 hours, the build does not have to
# files: build.env, package-artifact.cjs, validation-request.json and repository/<REPOSITORY_FOLDER>/
#   beside this script, and its own lib/ (shared helpers) and steps/ (one file per step) folders.
# environment (optional):
#   WORK_DIR=/var/lib/engine-build   state, downloads, the log (build.log) and step markers
#   SECRETS_DIR=/run/engine-build    root-only tmpfs folder that hands the secrets to the pipeline
#   ENGINE_BUILD_LAUNCHER=auto       auto | systemd | setsid | foreground
#   POLL_SECONDS=5  READY_TIMEOUT_SECONDS=600 (OCI's start limit)
#   MIN_FREE_GB (build 100, assemble 60, mirror 40)
#   ENGINE_BUILD_IMDS_URL=http://169.254.169.254/opc/v2/instance/  the instance metadata (its creation
#                          time, for the provision phase)   PROC_UPTIME=/proc/uptime
# exit codes: 0 built, 1 failed or invalid build.env, 2 usage, 3 still running after --attach-seconds.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly script_dir
readonly build_env=${BUILD_ENV:-${script_dir}/build.env}
readonly work_dir=${WORK_DIR:-/var/lib/engine-build}
readonly secrets_dir=${SECRETS_DIR:-/run/engine-build}
readonly secrets_file=${secrets_dir}/secrets
readonly steps_dir=${work_dir}/steps
readonly status_file=${work_dir}/status
readonly log_file=${work_dir}/build.log
readonly lock_file=${work_dir}/pipeline.lock
readonly poll_seconds=${POLL_SECONDS:-5}
readonly STILL_RUNNING_EXIT=3
# How long `run` waits for the detached pipeline to take its secrets before calling it not started.
readonly secrets_handover_seconds=60
# The steps of each mode, in order. Step <name> is steps/<name>.sh's step_<name> (dashes as
# underscores); a finished step leaves steps/<name>.done in WORK_DIR holding its seconds. Steps
# joined by `+` run at the same time: the image pull and the weight download share nothing (the
# download runs on the host, not in the image). model-config compares the model's config.json with
# the stack before either starts: a model its converter cannot build fails in seconds, not after them.
readonly build_steps=(preflight model-config pull-image+download inspect-image convert build-engine stage pack
  validate upload-engine upload-artifact)
# A cached engine with a changed model repository: the same image pull and the same validation as a
# build, so that no artifact ships that Triton has not loaded and answered from (issue 25). The pull
# and the engine download share nothing, so they run together.
readonly assemble_steps=(preflight pull-image+fetch-engine stage pack validate upload-artifact)
# No build runs and the serving image is not in OCIR yet: the host only copies it (MIRROR_SOURCE).
readonly mirror_steps=(preflight mirror-image)
# With MIRROR_SOURCE set, the serving image is not in OCIR yet: this step copies it there and joins
# the image pull's group, since nothing before the upload needs the copy (the build pulls the source
# by the same digest meanwhile, see build_image in lib/containers.sh).
readonly image_copy_steps=(mirror-image)

# shellcheck source=lib/log.sh
source "${script_dir}/lib/log.sh"
# shellcheck source=lib/build-env.sh
source "${script_dir}/lib/build-env.sh"
# shellcheck source=lib/containers.sh
source "${script_dir}/lib/containers.sh"
# shellcheck source=lib/bucket.sh
source "${script_dir}/lib/bucket.sh"
# shellcheck source=lib/manifest.sh
source "${script_dir}/lib/manifest.sh"
# shellcheck source=lib/launch.sh
source "${script_dir}/lib/launch.sh"
# shellcheck source=steps/preflight.sh
source "${script_dir}/steps/preflight.sh"
# shellcheck source=steps/mirror-image.sh
source "${script_dir}/steps/mirror-image.sh"
# shellcheck source=steps/model-config.sh
source "${script_dir}/steps/model-config.sh"
# shellcheck source=steps/pull-image.sh
source "${script_dir}/steps/pull-image.sh"
# shellcheck source=steps/inspect-image.sh
source "${script_dir}/steps/inspect-image.sh"
# shellcheck source=steps/download.sh
source "${script_dir}/steps/download.sh"
# shellcheck source=steps/convert.sh
source "${script_dir}/steps/convert.sh"
# shellcheck source=steps/build-engine.sh
source "${script_dir}/steps/build-engine.sh"
# shellcheck source=steps/fetch-engine.sh
source "${script_dir}/steps/fetch-engine.sh"
# shellcheck source=steps/stage.sh
source "${script_dir}/steps/stage.sh"
# shellcheck source=steps/pack.sh
source "${script_dir}/steps/pack.sh"
# shellcheck source=steps/validate.sh
source "${script_dir}/steps/validate.sh"
# shellcheck source=steps/upload-engine.sh
source "${script_dir}/steps/upload-engine.sh"
# shellcheck source=steps/upload-artifact.sh
source "${script_dir}/steps/upload-artifact.sh"

usage() {
  sed -n '/^# usage:/,/^# exit codes/p' "$0" | sed 's/^# \{0,1\}//'
}

# --- the pipeline (runs detached; stdout and stderr go to build.log) ------------------------------

# Runs one step unless its marker says it finished in an earlier run, and records its wall-clock
# seconds in the marker (the manifests' timings) and the status file. The step runs in a subshell
# so that `set -e` holds inside it; what it produces lives in files under WORK_DIR.
step() {
  local name=$1 started seconds rc
  if [ -f "${steps_dir}/${name}.done" ]; then
    log "=== ${name}: done in an earlier run, skipped"
    status "skip ${name}"
    return 0
  fi
  log "=== ${name}"
  status "start ${name}"
  started=$(now)
  set +e
  (
    set -e
    "step_${name//-/_}"
  )
  rc=$?
  set -e
  seconds=$(($(now) - started))
  if [ "${rc}" -ne 0 ]; then
    log "=== ${name} failed (exit ${rc}) after ${seconds} s"
    status "failed ${name} ${rc}"
    exit 1
  fi
  echo "${seconds}" >"${steps_dir}/${name}.done"
  log "=== ${name} done in ${seconds} s"
  status "done ${name} ${seconds}"
}

# usage: steps_together <a>+<b>[+...]: each step in the background, then all must have succeeded.
steps_together() {
  local name pids=() failed=0 pid
  for name in ${1//+/ }; do
    step "${name}" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do
    wait "${pid}" || failed=1
  done
  [ "${failed}" -eq 0 ] || exit 1
}

# The pipeline's state belongs to one engine and artifact key: a different build.env starts afresh
# (downloads already on disk still resume).
reset_if_keys_changed() {
  local keys="${ENGINE_KEY} ${ARTIFACT_KEY} ${BUILD_MODE}"
  if [ "$(cat "${work_dir}/keys" 2>/dev/null || true)" != "${keys}" ]; then
    rm -rf "${steps_dir}"
    echo "${keys}" >"${work_dir}/keys"
  fi
  mkdir -p "${steps_dir}"
}

read_secrets() {
  ocir_username="" ocir_token="" hf_token=""
  if [ -f "${secrets_file}" ]; then
    {
      IFS= read -r ocir_username || true
      IFS= read -r ocir_token || true
      IFS= read -r hf_token || true
    } <"${secrets_file}"
    rm -f "${secrets_file}"
  fi
}

pipeline() {
  exec 9>"${lock_file}"
  flock -w 10 9 || die "another pipeline holds ${lock_file}"
  reset_if_keys_changed
  read_secrets
  exec >>"${log_file}" 2>&1
  echo "$$" >"${work_dir}/pipeline.pid"
  status "begin $$"
  log "engine build pipeline, scripts ${SCRIPT_VERSION}, mode ${BUILD_MODE}, engine ${ENGINE_KEY}, artifact ${ARTIFACT_KEY}"
  trap 'status "failed ${current_step:-pipeline} terminated"; kill $(jobs -p) 2>/dev/null; exit 1' TERM INT
  [ -f "${steps_dir}/began" ] || now >"${steps_dir}/began"
  record_host_phases
  local steps index
  case "${BUILD_MODE}" in
    build) steps=("${build_steps[@]}") ;;
    assemble) steps=("${assemble_steps[@]}") ;;
    mirror) steps=("${mirror_steps[@]}") ;;
  esac
  if [ -n "${MIRROR_SOURCE:-}" ] && [ "${BUILD_MODE}" != mirror ]; then
    for index in "${!steps[@]}"; do
      [[ "+${steps[index]}+" != *+pull-image+* ]] || steps[index]="${image_copy_steps[0]}+${steps[index]}"
    done
  fi
  for current_step in "${steps[@]}"; do
    if [[ "+${current_step}+" =~ \+(pull-image|mirror-image)\+ ]] && [ ! -f "${steps_dir}/${BASH_REMATCH[1]}.done" ] &&
      [ -z "${ocir_token}" ]; then
      status "failed ${BASH_REMATCH[1]} no-secrets"
      die "no OCIR credentials reached the pipeline: give them on run's stdin"
    fi
    if [[ ${current_step} == *+* ]]; then
      steps_together "${current_step}"
    else
      step "${current_step}"
    fi
  done
  if [ "${BUILD_MODE}" = mirror ]; then
    # What run and follow print on success: no artifact, only the image now in OCIR.
    jq -n --arg image "${IMAGE_REF}" '{mirrored: $image}' >"${work_dir}/manifest.json"
    log "image ${IMAGE_REF} copied into OCIR"
  else
    log "artifact ${ARTIFACT_PREFIX}model.zip complete"
  fi
  status "finished"
}

main() {
  case "${1:-}" in
    -h | --help)
      usage
      exit 0
      ;;
    run | follow)
      local verb=$1
      shift
      if [ "$#" -eq 2 ] && [ "$1" = --attach-seconds ] && [[ $2 =~ ^[1-9][0-9]*$ ]]; then
        ATTACH_SECONDS=$2
      elif [ "$#" -ne 0 ]; then
        usage >&2
        exit 2
      fi
      if [ "${verb}" = run ]; then
        run
      else
        [ -f "${status_file}" ] || die "no build has started in ${work_dir}: use build-host.sh run"
        follow
      fi
      ;;
    pipeline)
      load_build_env
      mkdir -p "${work_dir}"
      pipeline
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"

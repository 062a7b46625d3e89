# shellcheck shell=bash
# Sourced by build-host.sh: the `run` and `follow` commands. `run` hands the secrets to a
# detached pipeline (systemd-run or setsid) so that it outlives the SSH session, then follows it.

pipeline_running() {
  [ -f "${lock_file}" ] && ! flock -n "${lock_file}" true
}

finished_ok() {
  local last=upload-artifact
  [ "${BUILD_MODE}" != mirror ] || last=mirror-image
  [ -f "${steps_dir}/${last}.done" ] && [ -f "${work_dir}/manifest.json" ]
}

launcher() {
  local choice=${ENGINE_BUILD_LAUNCHER:-auto}
  if [ "${choice}" = auto ]; then
    # /run/systemd/system exists only when systemd is the init (sd_booted(3)).
    if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then choice=systemd; else choice=setsid; fi
  fi
  echo "${choice}"
}

start_pipeline() {
  local self=${script_dir}/build-host.sh how
  how=$(launcher)
  : >"${status_file}"
  status "launched ${how}"
  case "${how}" in
    systemd)
      # Only paths go through --setenv: systemctl show displays a unit's environment.
      systemd-run --unit engine-build --collect --quiet --setenv=HOME=/root --setenv=WORK_DIR="${work_dir}" \
        --setenv=SECRETS_DIR="${secrets_dir}" --setenv=BUILD_ENV="${build_env}" \
        --setenv=POLL_SECONDS="${poll_seconds}" bash "${self}" pipeline ||
        die "systemd-run could not start the pipeline: see journalctl -u engine-build"
      ;;
    setsid)
      setsid nohup bash "${self}" pipeline </dev/null >>"${log_file}" 2>&1 &
      ;;
    foreground)
      bash "${self}" pipeline </dev/null || true
      grep -q '^[0-9]* begin ' "${status_file}" || status "failed pipeline not-started"
      ;;
    *) die "ENGINE_BUILD_LAUNCHER='${how}' is invalid: use auto, systemd, setsid or foreground" ;;
  esac
}

report_failure() {
  local step=$1
  echo "engine build failed in step ${step}; last lines of ${log_file}:" >&2
  tail -n 80 "${log_file}" >&2 || true
  if [ "${step}" = validate ] && [ -f "${work_dir}/triton.log" ]; then
    echo "--- last lines of the Triton log (${work_dir}/triton.log):" >&2
    tail -n 80 "${work_dir}/triton.log" >&2
  fi
  echo "run build-host.sh run again to resume from ${step}" >&2
}

# Prints the status file's events as they come, one line per step on stderr; returns once the
# pipeline finished (0), failed or vanished (1), or, with ATTACH_SECONDS set, once that many seconds
# have passed while it still runs (3: it carries on detached, and `follow` attaches again).
follow() {
  local began seen=0 line at event name detail total begun=false attached_at
  began=$(now)
  attached_at=${began}
  while true; do
    total=$(wc -l <"${status_file}" 2>/dev/null || echo 0)
    while [ "${seen}" -lt "${total}" ]; do
      seen=$((seen + 1))
      line=$(sed -n "${seen}p" "${status_file}")
      read -r at event name detail <<<"${line}"
      case "${event}" in
        launched) began=${at} ;;
        begin) begun=true ;;
        start) echo "[engine-build +$((at - began))s] ${name} ..." >&2 ;;
        done) echo "[engine-build +$((at - began))s] ${name} done in ${detail} s" >&2 ;;
        skip) echo "[engine-build +$((at - began))s] ${name} already done" >&2 ;;
        failed)
          report_failure "${name}"
          return 1
          ;;
        finished)
          echo "[engine-build +$((at - began))s] $([ "${BUILD_MODE}" = mirror ] && echo "image copied" || echo "artifact complete")" >&2
          jq -c . "${work_dir}/manifest.json"
          return 0
          ;;
      esac
    done
    # A pipeline that began holds its lock until it ends; one that never began within a minute of
    # its launch failed to start (its own output is in the log).
    if ! pipeline_running && [ "$(wc -l <"${status_file}")" -eq "${seen}" ]; then
      if [ "${begun}" = true ] || [ "$(($(now) - began))" -gt 60 ]; then
        echo "the pipeline stopped without finishing (killed, or the instance rebooted)" >&2
        report_failure "$(awk '$2 == "start" {s = $3} END {print s}' "${status_file}")"
        return 1
      fi
    fi
    if [ -n "${ATTACH_SECONDS:-}" ] && [ "$(($(now) - attached_at))" -ge "${ATTACH_SECONDS}" ]; then
      echo "[engine-build] still running ($(awk '$2 == "start" {s = $3} END {print s}' "${status_file}")) after ${ATTACH_SECONDS} s attached: it carries on detached; build-host.sh follow attaches again" >&2
      return "${STILL_RUNNING_EXIT}"
    fi
    sleep "${poll_seconds}"
  done
}

run() {
  load_build_env
  if ! mkdir -p "${work_dir}" 2>/dev/null || [ ! -w "${work_dir}" ]; then
    die "cannot write to ${work_dir}: run build-host.sh as root (sudo bash build-host.sh run)"
  fi
  if pipeline_running; then
    echo "a build is already running: following it" >&2
    follow
    return
  fi
  reset_if_keys_changed
  # Secrets: read now, whatever happens next, so that they never linger on a pipe. A trailing CR
  # (stdin written on Windows) is not part of a token.
  local username token hf
  IFS= read -r username || true
  IFS= read -r token || true
  IFS= read -r hf || true
  username=${username%$'\r'} token=${token%$'\r'} hf=${hf%$'\r'}
  if finished_ok; then
    echo "this build already finished: ${ARTIFACT_PREFIX}model.zip" >&2
    jq -c . "${work_dir}/manifest.json"
    return 0
  fi
  (
    umask 077
    mkdir -p "${secrets_dir}"
    chmod 700 "${secrets_dir}"
    printf '%s\n%s\n%s\n' "${username}" "${token}" "${hf}" >"${secrets_file}"
  )
  # The pipeline removes the file as soon as it has read it; this covers a pipeline that never started.
  trap 'rm -f "${secrets_file}"' EXIT
  start_pipeline
  await_secrets_taken
  follow
}

# The link follows only once the pipeline has taken its secrets (read_secrets removes the file): a
# link whose --attach-seconds ran out while the pipeline was still starting (bash, the sourced steps,
# the lock; seconds on a loaded host) would otherwise remove them on exit, and the pipeline would fail
# at pull-image with no OCIR credentials.
await_secrets_taken() {
  local deadline=$((SECONDS + secrets_handover_seconds))
  while [ -e "${secrets_file}" ]; do
    [ "${SECONDS}" -lt "${deadline}" ] ||
      die "the pipeline did not start within ${secrets_handover_seconds} s (its secrets are still unread): see ${log_file}"
    sleep 0.2
  done
}

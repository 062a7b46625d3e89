# shellcheck shell=bash
# Sourced by build-host.sh: messages, the log and the status file that `follow` reads.

die() {
  echo "build-host.sh: $*" >&2
  exit 1
}

now() {
  date +%s
}

# To stderr, so that a step can capture a command's output without its log line.
log() {
  echo "[$(date -u +%H:%M:%S)] $*" >&2
}

# Runs an external command with its command line in the log.
x() {
  log "+ $(printf '%q ' "$@")"
  "$@"
}

# One event per line, `<epoch seconds> <event> [<step> [<detail>]]`: what `follow` prints from.
status() {
  echo "$(now) $*" >>"${status_file}"
}

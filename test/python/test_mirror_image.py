"""engine-build/steps/mirror-image.sh, the registry-to-registry copy of the serving image into OCIR,
run as build-host.sh runs a step (lib/log.sh sourced, the secrets read from stdin) with a fake skopeo
on PATH. The fake keeps registries as folders of manifests named <name>@<digest> and records every
call's argv; it answers the way skopeo's documented options say (docs/skopeo-copy.1.md: --all,
--preserve-digests, --digestfile, --retry-times; skopeo-login --password-stdin; skopeo-inspect --raw).
"""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "engine-build"

OCIR_USER = "axaxnpcrorw5/builder@example.com"
OCIR_TOKEN = "ocir-token-Zx81;Qv"
REGISTRY = "us-ashburn-1.ocir.io"
SOURCE_NAME = "nvcr.io/nvidia/tritonserver"
TARGET = f"{REGISTRY}/axaxnpcrorw5/triton-trtllm-oci/tritonserver:25.04-trtllm-python-py3"
# The bytes of the source's index: its digest is what the preview resolved.
INDEX = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
DIGEST = "sha256:" + hashlib.sha256(INDEX).hexdigest()

FAKE_SKOPEO = r"""#!/usr/bin/env bash
set -euo pipefail
printf '%s\0' "$@" >"${FAKE_DIR}/calls/$(date +%s%N)-$$-skopeo"
sub=$1
shift
authfile="" digestfile="" refs=() all=false preserve=false
while [ "$#" -gt 0 ]; do
  case "$1" in
    --authfile) authfile=$2; shift 2 ;;
    --digestfile) digestfile=$2; shift 2 ;;
    --username | --retry-times) shift 2 ;;
    --all) all=true; shift ;;
    --preserve-digests) preserve=true; shift ;;
    --password-stdin | --raw) shift ;;
    -*) echo "fake skopeo: unexpected option $1" >&2; exit 2 ;;
    *) refs+=("$1"); shift ;;
  esac
done
registry=${FAKE_DIR}/registry
case "${sub}" in
  login)
    cat >"${FAKE_DIR}/login-stdin"
    [ "${FAKE_FAIL:-}" != login ] || { echo "Error: authenticating creds for ${refs[0]}: invalid username/password" >&2; exit 1; }
    echo '{"auths":{}}' >"${authfile}"
    ;;
  logout) rm -f "${authfile}" ;;
  copy)
    [ -f "${authfile}" ] || { echo "no auth file" >&2; exit 1; }
    count=$(cat "${FAKE_DIR}/copies" 2>/dev/null || echo 0)
    echo $((count + 1)) >"${FAKE_DIR}/copies"
    if [ "${count}" -lt "${FAKE_COPY_FAILURES:-0}" ]; then
      echo "${FAKE_COPY_ERROR:-Error: reading blob: connection reset by peer}" >&2
      exit 1
    fi
    src=${refs[0]#docker://}
    dest=${refs[1]#docker://}
    manifest=${registry}/${src}
    [ -f "${manifest}" ] || { echo "manifest unknown: ${src}" >&2; exit 1; }
    digest=${src##*@}
    [ "${all}" = true ] && [ "${preserve}" = true ] || digest=sha256:0000000000000000000000000000000000000000000000000000000000000000
    mkdir -p "$(dirname "${registry}/${dest%:*}@${digest}")"
    if [ -n "${FAKE_REWRITE:-}" ]; then printf '%s' "${FAKE_REWRITE}" >"${registry}/${dest%:*}@${digest}";
    else cp "${manifest}" "${registry}/${dest%:*}@${digest}"; fi
    printf '%s' "${digest}" >"${digestfile}"
    ;;
  inspect)
    ref=${refs[0]#docker://}
    [ -f "${registry}/${ref}" ] || { echo "manifest unknown: ${ref}" >&2; exit 1; }
    cat "${registry}/${ref}"
    ;;
  *) echo "fake skopeo: unexpected ${sub}" >&2; exit 2 ;;
esac
"""

HARNESS = r"""
set -euo pipefail
readonly script_dir=$1 secrets_dir=$2 work_dir=$3 status_file=$3/status
source "${script_dir}/lib/log.sh"
source "${script_dir}/steps/mirror-image.sh"
IFS= read -r ocir_username || true
IFS= read -r ocir_token || true
step_mirror_image
"""


@pytest.fixture
def registry_host(tmp_path):
    fake_dir = tmp_path / "fake"
    (fake_dir / "calls").mkdir(parents=True)
    source = fake_dir / "registry" / f"{SOURCE_NAME}@{DIGEST}"
    source.parent.mkdir(parents=True)
    source.write_bytes(INDEX)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "skopeo").write_text(FAKE_SKOPEO)
    (bin_dir / "skopeo").chmod(0o755)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    work = tmp_path / "work"
    work.mkdir()

    def run(stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n", **env):
        settings = {
            "MIRROR_SOURCE": f"{SOURCE_NAME}@{DIGEST}",
            "MIRROR_DIGEST": DIGEST,
            "MIRROR_TARGET": TARGET,
            "OCIR_REGISTRY": REGISTRY,
            "MIRROR_RETRY_SECONDS": "0",
            **env,
        }
        result = subprocess.run(
            ["bash", "-c", HARNESS, "harness", str(SCRIPTS), str(secrets), str(work)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_DIR": str(fake_dir), **settings},
        )
        calls = [
            (path.read_bytes().split(b"\0")[:-1])
            for path in sorted((fake_dir / "calls").iterdir(), key=lambda p: p.name)
        ]
        return result, [[arg.decode() for arg in call] for call in calls]

    run.fake_dir = fake_dir
    run.secrets = secrets
    return run


def test_copies_every_platform_keeping_the_digest_and_checks_what_ocir_serves(registry_host):
    result, calls = registry_host()
    assert result.returncode == 0, result.stderr
    assert [call[0] for call in calls] == ["login", "copy", "inspect", "logout"]
    copy = calls[1]
    assert copy[:3] == ["copy", "--all", "--preserve-digests"]
    assert copy[-2:] == [f"docker://{SOURCE_NAME}@{DIGEST}", f"docker://{TARGET}"]
    assert calls[2][-1] == f"docker://{TARGET.rsplit(':', 1)[0]}@{DIGEST}"
    served = registry_host.fake_dir / "registry" / f"{TARGET.rsplit(':', 1)[0]}@{DIGEST}"
    assert served.read_bytes() == INDEX
    assert f"{TARGET} holds {DIGEST}" in result.stderr


def test_the_token_reaches_skopeo_on_stdin_only_and_leaves_nothing_behind(registry_host):
    result, calls = registry_host()
    assert result.returncode == 0, result.stderr
    assert (registry_host.fake_dir / "login-stdin").read_text() == f"{OCIR_TOKEN}\n"
    login = calls[0]
    assert login[login.index("--username") + 1] == OCIR_USER
    assert "--password-stdin" in login
    for call in calls:
        assert all(OCIR_TOKEN not in arg for arg in call), call
    assert OCIR_TOKEN not in result.stdout + result.stderr
    assert list(registry_host.secrets.iterdir()) == [], "the auth file is removed"


def test_a_transient_failure_is_retried(registry_host):
    result, calls = registry_host(FAKE_COPY_FAILURES="2")
    assert result.returncode == 0, result.stderr
    assert [call[0] for call in calls].count("copy") == 3
    assert "copy attempt 1 of 3 failed" in result.stderr


def test_a_refused_push_fails_after_the_attempts_with_the_auth_advice(registry_host):
    result, calls = registry_host(
        FAKE_COPY_FAILURES="9", FAKE_COPY_ERROR="Error: writing blob: denied: requested access to the resource is denied"
    )
    assert result.returncode == 1
    assert [call[0] for call in calls].count("copy") == 3
    assert "failed 3 times" in result.stderr
    assert "check ocirUsername" in result.stderr and "manage repos" in result.stderr
    assert list(registry_host.secrets.iterdir()) == []


def test_a_quota_failure_names_the_limit(registry_host):
    result, _ = registry_host(
        MIRROR_ATTEMPTS="1", FAKE_COPY_FAILURES="1", FAKE_COPY_ERROR="Error: 429 TOOMANYREQUESTS: storage quota exceeded"
    )
    assert result.returncode == 1
    assert "registry limit" in result.stderr


def test_a_failed_login_stops_before_any_copy(registry_host):
    result, calls = registry_host(FAKE_FAIL="login")
    assert result.returncode == 1
    assert [call[0] for call in calls] == ["login"]
    assert "skopeo login to us-ashburn-1.ocir.io failed" in result.stderr


def test_no_credentials_stop_before_skopeo_runs(registry_host):
    result, calls = registry_host(stdin="")
    assert result.returncode == 1
    assert calls == []
    assert "no OCIR credentials" in result.stderr


def test_a_manifest_that_changed_on_the_way_fails_the_step(registry_host):
    result, _ = registry_host(FAKE_REWRITE='{"schemaVersion":2}')
    assert result.returncode == 1
    assert f"OCIR does not serve {DIGEST}" in result.stderr


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"MIRROR_SOURCE": f"{SOURCE_NAME}:25.04-trtllm-python-py3@{DIGEST}"}, "has a tag and a digest"),
        ({"MIRROR_SOURCE": f"{SOURCE_NAME}:25.04-trtllm-python-py3"}, "is not <image>@sha256"),
        ({"MIRROR_DIGEST": "sha256:" + "0" * 64}, "is not pinned to MIRROR_DIGEST"),
        ({"MIRROR_TARGET": "fra.ocir.io/ns/repo:tag"}, "MIRROR_TARGET='fra.ocir.io/ns/repo:tag' is not us-ashburn-1.ocir.io/"),
    ],
)
def test_bad_settings_stop_before_skopeo_runs(registry_host, settings, message):
    result, calls = registry_host(**settings)
    assert result.returncode == 1
    assert calls == []
    assert message in result.stderr


def test_a_registry_port_is_not_taken_for_a_tag(registry_host):
    source = f"registry.example:5000/team/tritonserver@{DIGEST}"
    path = registry_host.fake_dir / "registry" / source
    path.parent.mkdir(parents=True)
    path.write_bytes(INDEX)
    result, calls = registry_host(MIRROR_SOURCE=source)
    assert result.returncode == 0, result.stderr
    assert calls[1][-2] == f"docker://{source}"

"""The build host's time to an endpoint, by phase, and a build followed across several Bastion
sessions: build-host.sh on the build host of build_host.py (its fakes on PATH), a fake instance
metadata service (curl) and a fake /proc/uptime.
"""

import json
import shutil
import subprocess

from build_host import OCIR_TOKEN, OCIR_USER, Host, manifest_of, wait_for, write_fakes

BUILD_PHASES = {"provision", "cloudInit", "imagePull", "weightDownload", "convert", "build", "validate", "pack",
                "upload", "wallSeconds"}


def status_events(host):
    return [line.split()[1:] for line in (host.work / "status").read_text().splitlines()]


def test_the_manifest_times_every_phase_from_instance_creation_to_upload(tmp_path, packer, repository):
    host = Host(tmp_path, packer, repository)
    result = host.run(FAKE_PULL_SECONDS="1")
    assert result.returncode == 0, result.stderr
    phases = manifest_of(result)["phases"]
    assert set(phases) == BUILD_PHASES
    assert all(isinstance(seconds, int) and seconds >= 0 for seconds in phases.values()), phases
    # Creation to boot: the metadata's timeCreated against now minus the uptime (±1 s of clock).
    assert 94 <= phases["provision"] <= 96
    assert phases["cloudInit"] == 420  # the uptime cloud-init.yaml wrote when the host was ready
    assert phases["imagePull"] >= 1
    assert phases["wallSeconds"] >= phases["imagePull"]
    stored = json.loads(host.bucket(f"artifacts/{'a9f8e7' * 10}a9f8/manifest.json").read_text())
    assert stored["phases"] == phases


def test_the_weights_download_while_the_image_is_pulled(tmp_path, packer, repository):
    host = Host(tmp_path, packer, repository)
    result = host.run(FAKE_PULL_SECONDS="2")
    assert result.returncode == 0, result.stderr
    events = status_events(host)
    pull_done = events.index(["done", "pull-image", events[[e[:2] for e in events].index(["done", "pull-image"])][2]])
    assert ["start", "download"] in events[:pull_done], events
    assert ["done", "download"] in [e[:2] for e in events[:pull_done]], "the download finished during the pull"
    # The download ran on the host, not in a container of the image being pulled.
    assert host.argvs("hf") and not any("download" in argv for argv in host.argvs("docker"))


def test_without_instance_metadata_the_host_phases_are_left_out_and_the_build_goes_on(tmp_path, packer, repository):
    host = Host(tmp_path, packer, repository)
    result = host.run(FAKE_IMDS="down")
    assert result.returncode == 0, result.stderr
    phases = manifest_of(result)["phases"]
    assert set(phases) == BUILD_PHASES - {"provision", "cloudInit"}
    assert "no instance metadata" in (host.work / "build.log").read_text()


def test_a_build_longer_than_one_session_is_followed_again_through_the_next(tmp_path, packer, repository):
    host = Host(tmp_path, packer, repository)
    host.env["FAKE_BLOCK"] = "trtllm-build"
    # The first link starts the build and lets go when its time is up: exit 3, nothing on stdout.
    first = subprocess_run(host, "run", "--attach-seconds", "1", stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n\n")
    assert first.returncode == 3, first.stderr
    assert first.stdout == ""
    assert "still running (" in first.stderr and "carries on detached" in first.stderr
    # The detached build reaches trtllm-build after every earlier step ran.
    wait_for(host.fake / "blocked", seconds=60)
    # A second link, as through a new session: it attaches, and its time runs out too.
    second = subprocess_run(host, "follow", "--attach-seconds", "1")
    assert second.returncode == 3, second.stderr
    assert "still running (build-engine)" in second.stderr
    assert second.stdout == ""
    # The last finds the build finished while nobody was attached, and prints its manifest.
    (host.fake / "release").touch()
    third = subprocess_run(host, "follow", "--attach-seconds", "60")
    assert third.returncode == 0, third.stderr
    manifest = manifest_of(third)
    assert manifest["artifactKey"] == "a9f8e7" * 10 + "a9f8"
    assert set(manifest["phases"]) == BUILD_PHASES
    # One pipeline did it all: each step ran once.
    assert len(host.argvs("trtllm-build")) == 1
    assert len(host.argvs("hf")) == 1


def test_a_link_that_lets_go_before_the_pipeline_started_leaves_it_its_secrets(tmp_path, packer, repository):
    # Found in CI: under load the detached pipeline took more than the link's one second to start,
    # the link's exit removed the secrets file, and the pipeline failed at pull-image without them.
    # A setsid that takes 3 s to start the pipeline stands in for that host.
    host = Host(tmp_path, packer, repository)
    write_fakes(tmp_path / "bin", {"setsid": f"#!/bin/bash\nsleep 3\nexec {shutil.which('setsid')} \"$@\"\n"})
    host.env["FAKE_BLOCK"] = "trtllm-build"
    first = subprocess_run(host, "run", "--attach-seconds", "1", stdin=f"{OCIR_USER}\n{OCIR_TOKEN}\n\n")
    assert first.returncode == 3, first.stderr
    wait_for(host.fake / "blocked", seconds=120)
    assert "failed" not in (host.work / "status").read_text()
    (host.fake / "release").touch()
    last = subprocess_run(host, "follow", "--attach-seconds", "60")
    assert last.returncode == 0, last.stderr
    # The pull logged in with the credentials the first link handed over.
    logins = [argv for argv in host.argvs("docker") if "login" in argv]
    assert len(logins) == 1 and OCIR_USER in logins[0], logins


def test_attach_seconds_must_be_a_positive_whole_number(tmp_path, packer, repository):
    host = Host(tmp_path, packer, repository)
    for args in (["--attach-seconds"], ["--attach-seconds", "0"], ["--attach-seconds", "2h"], ["--detach"]):
        assert subprocess_run(host, "follow", *args).returncode == 2, args


def subprocess_run(host, *args, stdin=None):
    return subprocess.run(["bash", str(host.dir / "build-host.sh"), *args], input=stdin, capture_output=True,
                          text=True, env=host.env, timeout=60)

"""build-host.sh with the serving image still to be copied into OCIR (MIRROR_SOURCE set): the copy
(steps/mirror-image.sh, a fake skopeo) runs beside the image pull and the weight download, the build
pulls and runs the source by the same digest, the manifest records the OCIR reference the deployment
pulls; an engine-cache re-assembly copies beside its pull and engine download; and a `mirror` host
(no build runs) does the copy alone.
"""

import shutil

from build_host import IMAGE_REF, Host, manifest_of, write_fakes
from test_engine_build import built  # noqa: F401 (a fixture: one successful build, shared)
from test_mirror_image import DIGEST, FAKE_SKOPEO, INDEX

SOURCE = f"nvcr.io/nvidia/tritonserver@{DIGEST}"
TARGET = "iad.ocir.io/axaxnpcrorw5/triton-trtllm-oci/tritonserver:25.04-trtllm-python-py3"
MIRRORED_REF = f"{TARGET}@{DIGEST}"


def mirroring_host(root, packer, repository, **settings):
    host = Host(root, packer, repository)
    write_fakes(root / "bin", {"skopeo": FAKE_SKOPEO})
    source = host.fake / "registry" / SOURCE
    source.parent.mkdir(parents=True)
    source.write_bytes(INDEX)
    host.write_env(IMAGE_REF=MIRRORED_REF, MIRROR_SOURCE=SOURCE, MIRROR_DIGEST=DIGEST, MIRROR_TARGET=TARGET,
                   **settings)
    host.env["EXPECTED_IMAGE"] = SOURCE
    return host


def status_events(host):
    return [line.split()[1:3] for line in (host.work / "status").read_text().splitlines()]


def test_a_build_copies_the_image_beside_the_pull_and_the_download(tmp_path, packer, repository):
    host = mirroring_host(tmp_path, packer, repository)
    result = host.run(FAKE_PULL_SECONDS="1")
    assert result.returncode == 0, result.stderr
    copies = [argv for argv in host.argvs("skopeo") if argv[0] == "copy"]
    assert len(copies) == 1
    assert copies[0][-2:] == [f"docker://{SOURCE}", f"docker://{TARGET}"]
    assert (host.fake / "registry" / f"{TARGET.rsplit(':', 1)[0]}@{DIGEST}").read_bytes() == INDEX
    # The build pulls and runs the source by digest: the same bytes, no wait for the copy.
    assert [argv[-1] for argv in host.argvs("docker") if "pull" in argv] == [SOURCE]
    events = status_events(host)
    started = [event[1] for event in events if event[0] == "start"]
    # The model's config.json is checked first, then the copy joins the pull and the download.
    assert started[:2] == ["preflight", "model-config"]
    assert set(started[2:5]) == {"mirror-image", "pull-image", "download"}
    # All three had started before the pull (which takes a second) was done.
    done_pull = events.index(["done", "pull-image"])
    assert ["start", "mirror-image"] in events[:done_pull] and ["start", "download"] in events[:done_pull]
    manifest = manifest_of(result)
    assert manifest["imageRef"] == MIRRORED_REF
    assert "mirror-image" in manifest["timings"]


def test_a_failed_copy_fails_the_build_before_an_artifact_is_uploaded(tmp_path, packer, repository):
    host = mirroring_host(tmp_path, packer, repository, MIRROR_ATTEMPTS="1")
    result = host.run(FAKE_COPY_FAILURES="1", FAKE_COPY_ERROR="denied: requested access to the resource is denied")
    assert result.returncode != 0
    assert "mirror-image" in result.stderr
    assert not host.bucket(f"artifacts/{'a9f8e7' * 10}a9f8/model.zip").exists()


def test_build_env_refuses_an_image_ref_that_is_not_the_copy(tmp_path, packer, repository):
    host = mirroring_host(tmp_path, packer, repository)
    host.write_env(IMAGE_REF=IMAGE_REF, MIRROR_SOURCE=SOURCE, MIRROR_DIGEST=DIGEST, MIRROR_TARGET=TARGET)
    result = host.run()
    assert result.returncode != 0
    assert "is not pinned to MIRROR_DIGEST" in result.stderr
    assert host.argvs("skopeo") == []


def test_an_engine_cache_reassembly_copies_beside_the_pull_and_the_engine_download(tmp_path, packer, repository, built):
    builder, _ = built
    bucket = tmp_path / "bucket"
    shutil.copytree(builder.bucket_dir, bucket)
    host = Host(tmp_path / "gpu", packer, repository, bucket=bucket)
    write_fakes(tmp_path / "gpu" / "bin", {"skopeo": FAKE_SKOPEO})
    source = host.fake / "registry" / SOURCE
    source.parent.mkdir(parents=True)
    source.write_bytes(INDEX)
    host.write_env(BUILD_MODE="assemble", ARTIFACT_KEY="c" * 64, IMAGE_REF=MIRRORED_REF, MIRROR_SOURCE=SOURCE,
                   MIRROR_DIGEST=DIGEST, MIRROR_TARGET=TARGET)
    host.env["EXPECTED_IMAGE"] = SOURCE
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert [argv[0] for argv in host.argvs("skopeo")] == ["login", "copy", "inspect", "logout"]
    started = [event[1] for event in status_events(host) if event[0] == "start"]
    assert started[0] == "preflight"
    assert set(started[1:4]) == {"mirror-image", "pull-image", "fetch-engine"}
    # The validation pulls and serves the source by digest, as a build does, while the copy runs.
    assert [argv[-1] for argv in host.argvs("docker") if "pull" in argv] == [SOURCE]
    manifest = manifest_of(result)
    assert manifest["imageRef"] == MIRRORED_REF
    assert manifest["validation"]["answer"] == " Paris."
    assert set(manifest["timings"]) == {"preflight", "mirror-image", "pull-image", "fetch-engine", "stage", "pack",
                                        "validate"}


def test_a_mirror_host_only_copies_the_image(tmp_path, packer, repository):
    host = mirroring_host(tmp_path, packer, repository, BUILD_MODE="mirror")
    result = host.run()
    assert result.returncode == 0, result.stderr
    assert [argv[0] for argv in host.argvs("skopeo")] == ["login", "copy", "inspect", "logout"]
    assert (host.fake / "registry" / f"{TARGET.rsplit(':', 1)[0]}@{DIGEST}").read_bytes() == INDEX
    started = [event[1] for event in status_events(host) if event[0] == "start"]
    assert started == ["preflight", "mirror-image"]
    # No image pulled, no model downloaded, nothing read from or written to the bucket.
    assert [argv[0] for argv in host.argvs("docker")] == ["info"]
    assert host.argvs("oci") == []
    assert not host.bucket_dir.exists() or list(host.bucket_dir.rglob("*")) == []
    assert manifest_of(result) == {"mirrored": MIRRORED_REF}
    assert "image copied" in result.stderr
    # A second run finds the copy done and prints the same result without copying again.
    again = host.run()
    assert again.returncode == 0, again.stderr
    assert manifest_of(again) == {"mirrored": MIRRORED_REF}
    assert [argv[0] for argv in host.argvs("skopeo")].count("copy") == 1


def test_a_mirror_host_without_a_source_is_refused(tmp_path, packer, repository):
    host = Host(tmp_path, packer, repository)
    host.write_env(BUILD_MODE="mirror")
    result = host.run()
    assert result.returncode != 0
    assert "BUILD_MODE=mirror but MIRROR_SOURCE is missing" in result.stderr
    assert host.calls() == []

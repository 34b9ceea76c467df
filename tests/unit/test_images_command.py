"""`remedlab images [--registry REG]` and `remedlab manifests APP`: what to build and push, and the
manifests to apply, as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import yaml

from remedlab.apps.catalog import list_apps
from remedlab.apps.real_cluster.image_references import images_to_build
from remedlab.apps.real_cluster.store_images import StoreImages


def _remedlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remedlab.cli.main", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_images_lists_remedlab_app_images_with_their_tags() -> None:
    done = _remedlab("images")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == images_to_build(list_apps(), StoreImages.load())
    assert "remedlab/hotel-reservation:1.0" in lines
    assert "remedlab/simple-micro-hello:1.0" in lines
    assert "remedlab/online-boutique-frontend:0.10.1" in lines
    assert "remedlab/social-network-microservices:1.0" in lines
    assert "remedlab/social-network-nginx-thrift:1.0" in lines
    assert "remedlab/media-microservices:1.0" in lines
    assert "remedlab/media-microservices-nginx-web-server:1.0" in lines
    # 14, Social Network's 2, Media Microservices' 2, Train-Ticket's 46, Flower's 1
    assert len(lines) == len(set(lines)) == 65
    assert all(line.startswith("remedlab/") and ":" in line for line in lines)
    assert not [line for line in lines if line.split(":")[0] in StoreImages.load().stores]


def test_images_with_a_registry_shows_the_references_to_push() -> None:
    plain = images_to_build(list_apps(), StoreImages.load())
    done = _remedlab("images", "--registry", "localhost:5000/lab/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"localhost:5000/lab/{line}" for line in plain]


def test_a_bad_registry_is_one_line() -> None:
    done = _remedlab("images", "--registry", "https://ghcr.io/you")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().startswith('error: registry "https://ghcr.io/you": give it without a scheme')
    assert done.stderr.count("\n") == 1


def test_manifests_prints_an_app_for_kubectl_apply() -> None:
    done = _remedlab("manifests", "simple-micro", "--registry", "ghcr.io/you", "--agent-access")
    assert done.returncode == 0, done.stderr
    docs = list(yaml.safe_load_all(done.stdout))
    kinds = [d["kind"] for d in docs]
    assert kinds[0] == "Namespace" and kinds[-3:] == ["ServiceAccount", "Role", "RoleBinding"]
    images = {
        c["image"] for d in docs if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"ghcr.io/you/remedlab/simple-micro-hello:1.0", "ghcr.io/you/remedlab/simple-micro-time:1.0"}


def test_an_unknown_app_is_one_line() -> None:
    done = _remedlab("manifests", "no-such-app")
    assert done.returncode == 1
    assert done.stderr.startswith('error: unknown app "no-such-app": choose one of ')
    assert done.stderr.count("\n") == 1

"""The rabbitmq image's settings: its node stays inside the pod, and services find the broker as the
original's rabbitmq ConfigMap says."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedlab.apps.kit.messaging import BrokerAddress
from remedlab.apps.stores import rabbitmq
from remedlab.apps.stores.store_binaries import check_store_image


def test_the_node_listens_on_the_pod_and_keeps_erlang_distribution_on_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDLAB_POD_IP", "127.161.0.9")
    env = rabbitmq.node_env({"RABBITMQ_NODE_PORT": "tcp://10.0.0.1:5672", "PATH": "/bin"}, tmp_path, 41000, 41001)
    assert env["RABBITMQ_NODE_IP_ADDRESS"] == "127.161.0.9"
    assert env["RABBITMQ_NODE_PORT"] == "5672"  # a Service link is no setting
    assert (env["ERL_EPMD_PORT"], env["ERL_EPMD_ADDRESS"], env["RABBITMQ_DIST_PORT"]) == ("41000", "127.0.0.1", "41001")
    assert "inet_dist_use_interface {127,0,0,1}" in env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    assert env["HOME"] == str(tmp_path) and env["RABBITMQ_MNESIA_BASE"] == str(tmp_path / "mnesia")


def test_the_default_account_may_connect_from_other_pods() -> None:
    text = rabbitmq.config_text({"RABBITMQ_DEFAULT_USER": "ts", "RABBITMQ_DEFAULT_PASS": "secret"})
    assert "default_user = ts\n" in text and "default_pass = secret\n" in text
    assert "loopback_users = none\n" in text and "log.console = true\n" in text


def test_services_find_the_broker_from_the_config_map() -> None:
    address = BrokerAddress.from_env({"RABBITMQ_HOST": "rabbitmq", "RABBITMQ_PORT": "5672"})
    assert address.url == "amqp://guest:guest@rabbitmq:5672/"
    linked = BrokerAddress.from_env({"RABBITMQ_PORT": "tcp://10.96.0.12:5672"})
    assert (linked.host, linked.port) == ("rabbitmq", 5672)


def test_the_host_has_what_the_image_runs() -> None:
    assert check_store_image("remedlab/rabbitmq:3.10") is None

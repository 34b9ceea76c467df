"""What tells an episode's fault stays out of an agent's reach: the run's directory and the server's
state files are their owner's alone (pods run as another user, and an agent reads files through
``kubectl exec``), and the ReAct interface's file paths never say where the episode's directory is."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, cast

from remedlab.agents.episode import AgentContext, Incident
from remedlab.agents.methods.react_aci import Aci, AciError
from remedlab.agents.server_api import AgentApi
from remedlab.bench.results import read_run, write_run
from remedlab.paths import private_database, private_file


def test_run_directories_and_server_state_files_are_private(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_run(out, {"plan": []})
    assert stat.S_IMODE(out.stat().st_mode) == 0o700 and read_run(out) == {"plan": []}
    log = private_file(tmp_path / "home" / "access.log")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    db = tmp_path / "cluster.db"
    (tmp_path / "cluster.db-wal").write_text("")
    os.chmod(tmp_path / "cluster.db-wal", 0o644)
    private_database(db)
    assert stat.S_IMODE(db.stat().st_mode) == stat.S_IMODE((tmp_path / "cluster.db-wal").stat().st_mode) == 0o600


class _MetricsApi:
    def pod_metrics(self, namespace: str, seconds: int) -> list[dict[str, Any]]:
        return [{"name": "geo-a", "samples": [{"t": 1.0, "cpuMillicores": 5}]}]

    def service_metrics(self, namespace: str, seconds: int) -> list[dict[str, Any]]:
        return [{"service": "geo", "samples": [{"t": 1.0, "requestRate": 2.0, "upstreamErrors": {}}]}]


def test_the_aci_gives_paths_that_do_not_say_the_episode(tmp_path: Path) -> None:
    folder = tmp_path / "episodes" / "004-revoke-auth-postgres-geo"
    ctx = AgentContext(cast(AgentApi, _MetricsApi()), Incident("hotel-reservation", task="detection"), out_dir=folder)
    aci = Aci(ctx)
    path = aci.get_metrics("hotel-reservation", 1)
    assert not Path(path).is_absolute() and "revoke" not in path and "postgres-geo" not in path
    listing = aci.read_metrics(path)
    assert listing.startswith("files: ") and str(tmp_path) not in listing
    assert "geo-a" in aci.read_metrics(f"{path}/pods.csv")
    assert "requestRate" in aci.read_metrics(str(folder / "aci" / path / "services.csv"))  # an absolute one inside
    for outside in ("../conversation.json", str(tmp_path), "/etc/passwd"):
        assert "is not a file get_metrics or get_traces returned" in _error(aci, outside)


def _error(aci: Aci, path: str) -> str:
    try:
        aci.read_metrics(path)
    except AciError as exc:  # the interface's error, which the agent reads
        return str(exc)
    return ""

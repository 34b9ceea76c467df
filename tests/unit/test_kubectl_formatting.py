"""Pure helpers of the kubectl-compatible CLI: ages, column alignment, flags, patches, manifests."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from remedlab.remediate.kubectl.edit_patches import (
    env_patch,
    image_patch,
    parse_env_args,
    parse_metadata_changes,
    parse_resource_list,
    split_metadata_args,
)
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError, FlagError
from remedlab.remediate.kubectl.flags import FlagSet, bool_flag, multi_flag, value_flag
from remedlab.remediate.kubectl.humanize import human_duration, parse_duration, parse_timestamp
from remedlab.remediate.kubectl.manifest_files import load_manifests
from remedlab.remediate.kubectl.quantities import format_bytes, format_cpu, millicores, parse_quantity
from remedlab.remediate.kubectl.tabwriter import align_describe, rows_to_table


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (600, "10m"),
        (10799, "179m"),
        (4 * 3600, "4h"),
        (4 * 3600 + 10 * 60, "4h10m"),
        (30 * 3600, "30h"),
        (2 * 86400, "2d"),
        (3 * 86400 + 5 * 3600, "3d5h"),
        (40 * 86400, "40d"),
        (3 * 365 * 86400, "3y"),
        (3 * 365 * 86400 + 20 * 86400, "3y20d"),
        (10 * 365 * 86400, "10y"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_timestamps_and_durations() -> None:
    parsed = parse_timestamp("2024-05-01T10:00:00.123456789Z")
    assert parsed is not None and parsed.microsecond == 123456
    assert parse_timestamp("garbage") is None
    assert parse_duration("1h30m") == 5400
    assert parse_duration("500ms") == 0.5
    assert parse_duration("90") == 90
    with pytest.raises(ValueError):
        parse_duration("5 minutes")


def test_quantities() -> None:
    assert millicores("250m") == 250 and millicores("2") == 2000
    assert parse_quantity("64Mi") == 64 * 1024 * 1024 and parse_quantity("1e3") == 1000
    assert format_cpu(1500) == "1500m" and format_cpu(2000) == "2"
    assert format_bytes(192 * 1024 * 1024) == "192Mi" and format_bytes(0) == "0"
    with pytest.raises(ValueError):
        parse_quantity("12 MB")


def test_table_alignment_matches_kubectl() -> None:
    text = rows_to_table([["NAME", "READY", "AGE"], ["web-1", "1/1", "5s"], ["a-much-longer-name", "0/1", "10m"]])
    assert text == (
        "NAME                 READY   AGE\nweb-1                1/1     5s\na-much-longer-name   0/1     10m\n"
    )
    # Trailing tabs pad the last column too (kubectl top, custom-columns).
    assert rows_to_table([["A", "B"], ["x", "y"]], trailing_tab=True) == "A     B     \nx     y     \n"


def test_describe_alignment_blocks() -> None:
    text = "Name:\tweb\nNamespace:\tdefault\nIPs:\n  IP:\t10.0.0.1\nControlled By:\tReplicaSet/web\n"
    assert align_describe(text) == (
        "Name:       web\nNamespace:  default\nIPs:\n  IP:           10.0.0.1\nControlled By:  ReplicaSet/web\n"
    )


def test_flag_parsing() -> None:
    flags = FlagSet(
        [
            value_flag("namespace", "n"),
            value_flag("output", "o"),
            bool_flag("wait"),
            bool_flag("all-namespaces", "A"),
            bool_flag("stdin", "i"),
            bool_flag("tty", "t"),
            multi_flag("filename", "f"),
        ],
        "get",
    )
    parsed = flags.parse(
        ["pods", "-nshop", "-o=json", "--wait=false", "-it", "-f", "a.yaml", "--filename=b", "--", "ls", "-l"]
    )
    assert parsed.positionals == ["pods"]
    assert parsed.value("namespace") == "shop" and parsed.value("output") == "json"
    assert parsed.flag("wait", default=True) is False and parsed.flag("stdin") and parsed.flag("tty")
    assert parsed.all_values("filename") == ["a.yaml", "b"]
    assert parsed.after_dash == ["ls", "-l"]
    with pytest.raises(FlagError, match="unknown shorthand flag: 'z' in -z"):
        flags.parse(["-z"])
    with pytest.raises(FlagError, match="flag needs an argument: --output"):
        flags.parse(["--output"])
    with pytest.raises(FlagError, match='invalid argument "maybe" for "--wait" flag'):
        flags.parse(["--wait=maybe"])
    assert flags.first_positional(["-n", "x", "-A", "get", "pods"]) == 3


def test_env_and_image_patches() -> None:
    sets, removals = parse_env_args(["A=1", "B=x=y", "A=2", "OLD-"])
    assert sets == [("B", "x=y"), ("A", "2")] and removals == ["OLD"]
    assert env_patch("Pod", ["app"], [("A", "2")], ["OLD"]) == {
        "spec": {
            "containers": [{"name": "app", "env": [{"name": "A", "value": "2"}, {"name": "OLD", "$patch": "delete"}]}]
        }
    }
    with pytest.raises(CommandError):
        parse_env_args(["NOVALUE"])
    assert image_patch("Deployment", ["app", "side"], {"*": "img:2"}) == {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "image": "img:2"}, {"name": "side", "image": "img:2"}]}
            }
        }
    }
    with pytest.raises(CommandError, match='unable to find container named "nope"'):
        image_patch("Deployment", ["app"], {"nope": "img"})
    assert parse_resource_list("cpu=200m, memory=512Mi") == {"cpu": "200m", "memory": "512Mi"}
    with pytest.raises(CommandError):
        parse_resource_list("cpu")


def test_label_arguments() -> None:
    assert split_metadata_args(["pod", "a", "b", "x=1", "y-"], "label") == (["pod", "a", "b"], ["x=1", "y-"])
    with pytest.raises(CommandError, match="all resources must be specified before label changes: c"):
        split_metadata_args(["pod", "x=1", "c"], "label")
    assert parse_metadata_changes(["x=1", "y-"], "label") == {"x": "1", "y": None}


def test_api_status_rendering() -> None:
    body = {"kind": "Status", "reason": "NotFound", "message": 'pods "x" not found', "code": 404}
    assert ApiStatusError.from_body(404, body).render() == 'Error from server (NotFound): pods "x" not found'
    assert ApiStatusError.from_body(422, {"detail": "bad"}).render() == "Error from server (Invalid): bad"
    assert ApiStatusError.from_body(401, "").render().startswith("error: You must be logged in to the server")


def test_manifest_loading(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "kind: List\napiVersion: v1\nitems:\n- {kind: ConfigMap, apiVersion: v1, metadata: {name: one}}\n"
        "---\n---\nkind: Secret\napiVersion: v1\nmetadata: {name: two}\n"
    )
    (tmp_path / "notes.txt").write_text("ignored")
    loaded = load_manifests([str(tmp_path)], recursive=False, stdin=io.StringIO())
    assert [(m.kind, m.name) for m in loaded] == [("ConfigMap", "one"), ("Secret", "two")]
    stdin = io.StringIO('{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "ns"}}')
    assert load_manifests(["-"], recursive=False, stdin=stdin)[0].name == "ns"
    (tmp_path / "bad.yaml").write_text("kind: Pod\nmetadata: {}\n")
    with pytest.raises(CommandError, match=r"metadata\.name not set"):
        load_manifests([str(tmp_path / "bad.yaml")], recursive=False, stdin=io.StringIO())
    (tmp_path / "broken.yaml").write_text("a: [\n")
    with pytest.raises(CommandError, match="error parsing"):
        load_manifests([str(tmp_path / "broken.yaml")], recursive=False, stdin=io.StringIO())

"""AIOpsLab's problem registry as a remedlab suite: the data file against the fault catalog and the
apps' manifests, selection by task, id and glob, the skip report, balanced detection (always "Yes"
scores 50%), AIOpsLab's metrics, and planning a run through the admin API."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from remedlab.agents.episode import TASKS
from remedlab.apps.catalog import app_manifests, list_apps
from remedlab.bench.aiopslab_plan import (
    APP_MISSING,
    FAULT_MISSING,
    OTHER_APP,
    describe_skips,
    plan_problems,
    select_problems,
)
from remedlab.bench.aiopslab_problems import load_registry, parse_registry
from remedlab.bench.episode import EpisodeSettings
from remedlab.bench.metrics import episode_metrics, task_figures
from remedlab.bench.plan import NO_FAULT, EpisodeSpec, SuiteError
from remedlab.bench.report import skip_lines, task_table
from remedlab.bench.runner import RunRequest, plan_run
from remedlab.chaos.catalog import apply_overrides, load_catalog

REGISTRY = load_registry()
CATALOG = load_catalog()
APPS = {app.name: app for app in list_apps()}
HOTEL = "hotel-reservation"


def _names_in_manifests(app: str) -> set[str]:
    return {
        str(doc["metadata"]["name"])
        for doc in app_manifests(APPS[app])
        if doc.get("kind") in ("Deployment", "StatefulSet", "Service")
    }


# ---------------------------------------------------------------- the data file


def test_the_registry_holds_aiopslabs_89_problems_each_with_a_known_task() -> None:
    ids = [p.id for p in REGISTRY.problems]
    assert len(ids) == len(set(ids)) == 89
    assert Counter(p.task for p in REGISTRY.problems) == {
        "detection": 34,
        "localization": 28,
        "analysis": 13,
        "mitigation": 14,
    }
    for problem in REGISTRY.problems:
        assert problem.task in TASKS and problem.task in problem.id, problem.id
        assert problem.app == REGISTRY.apps[problem.aiopslab_app]
    assert {p.id for p in REGISTRY.problems if p.control} == {
        "noop_detection_hotel_reservation-1",
        "noop_detection_social_network-1",
        "noop_detection_astronomy_shop-1",
    }


def test_every_fault_is_in_the_catalog_or_listed_as_not_yet_in_remedlab() -> None:
    named = {p.fault for p in REGISTRY.problems if not p.control}
    unknown = named - set(CATALOG) - REGISTRY.not_in_remedlab
    assert not unknown, f"faults neither in chaos/catalog.yaml nor in not_in_remedlab: {sorted(unknown)}"
    arrived = REGISTRY.not_in_remedlab & set(CATALOG)
    assert not arrived, f"in the fault catalog now: remove {sorted(arrived)} from not_in_remedlab in aiopslab.yaml"
    assert REGISTRY.not_in_remedlab <= named, "not_in_remedlab lists faults no problem uses"


def test_targets_exist_in_the_manifests_of_every_app_remedlab_has() -> None:
    hotel = [p for p in REGISTRY.problems if p.app == HOTEL]
    assert len(hotel) == 38
    assert {p.target for p in hotel if p.fault == "revoke-auth"} == {"postgres-geo", "postgres-rate"}
    for problem in REGISTRY.problems:
        if problem.app in APPS and problem.target:
            assert problem.target in _names_in_manifests(problem.app), f"{problem.id}: no {problem.target}"
        if problem.app in APPS and not problem.target and not problem.control:
            assert APPS[problem.app].targets_for(problem.fault), f"{problem.id}: nothing to draw a target from"


def test_overrides_set_parameters_the_catalog_fault_has() -> None:
    for problem in REGISTRY.problems:
        if not problem.overrides or problem.fault not in CATALOG:
            continue
        spec = CATALOG[problem.fault].spec
        changed = apply_overrides(spec, list(problem.overrides))
        for text in problem.overrides:
            head = text.split("=", 1)[0].split(".")[0]
            assert head in spec, f"{problem.id}: {text} sets no parameter of {problem.fault}"
        assert changed != spec
    loss = REGISTRY.problem("network_loss_hotel_res-detection-1")
    assert loss is not None and apply_overrides(CATALOG["network-loss"].spec, list(loss.overrides))["loss"] == {
        "loss": 99,
        "correlation": 100,
    }


def test_analysis_problems_expect_what_the_catalog_grades_with() -> None:
    for problem in REGISTRY.problems:
        if problem.task != "analysis":
            assert problem.analysis is None, problem.id
            continue
        assert problem.analysis is not None, f"{problem.id} says no expected analysis"
        if problem.fault in CATALOG:
            assert CATALOG[problem.fault].truth == problem.analysis.model_dump(), problem.id


def test_a_registry_that_does_not_fit_is_refused_naming_the_problem() -> None:
    good = "apps: {Hotel: hotel-reservation}\nproblems:\n  p-detection-1: {app: Hotel, task: detection, fault: none}\n"
    assert parse_registry(good).problems[0].control
    with pytest.raises(SuiteError, match="p-x-1 runs on 'Nowhere'"):
        parse_registry("apps: {}\nproblems:\n  p-x-1: {app: Nowhere, task: detection, fault: none}\n")
    with pytest.raises(SuiteError, match="p-x-1 has task 'triage'"):
        parse_registry("apps: {H: h}\nproblems:\n  p-x-1: {app: H, task: triage, fault: none}\n")
    with pytest.raises(SuiteError, match="p-x-1 has no fault"):
        parse_registry("apps: {H: h}\nproblems:\n  p-x-1: {app: H, task: analysis, fault: none}\n")
    with pytest.raises(SuiteError, match="not a problem registry"):
        parse_registry("apps: {H: h}\nproblems:\n  p-x-1: {app: H, task: detection, fault: none, colour: red}\n")


# ---------------------------------------------------------------- selection


def _ids(suite: str, task: str | None = None) -> list[str]:
    return [p.id for p in select_problems(REGISTRY, suite, task)]


def test_selection_by_task_id_glob_and_lists() -> None:
    assert len(_ids("aiopslab")) == 89
    assert len(_ids("aiopslab:detection")) == 34
    assert _ids("aiopslab:wrong_bin_usage-analysis-1") == ["wrong_bin_usage-analysis-1"]
    assert _ids("aiopslab:revoke_auth_mongodb-*-1") == [
        f"revoke_auth_mongodb-{task}-1" for task in ("detection", "localization", "analysis", "mitigation")
    ]
    both = _ids("aiopslab:wrong_bin_usage-analysis-1, container_kill-*,wrong_bin_usage-analysis-1")
    assert both == ["container_kill-detection", "container_kill-localization", "wrong_bin_usage-analysis-1"]
    assert len(_ids("aiopslab:analysis,mitigation")) == 27
    assert _ids("aiopslab", "analysis") == _ids("aiopslab:analysis")  # --task narrows the whole registry


def test_selection_errors_are_one_line_and_say_what_to_do() -> None:
    with pytest.raises(SuiteError, match=r"no AIOpsLab problem matches 'revoke_auth-\*': give a task") as err:
        select_problems(REGISTRY, "aiopslab:revoke_auth-*")
    assert "\n" not in str(err.value)
    with pytest.raises(SuiteError, match=r"selects detection problems .* but --task is localization: leave --task out"):
        select_problems(REGISTRY, "aiopslab:detection", "localization")
    with pytest.raises(SuiteError, match=r"selects detection problems \(wrong_bin_usage-detection-1\)"):
        select_problems(REGISTRY, "aiopslab:wrong_bin_usage-*", "analysis")
    assert _ids("aiopslab:wrong_bin_usage-analysis-1", "analysis") == ["wrong_bin_usage-analysis-1"]


# ---------------------------------------------------------------- planning and the skip report


def _plan(suite: str, app: str = HOTEL, known_apps: set[str] | None = None, **options: Any) -> Any:
    known = {"simple-micro", HOTEL, "online-boutique"} if known_apps is None else known_apps
    return plan_problems(
        select_problems(REGISTRY, suite),
        app=app,
        namespace=app,
        known_apps=known,
        known_faults=set(CATALOG),
        targets=APPS[app].targets if app in APPS else {},
        seed=3,
        **options,
    )


def test_problems_whose_app_or_fault_is_missing_are_skipped_and_reported() -> None:
    plan = _plan("aiopslab")
    reasons = Counter(s.reason for s in plan.skipped)
    assert reasons == {APP_MISSING: 51}
    assert {s.app for s in plan.skipped if s.reason == APP_MISSING} == {"social-network", "astronomy-shop", "flower"}
    faulty = [e for e in plan.episodes if e.problem]
    assert len(faulty) == 89 - 51 and plan.selected == 89
    assert {e.app for e in plan.episodes} == {HOTEL}
    lines = describe_skips(plan.skipped)
    assert lines[0].startswith("51 app not in this remedlab (astronomy-shop, flower, social-network): ")
    assert "k8s_target_port-misconfig-detection-1" in lines[0]
    report = skip_lines({"selected": plan.selected, "skipped": [s.to_dict() for s in plan.skipped]})
    assert report[0] == "AIOpsLab problems skipped: 51 of 89 selected"
    # a fault this remedlab lacks is skipped the same way
    without = plan_problems(
        select_problems(REGISTRY, "aiopslab:misconfig_app_hotel_res-*,revoke_auth_mongodb-detection-1"),
        app=HOTEL,
        namespace=HOTEL,
        known_apps={HOTEL},
        known_faults=set(CATALOG) - {"misconfig-app"},
        targets=APPS[HOTEL].targets,
        seed=3,
    )
    assert Counter(s.reason for s in without.skipped) == {FAULT_MISSING: 4}
    assert describe_skips(without.skipped)[0].startswith("4 fault not in this remedlab (misconfig-app): ")
    # social-network gets its problems as soon as remedlab has an app of that name
    social = _plan("aiopslab:scale_pod_zero_social_net-*,wrong_bin_usage-*", known_apps={HOTEL, "social-network"})
    assert [s.reason for s in social.skipped] == [OTHER_APP] * 4


def test_a_selection_nothing_of_which_runs_here_says_where_it_would() -> None:
    with pytest.raises(SuiteError, match="none of the 4 AIOpsLab problems selected runs on simple-micro") as err:
        _plan("aiopslab:wrong_bin_usage-*", app="simple-micro")
    assert str(err.value).endswith("choose --env hotel-reservation")
    with pytest.raises(SuiteError, match=r"4 app not in this remedlab \(social-network\)\): choose other problems"):
        _plan("aiopslab:scale_pod_zero_social_net-*")


def test_episodes_carry_their_problem_task_target_and_parameters() -> None:
    plan = _plan("aiopslab:network_loss_hotel_res-localization-1,wrong_bin_usage-*", parallel=2)
    by_problem = {e.problem: e for e in plan.episodes}
    loss = by_problem["network_loss_hotel_res-localization-1"]
    assert (loss.task, loss.fault, loss.target) == ("localization", "network-loss", "user")
    assert loss.overrides == ("loss.loss=99", "loss.correlation=100")
    assert by_problem["wrong_bin_usage-mitigation-1"].task == "mitigation"
    assert [e.index for e in plan.episodes] == list(range(len(plan.episodes)))
    assert {e.namespace for e in plan.episodes} == {f"{HOTEL}-1", f"{HOTEL}-2"}
    again = EpisodeSpec.from_dict(loss.to_dict())
    assert again == loss
    old = {"index": 0, "fault": "pod-fail", "target": "geo", "namespace": "ns", "app": HOTEL}
    assert EpisodeSpec.from_dict(old, "detection").task == "detection"  # a plan from before episodes had tasks
    limited = _plan("aiopslab:network_loss_*,wrong_bin_usage-*", limit=3).episodes
    assert [e.problem for e in limited if e.problem][-1] == "wrong_bin_usage-detection-1"
    assert len(limited) == 5  # and two controls for its two faulty detection episodes


def test_detection_is_balanced_so_always_yes_scores_at_chance() -> None:
    plan = _plan("aiopslab:detection")
    detection = [e for e in plan.episodes if e.task == "detection"]
    faulty = [e for e in detection if e.fault != NO_FAULT]
    controls = [e for e in detection if e.fault == NO_FAULT]
    assert len(faulty) == len(controls) == 12
    assert sum(1 for e in controls if e.problem == "noop_detection_hotel_reservation-1") == 1  # AIOpsLab's counts
    assert all(e.target == "" for e in controls)
    assert plan.episodes == _plan("aiopslab:detection").episodes  # seeded places
    assert len([e for e in _plan("aiopslab:detection", controls=2).episodes if e.fault == NO_FAULT]) == 3
    assert not [e for e in _plan("aiopslab:analysis").episodes if e.fault == NO_FAULT]
    yes = [_record(e.task, e.fault, answer="Yes") for e in detection]
    (fig,) = task_figures(yes)
    assert fig.success_rate == fig.always_yes == 0.5 and fig.controls == 12


# ---------------------------------------------------------------- AIOpsLab's metrics


def _record(task: str, fault: str, answer: Any = None, status: str | None = None, **agent: Any) -> dict[str, Any]:
    expected = "No" if fault == NO_FAULT else "Yes"
    passed = answer == expected if task == "detection" else status == "success"
    usage = {"input_tokens": agent.pop("tokens_in", 100), "output_tokens": agent.pop("tokens_out", 10)}
    return {
        "task": task,
        "fault": fault,
        "status": status or ("success" if passed else "failure"),
        "verdict": {"passed": passed, **({"score": agent.pop("score")} if "score" in agent else {})},
        "agent": {"seconds": agent.pop("seconds", 10.0), "steps": agent.pop("steps", 4), "usage": usage},
    }


def test_metrics_per_episode_and_per_task() -> None:
    one = _record("localization", "pod-fail", status="success", seconds=12.5, steps=3, tokens_in=900, tokens_out=50)
    assert episode_metrics(one) == {"task": "localization", "TTL": 12.5, "steps": 3, "in_tokens": 900, "out_tokens": 50}
    assert episode_metrics({"task": "detection", "agent": None}) == {}
    assert "TTM" in episode_metrics({"agent": {"seconds": 3}})  # a run of one task: mitigation
    records = [
        one | {"verdict": {"passed": True, "score": 100.0, "rank": 1}},
        _record("localization", "pod-fail", status="failure", score=50.0, seconds=7.5, steps=5)
        | {"verdict": {"passed": False, "score": 25.0, "rank": 4}},
        _record("localization", "pod-fail", status="injection-failure"),
        _record("detection", "pod-fail", answer="No", seconds=4.0),
        _record("detection", NO_FAULT, answer="No", seconds=6.0),
        _record("analysis", "revoke-auth", status="error"),
    ]
    figures = {f.task: f for f in task_figures(records)}
    assert list(figures) == ["detection", "localization", "analysis"]  # AIOpsLab's order
    loc = figures["localization"]
    assert (loc.episodes, loc.judged, loc.successes, loc.success_rate) == (3, 2, 1, 0.5)
    assert loc.mean_seconds == 10.0 and loc.mean_steps == 4.0 and loc.mean_score == 62.5 and loc.time_metric == "TTL"
    assert loc.acc_at_k == 0.5  # the truth 4th in the list is no Acc@3 hit
    assert loc.mean_in_tokens == 500.0 and loc.mean_out_tokens == 30.0 and loc.always_yes is None
    det = figures["detection"]
    assert det.success_rate == 0.5 and det.always_yes == 0.5 and det.mean_seconds == 5.0 and det.controls == 1
    assert figures["analysis"].judged == 0 and figures["analysis"].success_rate is None
    table = task_table(records, "by task")
    assert table.row_count == 3 and len(table.columns) == 11


# ---------------------------------------------------------------- planning a run through the admin API


class FakeAdmin:
    """What plan_run asks of the server: the apps, the fault catalog (with its truth) and the doctor's checks."""

    def apps(self) -> list[dict[str, Any]]:
        return [{"name": a.name, "namespace": a.namespace, "targets": a.targets} for a in APPS.values()]

    def request(self, method: str, path: str) -> dict[str, Any]:
        assert method == "GET" and path in ("/v1/faults", "/v1/doctor"), (method, path)
        if path == "/v1/doctor":
            return {"checks": [{"mechanism": "cpu limits", "level": "full", "detail": "cgroup v1"}]}
        return {"faults": [{"name": f.name, "truth": f.truth} for f in CATALOG.values()]}


def _plan_run(suite: str, method: str = "baseline", **options: Any) -> dict[str, Any]:
    request = RunRequest(app=HOTEL, suite=suite, method=method, seed=1, **options)
    return plan_run(FakeAdmin(), request, EpisodeSettings(method=method))  # type: ignore[arg-type]


def test_a_run_mixes_tasks_and_records_what_it_skipped() -> None:
    run = _plan_run("aiopslab:revoke_auth_mongodb-*-1,misconfig_app_hotel_res-*,scale_pod_zero_social_net-*")
    assert run["task"] == "mixed" and run["selected"] == 12
    assert [s["problem"] for s in run["skipped"]] == [f"scale_pod_zero_social_net-{t}-1" for t in TASKS]
    tasks = Counter(e["task"] for e in run["plan"])
    assert tasks == {"detection": 4, "localization": 2, "analysis": 2, "mitigation": 2}  # controls balance
    assert run["truths"]["revoke-auth"] == {"system_level": "Application", "fault_type": "Authentication Issue"}
    single = _plan_run("aiopslab:wrong_bin_usage-analysis-1")
    assert single["task"] == "analysis" and single["skipped"] == []
    microremed = _plan_run("easy", task="detection")
    assert Counter(e["fault"] == NO_FAULT for e in microremed["plan"]) == {False: 23, True: 23}
    assert {e["task"] for e in microremed["plan"]} == {"detection"}


def test_methods_are_only_set_tasks_they_take_on() -> None:
    with pytest.raises(ValueError, match="SoloGen does not answer detection or analysis questions: use --method"):
        _plan_run("aiopslab:wrong_bin_usage-detection-1,wrong_bin_usage-analysis-1", method="SoloGen")
    assert _plan_run("aiopslab:wrong_bin_usage-mitigation-1", method="SoloGen")["task"] == "mitigation"
    with pytest.raises(SuiteError, match="but --task is mitigation"):
        _plan_run("aiopslab:detection", task="mitigation")

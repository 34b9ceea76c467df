"""An ansible stdout callback that prints a JSON line as each task starts and one JSON report at the end.

A task's start: ``{"started": {"play", "task"}}`` (a run stopped at its time limit thus shows where it
was). The report: ``{"plays": [{"play": {"name"}, "tasks": [{"task": {"name"}, "hosts": {host: result}}]}],
"stats": {host: {...}}}``, each result holding ``changed``, ``failed``, ``skipped``,
``unreachable``, ``rc``, ``stdout``, ``stderr`` and ``msg`` when the module gave them.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: remedlab_json
    type: stdout
    short_description: one JSON report of every task's result
    description: remedlab reads it to tell the agent what each task did.
"""

_KEPT = ("changed", "failed", "skipped", "unreachable", "rc", "stdout", "stderr", "msg")


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "remedlab_json"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plays: list[dict[str, Any]] = []

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        if not self.plays:
            self.plays.append({"play": {"name": ""}, "tasks": []})
        self.plays[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})
        started = {"play": self.plays[-1]["play"]["name"], "task": task.get_name()}
        self._display.display(json.dumps({"started": started}, default=str))

    def _record(self, result: Any, **flags: bool) -> None:
        if not self.plays or not self.plays[-1]["tasks"]:
            return
        raw = dict(result._result)
        kept = {key: raw[key] for key in _KEPT if key in raw}
        kept.update(flags)
        self.plays[-1]["tasks"][-1]["hosts"][result._host.get_name()] = kept

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = sorted(stats.processed.keys())
        summary = {host: stats.summarize(host) for host in hosts}
        self._display.display(json.dumps({"plays": self.plays, "stats": summary}, default=str))

"""What every functional fault provides (one module per action, listed in `registry.py`).

An action is carried out by the chaos controller on whichever server carries `FunctionalChaos` out
(see `Backend.chaos_kinds`), through the `Backend` alone: objects, patches, and `exec` into pods.

- ``inject`` changes the system and returns the experiment's record (``containerRecords`` entry): at
  least ``id`` (``namespace/kind/name[/container]``), ``phase: Injected``, ``mechanism`` (the
  action's name), ``injectedCount: 1``, ``recoveredCount: 0``, ``injectedAt``, plus whatever
  ``recover`` needs to undo exactly this injection (the original values).
- ``recover`` undoes it, unless someone (an agent) repaired it already or changed it since: then it
  leaves the system alone.
- ``observable`` says whether the fault shows now, and how (MicroRemed's confirm step).
- ``parameters`` is the pydantic model of the action's own settings (`spec.parameters`), checked when
  the experiment is created; ``None`` when it takes none.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from remedlab.api.client import Backend

Obj = dict[str, Any]


class FunctionalAction(Protocol):
    name: ClassVar[str]
    """The value of ``spec.action``, and the records' ``mechanism``."""
    parameters: ClassVar[type[BaseModel] | None]

    async def inject(self, backend: Backend, chaos: Obj) -> Obj: ...

    async def recover(self, backend: Backend, chaos: Obj, record: Obj) -> None: ...

    def observable(self, backend: Backend, chaos: Obj, record: Obj) -> tuple[bool, str]: ...

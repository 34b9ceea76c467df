"""The objects a mutating command acts on: named, or chosen by `-l` or `--all`."""

from __future__ import annotations

from collections.abc import Sequence

from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.context import CommandContext
from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import name_of
from remedlab.remediate.kubectl.resource_args import parse_resource_args

NO_RESOURCES_MESSAGE = (
    "You must provide one or more resources by argument or filename.\n"
    "Example resource specifications include:\n"
    "   '-f rsrc.yaml'\n"
    "   '--filename=rsrc.json'\n"
    "   '<resource> <name>'\n"
    "   '<resource>'"
)


def object_targets(
    ctx: CommandContext,
    positionals: Sequence[str],
    *,
    selector: str | None = None,
    select_all: bool = False,
    verb: str = "apply",
) -> list[tuple[KindInfo, str]]:
    requests = parse_resource_args(positionals, allow_all=False)
    if not requests:
        raise CommandError(NO_RESOURCES_MESSAGE)
    targets: list[tuple[KindInfo, str]] = []
    for request in requests:
        if request.names:
            if selector:
                raise CommandError("name cannot be provided when a selector is specified")
            targets += [(request.info, name) for name in request.names]
        elif selector or select_all:
            found = ctx.client.list_objects(request.info, ctx.namespace, label_selector=selector)
            targets += [(request.info, name_of(obj)) for obj in found]
        else:
            raise CommandError("resource(s) were provided, but no name was specified")
    if not targets:
        raise CommandError(f"no objects passed to {verb}")
    return targets

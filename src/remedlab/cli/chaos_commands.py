"""`remedlab inject` and `remedlab chaos list|get|delete|faults`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from remedlab.cli.output import fail, plain_table, print_plain
from remedlab.cli.server_client import ServerClient, ServerError

console = Console()
chaos_app = typer.Typer(help="List, inspect and stop injected faults.", no_args_is_help=True)


def _client() -> ServerClient:
    return ServerClient(timeout=90)


def register(app: typer.Typer) -> None:
    @app.command()
    def inject(
        fault: str | None = typer.Argument(None, help="Fault type (see `remedlab chaos faults`)."),
        target: str | None = typer.Option(None, "--target", "-t", help="The deployment or service to hit."),
        namespace: str = typer.Option("default", "-n", "--namespace"),
        overrides: list[str] = typer.Option([], "--set", help="Override a spec field: key=value (repeatable)."),
        file: Path | None = typer.Option(None, "-f", "--file", help="A chaos resource (YAML) to create instead."),
        seed: int | None = typer.Option(None, help="Seed for the choice of pods."),
        output: str = typer.Option("name", "-o", "--output", help="name | yaml | json"),
    ) -> None:
        """Inject a fault; prints the chaos resource's name."""
        body: dict[str, Any] = {"namespace": namespace, "set": overrides, "seed": seed}
        if file is not None:
            try:
                docs = [d for d in yaml.safe_load_all(file.read_text()) if d]
            except (OSError, yaml.YAMLError) as exc:
                raise fail(f"cannot read {file}: {exc}") from None
            if len(docs) != 1 or not isinstance(docs[0], dict):
                raise fail(f"{file} must hold exactly one chaos resource")
            body["resource"] = docs[0]
            if overrides:
                raise fail("--set works with a fault type, not with -f")
        else:
            if not fault or not target:
                raise fail("give a fault type and --target, or -f FILE")
            body["fault"] = fault
            body["target"] = target
        try:
            created = _client().request("POST", "/v1/chaos", json=body)
        except ServerError as exc:
            raise fail(str(exc)) from None
        failed = [c for c in (created.get("status") or {}).get("conditions") or [] if c.get("type") == "Failed"]
        if failed:
            raise fail(f"{created['kind']} {created['metadata']['name']} failed: {failed[0].get('message')}")
        _print(created, output)

    @chaos_app.command("list")
    def list_chaos(
        namespace: str | None = typer.Option(None, "-n", "--namespace"),
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces"),
        output: str = typer.Option("", "-o", "--output", help="name | wide | json (default: a table)."),
    ) -> None:
        """Every chaos resource, with its phase."""
        if output not in ("", "name", "wide", "json"):
            raise fail(f"unknown --output {output!r}: use name, wide or json")
        params = {} if all_namespaces or namespace is None else {"namespace": namespace}
        try:
            items = _client().request("GET", "/v1/chaos", params=params)["items"]
        except ServerError as exc:
            raise fail(str(exc)) from None
        if output == "json":
            console.print_json(json.dumps({"items": items}))
            return
        if output == "name":
            print_plain(
                "\n".join(f"{item['kind'].lower()}.chaos-mesh.org/{item['metadata']['name']}" for item in items)
            )
            return
        headers = ["NAMESPACE", "NAME", "KIND", "FAULT", "PHASE"] + (["PODS"] if output == "wide" else [])
        rows = []
        for item in items:
            experiment = (item.get("status") or {}).get("experiment") or {}
            records = experiment.get("containerRecords") or []
            phase = "Running" if experiment.get("desiredPhase") == "Run" else "Stopped" if experiment else "Pending"
            row = [
                item["metadata"]["namespace"],
                item["metadata"]["name"],
                item["kind"],
                (item["metadata"].get("labels") or {}).get("chaos.remedlab.io/fault", "-"),
                phase,
            ]
            rows.append(row + ([", ".join(r["id"] for r in records) or "-"] if output == "wide" else []))
        print_plain(plain_table(headers, rows) if rows else "No chaos resources found.")

    @chaos_app.command("get")
    def get_chaos(
        name: str,
        namespace: str = typer.Option("default", "-n", "--namespace"),
        output: str = typer.Option("yaml", "-o", "--output", help="yaml | json"),
    ) -> None:
        """One chaos resource, with whether its fault is in effect and observable."""
        try:
            obj = _client().request("GET", f"/v1/chaos/{namespace}/{name}")
        except ServerError as exc:
            raise fail(str(exc)) from None
        _print(obj, output)

    @chaos_app.command("delete")
    def delete_chaos(name: str, namespace: str = typer.Option("default", "-n", "--namespace")) -> None:
        """Stop a fault: recover what it changed, then remove the resource."""
        try:
            result = _client().request("DELETE", f"/v1/chaos/{namespace}/{name}")
        except ServerError as exc:
            raise fail(str(exc)) from None
        console.print(f"{result['kind'].lower()}.chaos-mesh.org/{name} deleted", highlight=False)

    @chaos_app.command("faults")
    def list_faults() -> None:
        """The fault catalog: names, kinds and default parameters."""
        from remedlab.chaos.catalog import load_catalog

        table = Table(title="remedlab fault catalog")
        for column in ("FAULT", "KIND", "CATEGORY", "DEFAULTS"):
            table.add_column(column)
        for fault in load_catalog().values():
            spec = {k: v for k, v in fault.spec.items() if k != "mode"}
            table.add_row(fault.name, fault.kind, fault.category, json.dumps(spec, separators=(",", ":")))
        console.print(table)

    app.add_typer(chaos_app, name="chaos")


def _print(obj: dict[str, Any], output: str) -> None:
    if output == "json":
        console.print_json(json.dumps(obj))
    elif output == "yaml":
        console.print(yaml.safe_dump(obj, sort_keys=False), highlight=False, end="")
    else:
        console.print(obj["metadata"]["name"], highlight=False)

"""`remedlab images | manifests`: remedlab's apps on a real cluster (docs/kubernetes.md)."""

from __future__ import annotations

import sys

import typer
import yaml

from remedlab.apps.catalog import UnknownApp, get_app, list_apps
from remedlab.apps.real_cluster.agent_access import agent_access
from remedlab.apps.real_cluster.image_references import RegistryError, images_to_build, in_registry, parse_registry
from remedlab.apps.real_cluster.manifests import render_app
from remedlab.apps.real_cluster.store_images import StoreImages, UnknownStoreTag
from remedlab.cli.output import fail

REGISTRY_HELP = "The registry the images are pushed to, as host[:port][/path] (e.g. ghcr.io/you, localhost:5000)."


def register(app: typer.Typer) -> None:
    @app.command("images")
    def images_command(registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP)) -> None:
        """List remedlab's container images to build and push, one reference a line (data stores
        are the official images); with --registry, as that registry names them."""
        try:
            prefix = parse_registry(registry) if registry is not None else None
        except RegistryError as exc:
            raise fail(str(exc)) from None
        for image in images_to_build(list_apps(), StoreImages.load()):
            sys.stdout.write(in_registry(image, prefix) + "\n")

    @app.command("manifests")
    def manifests_command(
        name: str = typer.Argument(..., help="The app (see `remedlab apps`)."),
        registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
        namespace: str | None = typer.Option(None, "-n", "--namespace", help="Namespace (default: the app's)."),
        with_agent_access: bool = typer.Option(
            False, "--agent-access", help="Add the agent's ServiceAccount, Role and RoleBinding."
        ),
    ) -> None:
        """Print an app's manifests for a real cluster, as YAML for `kubectl apply -f -`."""
        try:
            docs = render_app(name, registry, namespace)
            if with_agent_access:
                docs += agent_access(namespace or get_app(name).namespace)
        except UnknownApp as exc:
            raise fail(exc.message) from None
        except (RegistryError, UnknownStoreTag) as exc:
            raise fail(str(exc)) from None
        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))

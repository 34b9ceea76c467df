"""The thin services: the original's basic CRUD on one table (the service's ``resource`` in services.yaml).

``GET /api/v1/<prefix>/<resource>`` lists, ``GET .../<resource>/{id}`` reads,
``POST`` creates (an ``id`` is made when absent), ``PUT`` replaces and
``DELETE .../<resource>/{id}`` removes. Without a database (news,
route-plan, travel-plan, ticket-office, avatar), the rows live in the
process, as those services keep no table of their own in the original. A service that consumes a
queue (services.yaml's ``consumes``) saves each message as a row.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from remedlab.apps.train_ticket.service_base import Context, Program, Refused, Route, ServiceSpec, body_of, ok


def program(spec: ServiceSpec) -> Program:
    table = spec.short.replace("-", "_")
    base = f"/api/v1/{spec.prefixes[0]}/{spec.resource}"
    memory: dict[str, dict[str, Any]] = {}

    async def rows(ctx: Context) -> list[dict[str, Any]]:
        return await ctx.db.all(table) if ctx.store else list(memory.values())

    async def list_all(ctx: Context, request: web.Request) -> Any:
        return ok(await rows(ctx))

    async def read(ctx: Context, request: web.Request) -> Any:
        doc_id = request.match_info["id"]
        found = await ctx.db.get(table, doc_id) if ctx.store else memory.get(doc_id)
        if found is None:
            raise Refused(f"no {spec.resource} with id {doc_id}")
        return ok(found)

    async def write(ctx: Context, request: web.Request) -> Any:
        doc = await body_of(request)
        doc["id"] = str(doc.get("id") or uuid.uuid4())
        if ctx.store:
            await ctx.db.put(table, doc)
        else:
            memory[doc["id"]] = doc
        return ok(doc)

    async def remove(ctx: Context, request: web.Request) -> Any:
        doc_id = request.match_info["id"]
        if ctx.store:
            await ctx.db.delete(table, doc_id)
        else:
            memory.pop(doc_id, None)
        return ok(doc_id, "Delete success")

    async def receive(ctx: Context, message: dict[str, Any]) -> None:
        """A row from the queue the service consumes, as the original's listener saves it."""
        message["id"] = str(message.get("id") or uuid.uuid4())
        await ctx.db.put(table, message)
        if ctx.log is not None:
            ctx.log.info(f"received from {spec.consumes}: {message['id']}", orderId=str(message.get("orderId", "")))

    return Program(
        consumers={spec.consumes: receive} if spec.consumes else {},
        routes=[
            Route("GET", base, list_all),
            Route("GET", base + "/{id}", read),
            Route("POST", base, write),
            Route("PUT", base, write),
            Route("DELETE", base + "/{id}", remove),
        ],
        tables={table: []} if spec.mysql else {},
    )

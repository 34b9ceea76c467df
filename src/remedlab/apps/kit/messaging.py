"""Messages through an AMQP broker (RabbitMQ): publish JSON to a durable queue, consume from one.

A publish is a PRODUCER span whose context rides in the message's ``traceparent`` header, and a
consumer handles each message inside a CONSUMER span continuing it, so a trace crosses the queue.
The connection is made at first use and made again after the broker goes away; a consumer keeps
trying to attach until its service stops. Failures to publish raise :class:`BrokerError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection

from remedlab.apps.kit.structured_log import Logger
from remedlab.apps.kit.tracing import SpanKind, parse_traceparent, start_span, use_span

Consumer = Callable[[dict[str, Any]], Awaitable[None]]
RETRY_S = 1.0


class BrokerError(Exception):
    """The broker could not be reached or refused a message."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    user: str = "guest"
    password: str = "guest"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BrokerAddress:
        """RABBITMQ_HOST / RABBITMQ_PORT (the original's rabbitmq ConfigMap), default rabbitmq:5672."""
        raw_port = env.get("RABBITMQ_PORT", "5672")
        port = int(raw_port) if raw_port.isdigit() else 5672  # a Service link (tcp://...) is no setting
        return cls(
            env.get("RABBITMQ_HOST", "rabbitmq"),
            port,
            env.get("RABBITMQ_USER", "guest"),
            env.get("RABBITMQ_PASSWORD", "guest"),
        )

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{self.host}:{self.port}/"


class Broker:
    def __init__(self, address: BrokerAddress, log: Logger, timeout: float = 3.0) -> None:
        self.address = address
        self.log = log
        self.timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._lock = asyncio.Lock()
        self._consumers: list[asyncio.Task[None]] = []
        self._declared: set[str] = set()

    async def _open(self) -> AbstractRobustChannel:
        async with self._lock:
            if self._channel is not None and not self._channel.is_closed:
                return self._channel
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect_robust(self.address.url, timeout=self.timeout)
            self._channel = await self._connection.channel()
            self._declared.clear()
            assert self._channel is not None
            return self._channel

    async def _queue(self, channel: AbstractRobustChannel, name: str) -> None:
        if name not in self._declared:
            await channel.declare_queue(name, durable=True)
            self._declared.add(name)

    async def publish(self, queue: str, body: Mapping[str, Any]) -> None:
        """Send ``body`` as JSON to ``queue`` (declared durable), as a PRODUCER span."""
        opened = start_span(
            f"{queue} publish",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "rabbitmq", "messaging.destination.name": queue},
        )
        try:
            with use_span(opened):
                channel = await asyncio.wait_for(self._open(), self.timeout)
                await self._queue(channel, queue)
                message = aio_pika.Message(
                    json.dumps(body).encode(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    headers={"traceparent": opened.context.header()},
                )
                await asyncio.wait_for(channel.default_exchange.publish(message, routing_key=queue), self.timeout)
        except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as exc:
            opened.record_exception(exc)
            raise BrokerError(f"rabbitmq {self.address.host}:{self.address.port}: {exc or type(exc).__name__}") from exc
        finally:
            opened.end()

    def consume(self, queue: str, handler: Consumer) -> None:
        """Handle each message of ``queue`` (acknowledged once handled) until :meth:`close`."""
        self._consumers.append(asyncio.create_task(self._consume(queue, handler)))

    async def _consume(self, queue: str, handler: Consumer) -> None:
        while True:
            try:
                channel = await asyncio.wait_for(self._open(), self.timeout)
                declared = await channel.declare_queue(queue, durable=True)
                self.log.info(f"consuming {queue}")
                async with declared.iterator() as messages:
                    async for message in messages:
                        await self._handle(queue, message, handler)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as exc:
                self.log.warning(f"cannot consume {queue} from rabbitmq: {exc or type(exc).__name__}")
                await asyncio.sleep(RETRY_S)

    async def _handle(self, queue: str, message: AbstractIncomingMessage, handler: Consumer) -> None:
        headers = message.headers or {}
        raw_parent = headers.get("traceparent")
        parent = parse_traceparent(raw_parent if isinstance(raw_parent, str) else None)
        opened = start_span(
            f"{queue} process",
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "rabbitmq", "messaging.destination.name": queue},
            parent=parent,
        )
        async with message.process(requeue=False):
            try:
                with use_span(opened):
                    decoded = json.loads(message.body)
                    if not isinstance(decoded, dict):
                        raise ValueError("the message is not a JSON object")
                    await handler(decoded)
            except Exception as exc:  # a bad message is logged and dropped, as a listener's failure
                opened.record_exception(exc)
                self.log.error(f"a message of {queue} failed: {exc}", exc=exc)
            finally:
                opened.end()

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        for task in self._consumers:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._consumers.clear()
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()

"""A server in the same process as the SDK's client (tests, embedding): the pair of
memory streams `mcp.Client` takes as a transport, with a protocol Session on the far
end. Only this module imports the SDK, and only when a client connects in process."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from orchestrator.mcp.protocol import Session, encode

if TYPE_CHECKING:
    from orchestrator.mcp.server import OrchServer


@asynccontextmanager
async def connect(server: OrchServer) -> AsyncIterator[tuple[Any, Any]]:
    import mcp.types as types
    from mcp.shared.message import SessionMessage

    to_server, from_client = anyio.create_memory_object_stream[Any](math.inf)
    to_client, from_server = anyio.create_memory_object_stream[Any](math.inf)
    loop = asyncio.get_running_loop()

    def send(message: dict[str, Any]) -> None:  # from any thread, as the stdio loop would
        parsed = types.jsonrpc_message_adapter.validate_json(encode(message), by_name=False)
        loop.call_soon_threadsafe(to_client.send_nowait, SessionMessage(parsed))

    session = Session(server, send)

    async def pump() -> None:
        async for item in from_client:
            if not isinstance(item, Exception):
                wire = item.message.model_dump_json(by_alias=True, exclude_unset=True)
                session.receive(json.loads(wire))

    async with anyio.create_task_group() as group:
        group.start_soon(pump)
        try:
            yield from_server, to_server
        finally:
            await anyio.to_thread.run_sync(session.close)
            server.subscriptions.close()
            group.cancel_scope.cancel()

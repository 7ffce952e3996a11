"""Shared helpers of the Python tests: the server under test and waiting for events.

`cargo xtask test` (tier "ffi") starts a chinwag-server and sets CHINWAG_SERVER to its HTTP base,
and puts the generated `chinwag` module (with libchinwag_ffi.so next to it) on PYTHONPATH.
"""

import asyncio
import gc
import os
import uuid

import chinwag

SERVER = os.environ.get("CHINWAG_SERVER", "http://127.0.0.1:8282")
APP_ID = os.environ.get("CHINWAG_APP_ID", "chinwag-local")
APP_KEY = os.environ.get("CHINWAG_APP_KEY", "chinwag-local-key")
EVENT_WAIT = 10.0


def realtime(**options) -> chinwag.Realtime:
    return chinwag.Realtime(
        chinwag.RealtimeOptions(app_id=APP_ID, app_key=APP_KEY, server=SERVER, **options)
    )


def unique(name: str) -> str:
    """A client id no other test (or earlier run against the same server) uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def expect(source, kind, what: str = "", where=lambda event: True, log=None):
    """Pulls events from `source` (a Client or a Conversation) until one of class `kind` satisfies
    `where`; fails after EVENT_WAIT seconds without one."""
    while True:
        try:
            event = await asyncio.wait_for(source.next_event(), EVENT_WAIT)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {kind.__name__} {what} within {EVENT_WAIT}s") from None
        if event is None:
            raise AssertionError(f"the event stream ended before {kind.__name__} {what}")
        if log is not None:
            log.append(event)
        if isinstance(event, kind) and where(event):
            return event


async def quiesce():
    """Releases what the test dropped and lets the runtimes' threads finish their work, so that the
    leak check measures settled memory. (Exiting without it is safe: the module stops the runtime
    threads from calling into Python before the interpreter finalizes; see test_exit.py.)
    """
    gc.collect()
    await asyncio.sleep(0.1)

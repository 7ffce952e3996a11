"""Leak check: creating and closing 1,000 clients from Python leaves memory flat.

Each round makes a fresh Realtime (so its own tokio runtime and connection), signs a client in,
pulls nothing from it, closes it and releases everything. After a warm-up (allocator arenas, the
module's one-time state), resident memory may not grow by more than LEAK_BUDGET_MB over 1,000 rounds.
"""

import asyncio
import gc
import os
import time
import unittest

import chinwag
from support import quiesce, realtime, unique

ROUNDS = int(os.environ.get("CHINWAG_LEAK_ROUNDS", "1000"))
WARM_UP = 200
LEAK_BUDGET_MB = float(os.environ.get("CHINWAG_LEAK_BUDGET_MB", "8"))


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def round_trip(prefix: str, i: int) -> None:
    rt = realtime()
    client = await rt.create_im_client(f"{prefix}-{i}")
    conversation = client.conversation("000000000000000000000000")
    await client.close()
    del conversation, client, rt


async def settle() -> float:
    gc.collect()
    # Runtimes shut down in the background: give their threads a moment to exit.
    await asyncio.sleep(0.5)
    gc.collect()
    return rss_mb()


class Leak(unittest.IsolatedAsyncioTestCase):
    async def test_creating_and_closing_1000_clients_leaves_memory_flat(self):
        prefix = unique("Leak")
        for i in range(WARM_UP):
            await round_trip(prefix + "w", i)
        before = await settle()
        started = time.monotonic()
        for i in range(ROUNDS):
            await round_trip(prefix, i)
        took = time.monotonic() - started
        after = await settle()
        print(
            f"\nleak check: {ROUNDS} clients in {took:.1f}s, RSS {before:.1f} MB -> {after:.1f} MB "
            f"({after - before:+.1f} MB, budget {LEAK_BUDGET_MB} MB)"
        )
        await quiesce()
        self.assertLess(after - before, LEAK_BUDGET_MB)


if __name__ == "__main__":
    unittest.main()

"""A program may exit right after a chinwag call, without closing or waiting.

A runtime thread that is still waking the program's coroutine when the interpreter finalizes used to
abort the process ("FATAL: exception not rethrown"); the module now stops those threads first (see
bindings/ffi/src/exit.rs). The race is timing-dependent, so the program runs many times.
"""

import os
import subprocess
import sys
import unittest

from support import APP_ID, APP_KEY, SERVER, unique

RUNS = 30

PROGRAM = """
import asyncio, sys, chinwag

async def main(server, app_id, app_key, me):
    realtime = chinwag.Realtime(chinwag.RealtimeOptions(app_id=app_id, app_key=app_key, server=server))
    client = await realtime.create_im_client(me)
    conversation = await client.create_conversation(
        chinwag.CreateConversationOptions(members=["Jerry"], name="exit test"))
    await conversation.send("bye")

asyncio.run(main(*sys.argv[1:]))
"""


class ExitRightAfterACall(unittest.TestCase):
    def test_a_program_that_exits_right_after_a_call_never_aborts(self):
        failures = []
        for run in range(RUNS):
            done = subprocess.run(
                [sys.executable, "-c", PROGRAM, SERVER, APP_ID, APP_KEY, unique("Exit")],
                env=os.environ,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                failures.append((run, done.returncode, done.stderr.strip()[-300:]))
        self.assertEqual(failures, [], f"{len(failures)} of {RUNS} runs failed")


if __name__ == "__main__":
    unittest.main()

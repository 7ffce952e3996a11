"""Everyday features through the generated Python module: history, unread counts and read, receipts,
recall and edit, attributes, typed and binary messages, per-conversation events, errors, bounded
event buffers and close."""

import asyncio
import gc
import json
import os
import unittest

import chinwag
from support import expect, quiesce, realtime, unique

Event = chinwag.Event


class Everyday(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.rt = realtime()
        self.tom_id, self.jerry_id = unique("Tom"), unique("Jerry")
        self.tom = await self.rt.create_im_client(self.tom_id)
        self.jerry = await self.rt.create_im_client(self.jerry_id)
        self.conversation = await self.tom.create_conversation(
            chinwag.CreateConversationOptions(
                members=[self.jerry_id], name="everyday", attributes_json='{"topic": "cheese"}'
            )
        )
        await expect(self.jerry, Event.INVITED)

    async def asyncTearDown(self):
        await self.rt.close()
        del self.rt, self.tom, self.jerry, self.conversation
        await quiesce()

    async def test_history_pages_and_query(self):
        sent = [await self.conversation.send(f"message {i}") for i in range(5)]
        pages = self.conversation.history(2)
        seen = []
        while (page := await pages.next_page()) is not None:
            self.assertLessEqual(len(page), 2)
            seen = [m.text for m in page] + seen
        self.assertEqual(seen, [m.text for m in sent])
        newest = await self.conversation.query_messages(chinwag.HistoryQuery(limit=3))
        self.assertEqual([m.text for m in newest], ["message 2", "message 3", "message 4"])
        forward = await self.conversation.query_messages(chinwag.HistoryQuery(limit=2, forward=True))
        self.assertEqual([m.id for m in forward], [sent[0].id, sent[1].id])

    async def test_unread_and_read(self):
        for text in ("one", "two", "three"):
            await self.conversation.send(text)
        for _ in range(3):
            await expect(self.jerry, Event.MESSAGE)
        mine = self.jerry.conversation(self.conversation.id())
        self.assertEqual(mine.unread_count(), 3)
        await mine.read()
        self.assertEqual(mine.unread_count(), 0)
        self.assertEqual(mine.info().unread, 0)

    async def test_receipts(self):
        sent = await self.conversation.send_message(
            chinwag.MessageBody.TEXT(text="did you read it?"), chinwag.SendOptions(receipt=True)
        )
        await expect(self.jerry, Event.MESSAGE, "with receipt", lambda e: e.message.id == sent.id)
        await self.jerry.conversation(self.conversation.id()).read()
        status = await expect(
            self.tom, Event.MESSAGE_STATUS_CHANGED, "read", lambda e: e.status == chinwag.MessageStatus.READ
        )
        self.assertEqual(status.message_id, sent.id)
        timestamps = await self.conversation.fetch_receipt_timestamps()
        self.assertIsNotNone(timestamps.last_read_at)
        receipts = await self.conversation.member_receipts()
        self.assertIn(self.jerry_id, [r.client for r in receipts])

    async def test_edit_and_recall(self):
        sent = await self.conversation.send("typo")
        await expect(self.jerry, Event.MESSAGE, "typo")
        edited = await self.conversation.edit(sent, chinwag.MessageBody.TEXT(text="fixed"))
        self.assertEqual(edited.text, "fixed")
        updated = await expect(self.jerry, Event.MESSAGE_UPDATED)
        self.assertEqual((updated.message.id, updated.message.text), (sent.id, "fixed"))
        recalled = await self.conversation.recall(edited)
        self.assertEqual(recalled.kind, -127)
        event = await expect(self.jerry, Event.MESSAGE_RECALLED)
        self.assertEqual(event.message.id, sent.id)

    async def test_typed_binary_and_mentions(self):
        location = '{"_lctype":-5,"_lctext":"Jinao","_lcloc":{"latitude":39.97,"longitude":116.37}}'
        await self.conversation.send_message(
            chinwag.MessageBody.TYPED(json=location), chinwag.SendOptions(mentions=[self.jerry_id])
        )
        typed = (await expect(self.jerry, Event.MESSAGE)).message
        self.assertEqual((typed.kind, typed.text, typed.payload), (-5, "Jinao", location))
        self.assertTrue(typed.mentioned)
        await self.conversation.send_message(
            chinwag.MessageBody.BINARY(bytes=b"\x00\x01\xff"), chinwag.SendOptions()
        )
        binary = (await expect(self.jerry, Event.MESSAGE)).message
        self.assertEqual((binary.binary, binary.text, binary.kind), (b"\x00\x01\xff", None, None))

    async def test_conversation_events_attributes_and_members(self):
        mine = self.jerry.conversation(self.conversation.id())
        await self.conversation.update('{"topic": "mice"}')
        info = await expect(mine, Event.INFO_UPDATED)
        self.assertEqual(json.loads(info.attributes_json), {"topic": "mice"})
        self.assertEqual(info.updated_by, self.tom_id)
        await self.conversation.send("to the conversation")
        message = await expect(mine, Event.MESSAGE)
        self.assertEqual(message.message.conversation, self.conversation.id())
        self.assertEqual(await self.conversation.count_members(), 2)
        online = await self.tom.query_online([self.jerry_id, unique("Nobody")])
        self.assertEqual(online, [self.jerry_id])
        self.assertIsNotNone(await self.tom.session_token())
        self.assertIn(self.conversation.id(), [c.id() for c in self.tom.conversations()])
        found = await self.tom.query().equal_to("name", '"everyday"').contains_members([self.jerry_id]).find()
        self.assertEqual([c.id() for c in found], [self.conversation.id()])

    async def test_session_token_tag_conflict_and_offline(self):
        token = await self.tom.session_token()
        other = realtime()
        try:
            again = await other.create_im_client_with(
                self.tom_id, chinwag.ClientOptions(session_token=token)
            )
            self.assertEqual(again.id(), self.tom_id)

            tagged = await self.rt.create_im_client_with(unique("Tagged"), chinwag.ClientOptions(tag="phone"))
            await other.create_im_client_with(tagged.id(), chinwag.ClientOptions(tag="phone"))
            conflict = await expect(tagged, Event.CONFLICT)
            self.assertTrue(conflict.reason)
            # The conflict closed it already; closing it again tells so. (Realtime.close() would
            # report the same error for it, so it is signed out here.)
            with self.assertRaises(chinwag.ChinwagError.Local) as caught:
                await tagged.close()
            self.assertEqual(caught.exception.name, "NO_SUCH_CLIENT")

            self.rt.set_online(False)
            await expect(self.jerry, Event.OFFLINE)
            self.rt.set_online(True)
            await expect(self.jerry, Event.RECONNECTED)
            await self.conversation.send("back online")
        finally:
            await other.close()

    async def test_errors_carry_code_name_and_detail(self):
        with self.assertRaises(chinwag.ChinwagError.Server) as caught:
            await self.tom.get_conversation("000000000000000000000000")
        self.assertEqual(caught.exception.code, 4401)
        self.assertTrue(caught.exception.name)
        self.assertIsInstance(caught.exception, chinwag.ChinwagError)
        with self.assertRaises(chinwag.ChinwagError.Local) as caught:
            await self.conversation.update("not json")
        self.assertEqual(caught.exception.name, "INVALID_ARGUMENT")
        with self.assertRaises(chinwag.ChinwagError.Local) as caught:
            await self.rt.create_im_client(self.tom_id)
        self.assertEqual(caught.exception.name, "ALREADY_OPEN")

    async def test_a_sign_in_to_an_unreachable_server_fails_with_timeout(self):
        import socket

        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        unreachable = chinwag.Realtime(
            chinwag.RealtimeOptions(
                app_id="chinwag-local",
                app_key="k",
                rtm_servers=[f"ws://127.0.0.1:{port}/"],
                sign_in_timeout_ms=1000,
            )
        )
        started = asyncio.get_running_loop().time()
        with self.assertRaises(chinwag.ChinwagError.Local) as caught:
            await asyncio.wait_for(unreachable.create_im_client(unique("Nobody")), 10)
        self.assertEqual(caught.exception.name, "TIMEOUT")
        self.assertGreaterEqual(asyncio.get_running_loop().time() - started, 0.9)
        del unreachable

    async def test_a_client_that_stops_pulling_lags_instead_of_growing(self):
        rt = realtime(event_buffer=3)
        try:
            watcher = await rt.create_im_client(unique("Watcher"))
            conversation = await self.tom.create_conversation(
                chinwag.CreateConversationOptions(members=[watcher.id()], unique=False)
            )
            for i in range(10):
                await conversation.send(f"flood {i}")
            await asyncio.sleep(0.5)
            first = await watcher.next_event()
            self.assertIsInstance(first, Event.LAGGED)
            self.assertGreater(first.missed, 0)
            # What is left is at most the buffer's worth: the newest events.
            rest = []
            while True:
                try:
                    rest.append(await asyncio.wait_for(watcher.next_event(), 0.3))
                except asyncio.TimeoutError:
                    break
            self.assertLessEqual(len(rest), 3)
            self.assertNotIn("flood 0", [e.message.text for e in rest if isinstance(e, Event.MESSAGE)])
        finally:
            await rt.close()

    async def test_close_ends_the_pulls_and_released_objects_stop(self):
        pending = asyncio.ensure_future(self.jerry.next_event())
        await asyncio.sleep(0.1)
        conversation = self.jerry.conversation(self.conversation.id())
        await self.jerry.close()
        while (await asyncio.wait_for(pending, 5)) is not None:
            pending = asyncio.ensure_future(self.jerry.next_event())
        self.assertIsNone(await asyncio.wait_for(conversation.next_event(), 5))
        with self.assertRaises(chinwag.ChinwagError):
            await conversation.send("after close")

    async def test_releasing_every_object_without_close_stops_the_runtime(self):
        def threads():
            return len(os.listdir("/proc/self/task"))

        before = threads()
        rt = realtime()
        client = await rt.create_im_client(unique("Dropped"))
        conversation = client.conversation(self.conversation.id())
        pending = asyncio.ensure_future(conversation.next_event())
        await asyncio.sleep(0.1)
        self.assertGreater(threads(), before)
        pending.cancel()
        del pending, conversation, client, rt
        gc.collect()
        for _ in range(50):
            if threads() <= before:
                break
            await asyncio.sleep(0.1)
        self.assertLessEqual(threads(), before, "the runtime's threads outlived every object")


if __name__ == "__main__":
    unittest.main()

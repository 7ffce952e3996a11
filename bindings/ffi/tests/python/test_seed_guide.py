"""The seed guide (Real-time Message Guide) through the generated Python module: Tom, Jerry and Mary
sign in, create "Tom & Jerry", send "Hi, Jerry.", query, add and remove Mary, quit and join, and
distinct conversations, checking each event of the guide's table."""

import asyncio
import unittest

import chinwag
from support import expect, quiesce, realtime, unique

Event = chinwag.Event


class SeedGuide(unittest.IsolatedAsyncioTestCase):
    async def test_seed_guide(self):
        rt = realtime()
        tom_id, jerry_id, mary_id = unique("Tom"), unique("Jerry"), unique("Mary")

        # Connecting: each with a unique id.
        tom = await rt.create_im_client(tom_id)
        jerry = await rt.create_im_client(jerry_id)
        mary = await rt.create_im_client(mary_id)
        self.assertEqual(tom.id(), tom_id)
        everyone = [tom, jerry, mary]

        # Create a conversation containing Tom and Jerry and send a text message.
        conversation = await tom.create_conversation(
            chinwag.CreateConversationOptions(members=[jerry_id], name="Tom & Jerry")
        )
        self.assertEqual(conversation.name(), "Tom & Jerry")
        self.assertEqual(conversation.members(), sorted([tom_id, jerry_id]))
        await expect(tom, Event.MEMBERS_JOINED, "at creation")
        invited = await expect(jerry, Event.INVITED, "at creation")
        self.assertEqual(invited.invited_by, tom_id)
        self.assertEqual(invited.conversation, conversation.id())

        sent = await conversation.send("Hi, Jerry.")
        self.assertIsNotNone(sent.id)
        self.assertGreater(sent.timestamp, 0)
        self.assertEqual(sent.status, chinwag.MessageStatus.SENT)
        received = await expect(jerry, Event.MESSAGE, "Hi, Jerry.")
        self.assertEqual(received.message.text, "Hi, Jerry.")
        self.assertEqual(received.message.from_client, tom_id)
        self.assertEqual(received.message.kind, -1)
        self.assertEqual(received.message.id, sent.id)

        # Fetch an existing conversation.
        found = await tom.query().contains_members([jerry_id]).find()
        self.assertIn(conversation.id(), [c.id() for c in found])
        mine = next(c for c in found if c.id() == conversation.id())
        self.assertEqual(mine.last_message_at(), sent.timestamp)
        self.assertEqual(mine.members(), sorted([tom_id, jerry_id]))

        # Add more participants: tom MEMBERS_JOINED, jerry MEMBERS_JOINED, mary INVITED.
        added = await conversation.add([mary_id])
        self.assertEqual(added.succeeded, [mary_id])
        self.assertEqual(added.failed, [])
        self.assertIn(mary_id, conversation.members())
        for client in (tom, jerry):
            joined = await expect(client, Event.MEMBERS_JOINED, "after add")
            self.assertEqual(joined.members, [mary_id])
            self.assertEqual(joined.invited_by, tom_id)
        await expect(mary, Event.INVITED, "after add")

        # Removing participants: tom MEMBERS_LEFT, jerry MEMBERS_LEFT, mary KICKED.
        fetched = await tom.get_conversation(conversation.id())
        await fetched.remove([mary_id])
        self.assertNotIn(mary_id, conversation.members())
        for client in (tom, jerry):
            left = await expect(client, Event.MEMBERS_LEFT, "after remove")
            self.assertEqual(left.members, [mary_id])
            self.assertEqual(left.kicked_by, tom_id)
        kicked = await expect(mary, Event.KICKED, "after remove")
        self.assertEqual(kicked.kicked_by, tom_id)

        # Quit and join: Mary rejoins, then all three see Tom quit and join.
        await mary.conversation(conversation.id()).join()
        for client in everyone:
            await expect(client, Event.MEMBERS_JOINED, "Mary joins", lambda e: e.members == [mary_id])
        await conversation.quit()
        self.assertNotIn(tom_id, conversation.members())
        for client in everyone:
            await expect(client, Event.MEMBERS_LEFT, "Tom quits", lambda e: e.members == [tom_id])
        await conversation.join()
        self.assertIn(tom_id, conversation.members())
        for client in everyone:
            await expect(client, Event.MEMBERS_JOINED, "Tom joins", lambda e: e.members == [tom_id])

        # Distinct conversations: unique=False always creates a new one; unique (default) reuses.
        party = chinwag.CreateConversationOptions(
            members=[tom_id, jerry_id], name="Party on weekends", unique=False
        )
        first = await mary.create_conversation(party)
        second = await mary.create_conversation(party)
        self.assertNotEqual(first.id(), second.id())
        marys = await mary.create_conversation(chinwag.CreateConversationOptions(members=[tom_id, jerry_id]))
        toms = await tom.create_conversation(chinwag.CreateConversationOptions(members=[mary_id, jerry_id]))
        self.assertEqual(marys.id(), toms.id())

        # Everyone signs out; the pulls then end.
        await rt.close()
        for source in [*everyone, conversation, fetched]:
            while (await asyncio.wait_for(source.next_event(), 5)) is not None:
                pass
            self.assertIsNone(await source.next_event())
        del rt, tom, jerry, mary, everyone, conversation, fetched, found, mine
        await quiesce()


if __name__ == "__main__":
    unittest.main()

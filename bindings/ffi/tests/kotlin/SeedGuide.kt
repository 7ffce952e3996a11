// The seed guide (Real-time Message Guide) through the generated Kotlin bindings, on the JVM with JNA:
// Tom, Jerry and Mary sign in, create "Tom & Jerry", send "Hi, Jerry.", query, add and remove Mary,
// quit and join, and distinct conversations, checking each event of the guide's table.
//
// `cargo xtask test` (tier "ffi") compiles it with the generated chinwag.kt and runs it against a fresh
// chinwag-server whose HTTP base is in CHINWAG_SERVER.

import chat.chinwag.*
import java.util.UUID
import kotlin.reflect.KClass
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

const val EVENT_WAIT_MS = 10_000L

fun unique(name: String) = "$name-${UUID.randomUUID().toString().take(8)}"

fun check(condition: Boolean, what: String) {
    if (!condition) throw AssertionError(what)
}

/** Pulls `client`'s events until one of class `kind` matching `where` arrives. */
suspend fun <T : Event> Client.expect(kind: KClass<T>, where: (T) -> Boolean = { true }): T {
    while (true) {
        val event = withTimeout(EVENT_WAIT_MS) { nextEvent() }
            ?: throw AssertionError("${id()}'s events ended before ${kind.simpleName}")
        println("  [${id()}] $event")
        @Suppress("UNCHECKED_CAST")
        if (kind.isInstance(event) && where(event as T)) return event
    }
}

fun main() = runBlocking {
    val server = System.getenv("CHINWAG_SERVER") ?: "http://127.0.0.1:8282"
    val realtime = Realtime(RealtimeOptions(appId = "chinwag-local", appKey = "chinwag-local-key", server = server))
    val (tomId, jerryId, maryId) = listOf(unique("Tom"), unique("Jerry"), unique("Mary"))

    // Connecting: each with a unique id.
    val tom = realtime.createImClient(tomId)
    val jerry = realtime.createImClient(jerryId)
    val mary = realtime.createImClient(maryId)
    val everyone = listOf(tom, jerry, mary)

    // Create a conversation containing Tom and Jerry, and send a text message.
    val conversation = tom.createConversation(CreateConversationOptions(members = listOf(jerryId), name = "Tom & Jerry"))
    check(conversation.members() == listOf(tomId, jerryId).sorted(), "members after create")
    tom.expect(Event.MembersJoined::class)
    val invited = jerry.expect(Event.Invited::class)
    check(invited.invitedBy == tomId, "Jerry was invited by Tom")

    val sent = conversation.send("Hi, Jerry.")
    check(sent.id != null && sent.timestamp > 0, "the message was acknowledged")
    val received = jerry.expect(Event.Message::class) { it.message.text == "Hi, Jerry." }
    check(received.message.fromClient == tomId, "the message is from Tom")
    println("Tom & Jerry message sent")

    // Fetch an existing conversation.
    val found = tom.query().containsMembers(listOf(jerryId)).find()
    check(found.any { it.id() == conversation.id() }, "the query finds Tom & Jerry")
    found.forEach { println("  ${it.lastMessageAt()} ${it.members()}") }

    // Add more participants.
    conversation.add(listOf(maryId))
    check(maryId in conversation.members(), "Mary was added")
    tom.expect(Event.MembersJoined::class) { it.members == listOf(maryId) }
    jerry.expect(Event.MembersJoined::class) { it.members == listOf(maryId) }
    mary.expect(Event.Invited::class)

    // Removing participants.
    tom.getConversation(conversation.id()).remove(listOf(maryId))
    check(maryId !in conversation.members(), "Mary was removed")
    tom.expect(Event.MembersLeft::class) { it.members == listOf(maryId) }
    jerry.expect(Event.MembersLeft::class) { it.members == listOf(maryId) }
    mary.expect(Event.Kicked::class) { it.kickedBy == tomId }

    // Quit and join: Mary rejoins, then all three see Tom quit and join.
    mary.conversation(conversation.id()).join()
    everyone.forEach { it.expect(Event.MembersJoined::class) { e -> e.members == listOf(maryId) } }
    conversation.quit()
    everyone.forEach { it.expect(Event.MembersLeft::class) { e -> e.members == listOf(tomId) } }
    conversation.join()
    everyone.forEach { it.expect(Event.MembersJoined::class) { e -> e.members == listOf(tomId) } }

    // Distinct conversations.
    val party = CreateConversationOptions(members = listOf(tomId, jerryId), name = "Party on weekends", unique = false)
    check(mary.createConversation(party).id() != mary.createConversation(party).id(), "unique = false creates new ones")
    val marys = mary.createConversation(CreateConversationOptions(members = listOf(tomId, jerryId)))
    val toms = tom.createConversation(CreateConversationOptions(members = listOf(maryId, jerryId)))
    check(marys.id() == toms.id(), "unique conversations are shared")

    // Errors carry the server's code and name.
    try {
        tom.getConversation("000000000000000000000000")
        throw AssertionError("getConversation of an unknown id succeeded")
    } catch (e: ChinwagException.Server) {
        check(e.code == 4401, "error code 4401, got ${e.code}")
        println("unknown conversation: ${e.code} ${e.name}")
    }

    // The conversation's own events: Tom sends, Jerry's handle on the conversation sees it.
    val jerrysView = jerry.conversation(conversation.id())
    conversation.send("Only in this conversation.")
    val own = withTimeout(EVENT_WAIT_MS) { jerrysView.nextEvent() }
    check(own is Event.Message && own.message.text == "Only in this conversation.", "conversation event, got $own")

    // Everyone signs out; the pulls then end (null), client and conversation alike.
    realtime.closeAll()
    everyone.forEach { client -> while (withTimeout(EVENT_WAIT_MS) { client.nextEvent() } != null) { } }
    while (withTimeout(EVENT_WAIT_MS) { jerrysView.nextEvent() } != null) { }
    jerrysView.close()
    everyone.forEach { it.close() }
    conversation.close()
    realtime.close()
    println("Kotlin seed guide passed")
}


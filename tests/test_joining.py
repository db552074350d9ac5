"""Which bubbles of an answer may travel joined in one message, and what that message carries."""

from __future__ import annotations

from bot.core.messages import Attachment, Button, Outbound
from bot.worker.joining import joinable, joinable_run, joined
from bot.worker.throttle import Throttle, telegram_throttle

GO = (Button("Continuar", "go"),)


def test_only_the_bots_plain_replies_are_joinable() -> None:
    assert joinable(Outbound("Listo"), "bot")
    assert not joinable(Outbound("Hola, soy Ana"), "staff")  # signed separately
    assert not joinable(Outbound("Recordatorio", kind="payment_reminder"), "system")  # WhatsApp may template it
    assert not joinable(Outbound("", kind="ack", control=(("callback_query_id", "1"),)), "bot")
    assert not joinable(Outbound("Tu acuse", attachments=(Attachment("document", "ref", "application/pdf"),)), "bot")
    assert not joinable(Outbound(""), "bot")


def test_a_run_ends_with_the_first_bubble_with_buttons_and_within_the_length_limit() -> None:
    assert joinable_run(Outbound("a"), [Outbound("b"), Outbound("c", GO), Outbound("d")], 4096) == 2
    assert joinable_run(Outbound("a", GO), [Outbound("b")], 4096) == 0  # buttons stay under their bubble
    assert joinable_run(Outbound("a" * 10), [Outbound("b" * 10), Outbound("c" * 10)], 25) == 1
    assert joinable_run(Outbound("a"), [], 4096) == 0
    # Two bubbles' worth: an answer of a long bubble and two short ones goes whole, not a third of it on its own.
    assert joinable_run(Outbound("a" * 476), [Outbound("b" * 289), Outbound("c" * 113, GO)]) == 2
    assert joinable_run(Outbound("a" * 600), [Outbound("b" * 600), Outbound("c" * 100)]) == 0


def test_the_joined_message_keeps_the_order_and_the_last_buttons() -> None:
    message = joined([Outbound("Listo ✅"), Outbound("¿Seguimos?", GO)])
    assert message.text == "Listo ✅\n\n¿Seguimos?" and message.buttons == GO and message.kind == "reply"


def test_chat_room_counts_the_whole_messages_a_chat_may_still_get_at_once() -> None:
    throttle = telegram_throttle()
    assert throttle.chat_room("c", 100.0) == 3  # a chat never sent to has its whole burst
    for moment in (100.0, 100.04, 100.08):  # paced overall at a little under 30/s
        assert throttle.reserve("c", moment) == 0
        throttle.finished("c", moment + 0.005)
    assert throttle.chat_room("c", 100.09) == 0
    assert throttle.chat_room("c", 102.1) == 2  # about one a second comes back
    throttle.rate_limited("c", 102.1, 5, whole_bot=False)
    assert throttle.chat_room("c", 103.0) == 0  # a 429 holds it
    assert Throttle(per_second=30).chat_room("c", 100.0) > 100  # no per-chat limit

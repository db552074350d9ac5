"""Joining an answer's bubbles into one message when a rate limit would make them trickle in.

An answer is often 2–3 bubbles. To a quiet chat they go as they are: the chat's burst covers them. But an
applicant who taps quickly has spent that burst, and Telegram then allows about one message a second per
chat (WhatsApp: Meta's pair limit, one every few seconds): the bubbles would arrive one by one, seconds
apart, and the next question last. Sent as one message (the texts a blank line apart, the last bubble's
buttons kept), the whole answer arrives at once for one message of the chat's limit.

The bot's overall rate (Telegram's 30 a second) does the same when many applicants answer at once: if other
replies have been waiting for it a while, each bubble sent apart would take a slot one of them needs, so
the answer goes joined even to a quiet chat.

A joined message is at most two bubbles' worth (`MAX_JOINED`, 1,200 characters: a screen or two on a phone, and
well within Telegram's 4,096 and Twilio's 1,600 with the numbered options). A long answer (the price, say: a
bubble of 480 characters and two short ones) then still goes as one message; with one bubble's 600, it went as
two, which under load is a second slot of the bot's rate for every applicant at that step. Only the bot's
plain replies are joined: never attachments, channel housekeeping, staff messages (they are signed separately)
or business messages (WhatsApp may send those as a template).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.messages import Outbound
from bot.dialog.turn import MAX_BUBBLE

SEPARATOR = "\n\n"
MOST_JOINED = 8  # bubbles looked at after the first: an answer is rarely more than 3
MAX_JOINED = 2 * MAX_BUBBLE  # characters in a joined message


def joinable(outbound: Outbound, author: str) -> bool:
    """Whether a queued bubble may be joined with its neighbours."""
    return (author == "bot" and outbound.kind == "reply" and bool(outbound.text) and not outbound.attachments
            and not outbound.control)


def joinable_run(first: Outbound, following: Sequence[Outbound], max_text: int = MAX_JOINED) -> int:
    """How many of `following` (all joinable, in order) can join `first` in one message of at most `max_text`.

    Buttons belong under the last bubble they came with, so a bubble with buttons ends the run.
    """
    if first.buttons:
        return 0
    length, count = len(first.text), 0
    for outbound in following:
        length += len(SEPARATOR) + len(outbound.text)
        if length > max_text:
            break
        count += 1
        if outbound.buttons:
            break
    return count


def joined(bubbles: Sequence[Outbound]) -> Outbound:
    """One message carrying every bubble's text, in order, and the last one's buttons."""
    return Outbound(SEPARATOR.join(bubble.text for bubble in bubbles), bubbles[-1].buttons)

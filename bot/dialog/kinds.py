"""What the bot answers to what is not typed text: voice notes, stickers, videos, locations and contact cards.

People answer with whatever their phone offers. None of it is a broken document: a voice note gets a warm
"I cannot listen to audio" with the question again in one line and a person on offer (staff can play it in
the inbox); a sticker, GIF or emoji a friendly line; a video a request for a photo; a reaction nothing.
Where it helps, it is used: a location at the address question is kept for staff (the written address is
still asked: there is no reverse geocoding here); a contact card at the phone question offers its number
for confirmation, and at a beneficiary question its name. Pure, like the rest of the dialog.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core.messages import Button, Inbound
from bot.core.text import normalise
from flows.rules.commands import BY_NAME
from flows.rules.matching import pick
from locales import N_, translate

if TYPE_CHECKING:
    from bot.dialog.turn import Turn

SUGGESTED = "_suggested"  # a value taken from a shared contact or place, waiting for a yes
YES, NO = "suggest:yes", "suggest:no"
_YES_NO = (("yes", "si", "sí", "ok", "correcto", "usar"), ("no", "otro", "otra"))

AUDIO = N_("Thanks for your message! I cannot listen to audio messages; could you write it to me? "
           "If you prefer, a person from our team can help you.")
STICKER = N_("😊 Thanks!")
STICKER_AT_UPLOAD = N_("Nice sticker 😊, but I need a photo or a PDF of the document.")
VIDEO = N_("I cannot watch videos; please send a photo instead.")
PLACE_KEPT = N_("Thanks, I saved your location for our team 📍. I still need your written address:")
PLACE_ELSEWHERE = N_("Thanks for your location 📍. Right now I need this:")
CONTACT_ELSEWHERE = N_("Thanks for the contact 👤. Right now I need this:")
# A step without a question whose question lives next door: a number shared at "Can we reach you at …?"
# answers "What is your phone number?".
ANSWERED_ELSEWHERE = {"confirm_phone": "ask_phone"}
UNSUPPORTED = N_("I can only read text, photos and PDF files. Please send one of those.")


def answer_kind(turn: Turn, inbound: Inbound) -> None:
    """Answer a message of one of `CONTENT_KINDS` (or one the bot cannot read) at the current step."""
    step = turn.step()
    field = step.question.field if step.question else None
    data = turn.conversation.data
    data.pop(SUGGESTED, None)
    kind = inbound.kind
    if kind == "reaction":  # an emoji on one of our messages: nothing to say
        return
    if kind == "audio":
        human = translate(turn.conversation.locale, BY_NAME["human"].title)
        turn.say(AUDIO, (Button(human, "cmd:human"),))
    elif kind == "sticker":
        turn.say(STICKER_AT_UPLOAD if step.upload else STICKER)
    elif kind == "video":
        turn.say(VIDEO)
    elif kind == "location" and inbound.location is not None:
        place = inbound.location
        if field != "address":
            turn.say(PLACE_ELSEWHERE)
        else:
            data["address_location"] = place.to_dict()
            if place.address:
                suggest(turn, place.address, N_("Is this your address? *%(value)s*"))
                return
            turn.say(PLACE_KEPT)
    elif kind == "contact" and inbound.contact is not None:
        card = inbound.contact
        answer_at = ANSWERED_ELSEWHERE.get(turn.conversation.state)
        if (field == "phone" or answer_at) and card.phone:
            suggest(turn, card.phone, N_("Shall I use this number? *%(value)s*"), answer_at)
            return
        if field == "beneficiaries" and card.name:
            data[SUGGESTED] = {"state": turn.conversation.state, "name": card.name}
            turn.say(N_("I have *%(name)s* from the contact. What is their relationship to you? For example: "
                        "wife, son, mother."), name=card.name)
            return
        turn.say(CONTACT_ELSEWHERE)
    else:
        turn.say(UNSUPPORTED)
        turn.reprompt()
        return
    turn.reprompt(short=True)


def suggest(turn: Turn, value: str, msgid: str, answer_at: str | None = None) -> None:
    """Offer `value` as the answer to the current question (or to `answer_at`'s): "yes" answers it, anything
    else is read as usual."""
    turn.conversation.data[SUGGESTED] = {"state": turn.conversation.state, "value": value, "answer_at": answer_at}
    locale = turn.conversation.locale
    turn.say(msgid, (Button(translate(locale, N_("Yes")), YES), Button(translate(locale, N_("No")), NO)),
             value=value)


def take_suggestion(turn: Turn, inbound: Inbound) -> Inbound | None:
    """The answer to a pending suggestion, as if typed; None when this turn is already answered here.

    Also answers a message made only of emoji ("❤️", "🙏"), which names no button, with a friendly line.
    """
    state = turn.conversation.state
    offered = turn.conversation.data.pop(SUGGESTED, None)
    if isinstance(offered, dict) and offered.get("state") == state:
        if "name" in offered:  # a beneficiary's name from a contact card: this is their relationship
            said = inbound.text.strip()
            if said and not inbound.payload and "," not in said and offered["name"].lower() not in said.lower():
                return replace(inbound, text=f"{offered['name']}, {said}")
            return inbound
        choice = 0 if inbound.payload == YES else 1 if inbound.payload == NO else \
            pick(inbound.text, _YES_NO, strict=True) if not inbound.payload else None
        if choice == 0:
            answer_at = str(offered.get("answer_at") or state)
            if answer_at != state:  # "use another number" without showing its question: the answer is here
                shown = len(turn.replies)
                turn.enter(answer_at)
                del turn.replies[shown:]
            return replace(inbound, text=str(offered.get("value", "")), payload=None)
        if choice == 1:
            turn.say(N_("All right. Please write it:"))
            turn.reprompt(short=True)
            return None
    if not inbound.payload and is_emoji_only(inbound.text):
        # A friendly line, yet counted as a miss: someone who answers only with emoji is offered a person.
        turn.miss(STICKER, {}, forgive=False)
        return None
    return inbound


def is_emoji_only(text: str) -> bool:
    """Only emoji ("❤️", "🙏🙂"), nothing a button or a question could read: a 👍 or 👎 normalises to yes or no,
    and punctuation alone ("???") is no emoji."""
    return not normalise(text) and any(unicodedata.category(ch) == "So" for ch in text)

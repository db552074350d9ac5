"""The work of one turn: understanding an answer, moving between steps, global commands, events.

A typed answer is read in this order: a button named beyond doubt (number, range, title, synonym), then what
the text means (`flows.rules.intents`: a FAQ, a command said in other words, the language), then a loosely
spelled button, and only then the question's parser, behind `screen_answer`, which refuses non-answers.

Kept apart from `Engine` so the engine stays shareable between threads: all mutable state of a turn
lives here and in the `Position`s it adds to the flows' shared machines, and dies with it. The machines
decide the moves and call back `entered` and `leave`. Pure, like the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.events import DialogEvent, SystemEvent
from bot.core.messages import Button, Inbound, Outbound
from bot.core.state import DialogState
from bot.core.text import normalise, split_text
from bot.dialog.machines import ARRIVE, PROCEED, Position
from flows.model import AssignDocument, Choice, Effect, Parsed, Step
from flows.rules.ages import birth_age
from flows.rules.commands import BY_NAME
from flows.rules.document_slots import LABELS as DOCUMENT_LABELS
from flows.rules.document_slots import SLOTS
from flows.rules.intents import BY_NAME as INTENTS
from flows.rules.intents import applies, asks, faq_values, looks_english, looks_spanish, only_pleasantries, understand
from flows.rules.matching import pick
from flows.rules.records import ITEMS
from flows.rules.validators import CORRECTION, NAME_EXAMPLE, extra_answers, screen_answer
from locales import N_, translate

if TYPE_CHECKING:
    from bot.dialog.engine import Engine

MISSES_BEFORE_OFFERING_HUMAN = 3
MAX_BUBBLE = 600  # characters: short by default, on every channel
YES_NO = (("yes", "si"), ("no",))
# The welcome offers the other language in one line, in the reader's current language.
OTHER_LANGUAGE = {"es_MX": N_("Prefer English? Write *English*."), "en": N_("Prefer Spanish? Write *español*.")}
HISTORY_LIMIT = 30
QUIET_SPELL = timedelta(minutes=10)  # while waiting for a person: a message after this long gets one line
MISSING_KEYS = ("missing", "none", "later")  # "I do not have it" at an identifier's question or a document
HOME = "main_menu"
DOCUMENT_STEPS = {slot: step for slot, step, _, _ in SLOTS}
COMMAND_STEPS = {"status": "case_status", "language": "choose_language", "my_data": "my_data",
                 "delete_data": "confirm_delete", "paid": "paid_router", "cancel_reminders": "cancel_router",
                 "oppose": "confirm_opposition", "membership": "reminders_info"}


def short_bubbles(reply: Outbound) -> list[Outbound]:
    """A reply of at most `MAX_BUBBLE` characters per bubble: a longer one is split, its buttons on the last part."""
    if len(reply.text) <= MAX_BUBBLE:
        return [reply]
    chunks = split_text(reply.text, MAX_BUBBLE)
    return [*(Outbound(chunk) for chunk in chunks[:-1]), Outbound(chunks[-1], reply.buttons)]


@dataclass(frozen=True, slots=True)
class DialogResult:
    """The result of a turn: replies to queue, effects to store, events for the caller (handoff…)."""

    conversation: DialogState
    replies: tuple[Outbound, ...]
    events: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()


class Turn:
    """One turn being worked out: the replies, events and effects it has produced so far."""

    def __init__(self, engine: Engine, conversation: DialogState, now: datetime) -> None:
        self.engine = engine
        self.conversation = conversation
        self.now = now
        self.replies: list[Outbound] = []
        self.events: list[str] = []
        self.effects: list[Effect] = []
        self.positions: dict[str, Position] = {}  # one per flow visited, in that flow's machine

    def result(self) -> DialogResult:
        self.conversation.updated_at = self.now
        replies = tuple(chunk for reply in self.replies for chunk in short_bubbles(reply))
        return DialogResult(self.conversation, replies, tuple(self.events), tuple(self.effects))

    def say(self, msgid: str, buttons: tuple[Button, ...] = (), **values: Any) -> None:
        self.replies.append(Outbound(translate(self.conversation.locale, msgid, **values), buttons))

    def step(self) -> Step:
        return self.engine.steps[self.conversation.state][1]

    # -- moving ------------------------------------------------------------------------------------
    def position(self, state: str) -> Position:
        """This turn's model in the machine of `state`'s flow, standing on `state`."""
        flow = self.engine.steps[state][0].name
        machine = self.engine.machines[flow]
        position = self.positions.get(flow)
        if position is None:
            position = self.positions[flow] = Position(self, flow)
            machine.add_model(position, initial=state)
        elif position.state != state:
            machine.set_state(state, position)
        return position

    def release(self) -> None:
        """Take this turn's models off the shared machines."""
        for flow, position in self.positions.items():
            self.engine.machines[flow].remove_model(position)
        self.positions.clear()

    def move(self, trigger: str) -> None:
        """Let the machine take `trigger` from the current step; when no transition's condition holds, ask again."""
        if not self.position(self.conversation.state).trigger(trigger):
            self.reprompt()

    def enter(self, state: str, *, remember: bool = True) -> None:
        """Enter a step by name (a command, an event, another flow's route) through its machine's `arrive`."""
        self.position(state).trigger(ARRIVE, remember=remember)

    def entered(self, position: Position, *, remember: bool) -> None:
        """On entering a step: remember where we were (for "atrás" and resuming), show it, follow its `then`."""
        conversation = self.conversation
        state = position.state
        current = self.engine.steps.get(conversation.state)
        if remember and current and conversation.state != state and current[1].say:
            conversation.history = (conversation.history + [conversation.state])[-HISTORY_LIMIT:]
        flow, step = self.engine.steps[state]
        conversation.flow, conversation.state = flow.name, state
        if step.resumable:
            conversation.data.setdefault("_at", {})[flow.name] = state
        if step.event:
            self.events.append(step.event)
        if self.take_carried(step):
            return
        self.replies.extend(self.engine.render(state, conversation, self.engine.local_date(self.now)))
        if step.then and not position.trigger(PROCEED):
            self.reprompt()

    def choose_typed(self, choice: Choice, text: str) -> None:
        """A button picked by typing: an identifier said with it ("mi correo es ana@x.mx" at "what do you want to
        correct?") is kept for the question it leads to."""
        if carried := extra_answers(text, ""):
            self.conversation.data["_carried"] = carried
        self.choose(choice)

    def correct_earlier(self, text: str, step: Step) -> bool:
        """ "perdón, mi correo es otro: ana@x.mx" at a later question: the earlier answer is replaced, and the
        question at hand is asked again. Only with words that say it is a correction, and only for an identifier
        already answered (the one asked now is simply its answer)."""
        if not CORRECTION.search(normalise(text)):
            return False
        data = self.conversation.data
        asked = step.question.field if step.question else ""
        for field, value in extra_answers(text, asked).items():
            question = next((candidate.question for _, candidate in self.engine.steps.values()
                             if candidate.question and candidate.question.field == field), None)
            if field not in data or question is None:
                continue
            parsed = question.parse(value, data)
            if parsed.ok:
                self.accept(field, parsed, append=False)
                label = translate(self.conversation.locale, next(label for label, key, _ in ITEMS if key == field))
                item = label if label.isupper() else label[:1].lower() + label[1:]  # "tu CURP", "tu correo"
                self.say(N_("Done, I corrected your %(item)s: %(value)s"), item=item, value=str(parsed.value))
            else:
                self.say(parsed.error or N_("Sorry, I did not get that."), **dict(parsed.error_values))
            self.reprompt(short=True)
            return True
        return False

    def take_carried(self, step: Step) -> bool:
        """A question answered ahead ("Juan Pérez, mi CURP es …"): taken on arrival instead of asked; True if so.

        Only the very next questions take what was carried: the first step that does not want it drops the rest.
        """
        data = self.conversation.data
        carried = data.pop("_carried", None) or {}
        if step.question is None or step.question.field not in carried:
            return False
        field = step.question.field
        parsed = step.question.parse(carried.pop(field), data)
        if not parsed.ok:  # said, but not right: what is wrong, then the question as usual
            self.say(parsed.error or N_("Sorry, I did not get that."), **dict(parsed.error_values))
            return False
        if carried:
            data["_carried"] = carried
        self.say(N_("I also took %(where)s from your message."), where=self.where())
        self.accept(field, parsed, append=False)
        self.move("answer")
        return True

    def leave(self, target: str, *, remember: bool) -> None:
        """On reaching an exit of a flow: another flow's step, a global command, or where a flow was left."""
        if target.startswith("@resume:"):
            flow = self.engine.flows[target.removeprefix("@resume:")]
            at = (self.conversation.data.get("_at") or {}).get(flow.name)
            self.enter(at if at in self.engine.steps else flow.initial)
        elif target.startswith("@"):
            self.run_command(target[1:])
        else:
            self.enter(target, remember=remember)

    def reprompt(self, *, short: bool = False) -> None:
        """Ask the current step again: in full, or only its short prompt with its buttons."""
        show = self.engine.prompt if short else self.engine.render
        self.replies.extend(show(self.conversation.state, self.conversation, self.engine.local_date(self.now)))

    # -- answers -----------------------------------------------------------------------------------
    def answer(self, inbound: Inbound, *, forgive: bool) -> None:
        """A typed or tapped answer: buttons first, then what the text means (intents), then the question's parser."""
        step = self.step()
        offered = self.conversation.data.pop("_offered_human", False)  # only the very next answer replies to it
        if inbound.payload:
            keys = [choice.key for choice in step.choices]
            if inbound.payload in keys:
                self.choose(step.choices[keys.index(inbound.payload)])
            else:
                self.say(N_("That question was already answered. This is where we are now:"))
                self.reprompt()
            return
        text = inbound.text
        if offered and pick(text, YES_NO, strict=True) is not None:
            if pick(text, YES_NO, strict=True) == 0:
                self.run_command("human")
            else:
                self.say(N_("All right, let's go on."))
                self.reprompt(short=True)
            return
        self.detect_language(text, step)
        names = [[translate(self.conversation.locale, c.title), c.title, c.key.replace("_", " "), *c.synonyms]
                 for c in step.choices]
        ranges = [c.numbers for c in step.choices]
        # "nací en 1985": the age it gives today, for the options to hold
        said = (birth_age(text, self.engine.local_date(self.now)) if step.ages else None) or text
        index = pick(said, names, ranges, strict=True) if step.choices else None
        if index is not None and not (step.choices[index].explicit and ("?" in text or "¿" in text)):
            self.choose_typed(step.choices[index], text)  # "¿acepto?" is a question, not consent
            return
        if self.correct_earlier(text, step):
            return
        intent = understand(text)
        if step.question and intent in ("greeting", "thanks") and not only_pleasantries(text):
            intent = None  # "ana@yahoo.com.mx gracias": the answer, said politely
        keys = [choice.key for choice in step.choices]
        if intent in keys:  # "requisitos" at the menu: the topic's own button says more than the FAQ line
            self.choose(step.choices[keys.index(intent)])
            return
        stated = next((c for c in step.choices if intent in c.intents), None) if intent and not asks(text) else None
        if stated is not None:  # "tengo diabetes desde hace 5 años" answers "any pre-existing condition?"
            self.choose(stated)
            return
        # "no la tengo a la mano": how to get it and a pause; at a document, "later"
        if (step.question or step.upload) and intent in ("missing", "unsure"):
            key = next((key for key in MISSING_KEYS if key in keys), None)
            if key is not None:
                self.choose(step.choices[keys.index(key)])
                return
        if forgive and intent in ("greeting", "thanks"):  # "hola" days later: the welcome back is enough
            self.reprompt()
            return
        if step.question and intent is not None and (
                intent == "unsure" or (INTENTS[intent].kind == "faq" and not asks(text))):
            intent = None  # at a free-text question, "vendo seguros" is an answer, not a question on safety
        if intent is not None and not applies(intent, text):
            intent = None  # "mi esposa y mis hijos" at the beneficiaries question is an answer
        if intent is not None and self.follow(intent):
            return
        index = pick(said, names, ranges) if step.choices else None
        if index is not None and step.choices[index].explicit:
            index = None  # guessing from a sentence never consents, confirms or deletes: asked again
        if index is not None:
            self.choose_typed(step.choices[index], text)
        elif step.question:
            answer, refusal = screen_answer(text, step.question.field)
            parsed = step.question.parse(answer, self.conversation.data) if refusal is None else \
                Parsed(error=refusal, error_values={"example": NAME_EXAMPLE, "where": self.where()})
            if parsed.ok:
                self.accept(step.question.field, parsed, append=step.question.append)
                if carried := extra_answers(text, step.question.field):
                    self.conversation.data["_carried"] = carried  # taken by the questions that follow
                self.move("answer")
            else:
                self.miss(parsed.error, parsed.error_values, forgive=forgive)
        elif forgive:
            self.reprompt()
        elif step.upload:
            self.miss(N_("I am waiting for a photo or a PDF of this document."), {}, forgive=False)
        elif inbound.channel == "whatsapp":  # only WhatsApp numbers the options (bot/channels/whatsapp.py)
            self.miss(N_("Sorry, I did not get that. Please tap a button or reply with its number."), {},
                      forgive=False)
        else:
            self.miss(N_("Sorry, I did not get that. Please tap one of the buttons or write your answer."), {},
                      forgive=False)

    def where(self) -> str:
        return translate(self.conversation.locale, self.engine.where(self.conversation.state)
                         or N_("the same question"))

    def follow(self, name: str) -> bool:
        """Do what an intent asks (answer a FAQ, run a command, switch language…); False when it does not apply."""
        intent = INTENTS[name]
        conversation = self.conversation
        if intent.kind == "command":
            self.run_command(name)
        elif intent.kind == "faq":
            values = faq_values(self.engine.context(conversation, self.engine.local_date(self.now)))
            self.say(intent.answer, **values)
            if name == "health":  # an advisor answers health questions: the chat goes to the staff queue
                conversation.data["_health_question"] = True  # the case is flagged when filed (service.turns)
                self.events.append(DialogEvent.NEEDS_REVIEW)
            self.reprompt(short=True)
        elif intent.kind == "language":
            locale = "en" if name == "english" else "es_MX"
            conversation.data["_locale_chosen"] = True
            if conversation.locale != locale:
                self.switch_language(locale)
            self.reprompt(short=True)
        elif intent.kind == "enroll":
            flow = self.engine.steps[conversation.state][0].name
            if flow == "enrollment":
                self.say(N_("We are already on your enrollment. Let's go on:"))
                self.reprompt(short=True)
            else:
                self.position(HOME).trigger("pick_enroll")
        elif intent.kind == "greeting":
            self.say(N_("Hi! 👋"))
            self.reprompt(short=True)
        elif intent.kind == "thanks":
            self.say(N_("You are welcome! 😊"))
            self.reprompt(short=True)
        elif intent.kind == "doubt":  # "tengo una duda": ask away, the pending question stays
            self.say(N_("Sure, write your question and I will answer it. If you prefer a person, write *asesor*."))
            self.reprompt(short=True)
        elif intent.kind == "confused":  # "no entiendo": say it is fine, point at the buttons and a person
            self.miss(N_("Sorry, I was not clear. Answer as best you can or tap a button: an advisor checks "
                         "everything before filing. Or write *asesor* to talk to a person."), {}, forgive=False)
        elif intent.kind == "unsure":  # a choice without an "unsure" option: help, and count it as a miss
            self.miss(N_("No problem. Choose the closest answer: an advisor checks everything before filing. "
                         "Or write *asesor* to talk to a person."), {}, forgive=False)
        else:
            return False
        return True

    def detect_language(self, text: str, step: Step) -> None:
        """A message clearly written in the other language switches to it, unless a language was chosen.

        At a free-text question only a recognised intent counts: "José de la Cruz" is a name, not Spanish.
        """
        data, locale = self.conversation.data, self.conversation.locale
        if data.get("_locale_chosen") or (step.question and understand(text) is None):
            return
        if locale != "en" and looks_english(text):
            self.switch_language("en")
        elif locale == "en" and looks_spanish(text):
            self.switch_language("es_MX")

    def switch_language(self, locale: str) -> None:
        self.conversation.locale = locale
        self.events.append(DialogEvent.LANGUAGE_CHANGED)
        self.say(N_("Sure, let's go on in English. Write *español* to switch back.") if locale == "en"
                 else N_("Done, we will go on in Spanish."))

    def offer_other_language(self) -> None:
        """One short line on the welcome: the other language is one word away."""
        line = translate(self.conversation.locale, OTHER_LANGUAGE[self.conversation.locale])
        if self.replies:
            first = self.replies[0]
            self.replies[0] = Outbound(f"{first.text}\n\n{line}", first.buttons)

    def choose(self, choice: Choice) -> None:
        conversation = self.conversation
        conversation.misses = 0
        conversation.data.update({k: v for k, v in choice.sets.items() if not k.startswith("_")})
        self.effects.extend(choice.effects)
        if "_locale" in choice.sets:
            conversation.locale = str(choice.sets["_locale"])
            conversation.data["_locale_chosen"] = True
            self.events.append(DialogEvent.LANGUAGE_CHANGED)
        if choice.sets.get("_erase"):
            conversation.data.clear()
            self.events.append(DialogEvent.DATA_ERASED)
        self.move(f"pick_{choice.key}")

    def accept(self, field_name: str, parsed: Parsed, *, append: bool) -> None:
        data = self.conversation.data
        self.conversation.misses = 0
        data.pop(f"pending_{field_name}", None)  # the identifier the applicant went to get has arrived
        if append:
            data[field_name] = [*(data.get(field_name) or []), parsed.value]
        else:
            data[field_name] = parsed.value
        data.update(parsed.updates)
        for note in parsed.notes:
            self.say(note, **parsed.note_values)

    def miss(self, error: str | None, values: Any, *, forgive: bool) -> None:
        """A typed answer that does not fit: say what is wrong, ask again; offer a person on the third."""
        if forgive:
            self.reprompt()
            return
        self.conversation.misses += 1
        self.say(error or N_("Sorry, I did not get that."), **dict(values))
        self.reprompt(short=True)
        if self.conversation.misses == MISSES_BEFORE_OFFERING_HUMAN:  # once: later misses are not nagged
            title = translate(self.conversation.locale, BY_NAME["human"].title)
            self.say(N_("It seems this question is tricky. Would you like a person to help you?"),
                     (Button(title, "cmd:human"),))
            self.conversation.data["_offered_human"] = True
            self.events.append(DialogEvent.OFFERED_HUMAN)

    def acknowledge_waiting(self) -> None:
        """While a person owns the chat: one line after a quiet spell, so "¿hola?" is not met with silence.

        `_spoke_at` is when the applicant last heard from us (the handoff, this line, a person's reply or take);
        within `QUIET_SPELL` of it the bot stays silent, so a burst of messages gets one line at most.
        """
        data = self.conversation.data
        spoke = data.get("_spoke_at")
        if spoke and self.now - datetime.fromisoformat(str(spoke)) < QUIET_SPELL:
            return
        data["_spoke_at"] = self.now.isoformat()
        hours = self.engine.hours
        if hours is None or hours.is_open(self.now):
            self.say(N_("Still waiting: a person from our team will reply here soon. Your messages are saved."))
        else:
            self.say(N_("Still waiting: a person from our team will reply here from %(when)s. Your messages are "
                        "saved."), when=hours.describe_moment(hours.next_opening(self.now), self.conversation.locale))

    def say_handoff(self) -> None:
        """Tell the applicant when to expect a person: now, or when business hours start again."""
        self.conversation.data["_spoke_at"] = self.now.isoformat()
        hours = self.engine.hours
        if hours is None or hours.is_open(self.now):
            self.say(N_("Done. A person from our team will reply here. While you wait, the assistant "
                        "will stay quiet; write *menu* to come back to it."))
            return
        locale = self.conversation.locale
        when = hours.describe_moment(hours.next_opening(self.now), locale)
        self.say(N_("Done. We are outside business hours right now (%(hours)s), so a person will reply from "
                    "%(when)s. Your messages are saved. While you wait, the assistant will stay quiet; write "
                    "*menu* to come back to it."), hours=hours.describe(locale), when=when)

    # -- events from outside the conversation ------------------------------------------------------
    def handle_event(self, event: str, values: dict[str, str]) -> None:
        step = self.step() if self.conversation.state in self.engine.steps else None
        if event == SystemEvent.CASE_FILED:
            self.conversation.data["case"] = {"folio": values["folio"], "status": values.get("status", "received")}
            self.enter("case_filed")
        elif event == SystemEvent.DOCUMENT_READY:
            awaited = self.awaited_document()
            if (step is None or step.upload is None) and awaited is None:
                if (caught := self.stray_upload()) is not None:  # the receipt of a pending transfer
                    state, slot = caught
                    self.keep_document(slot, int(values["document_id"]))
                    self.say(N_("Received, thank you! ✅"))
                    self.position(state).trigger("upload")
                    return
                if (self.conversation.data.get("case") or {}).get("status") == "documents_observed":
                    # Staff observed the documents without naming one: the file is kept for them to review.
                    self.say(N_("Thanks, I received your file: our team will review it with your case."))
                    self.reprompt(short=True)
                    return
                self.say(N_("Thanks, I received your file. Right now I need an answer to this question:"))
                self.reprompt()
                return
            slot = step.upload.slot if step is not None and step.upload is not None else str(awaited)
            self.keep_document(slot, int(values["document_id"]))
            self.say(N_("Received, thank you! ✅"))
            if step is not None and step.upload is not None:
                self.move("upload")
            elif (following := self.awaited_document()) is not None:  # a filed case still waits on another one
                self.enter(DOCUMENT_STEPS[following])
            else:
                self.reprompt()
        elif event == SystemEvent.DOCUMENT_REJECTED:
            self.say(values.get("advice") or N_("I could not use that file. Please try again."))
            self.reprompt()
        elif event == SystemEvent.RESUMED:
            where = translate(self.conversation.locale, self.engine.where(self.conversation.state)
                              or N_("the same question"))
            self.say(N_("You are back with the assistant. We were at: %(where)s."), where=where)
            self.reprompt()
        elif event == SystemEvent.TURN_FAILED:
            # Our fault, not theirs: a person takes over, and the applicant knows their message was not lost.
            self.conversation.owner = "human"
            self.events.append(DialogEvent.BOT_ERROR)
            self.say(N_("Sorry, something went wrong on our side with your last message. A person from our team "
                        "will look at it and reply here."))
        elif event == SystemEvent.DOCUMENT_REQUESTED:
            slot = values["slot"]
            (self.conversation.data.get("documents") or {}).pop(slot, None)
            requested = self.conversation.data.setdefault("requested_documents", [])
            if slot not in requested:
                requested.append(slot)
            label = translate(self.conversation.locale, DOCUMENT_LABELS.get(slot, slot))
            self.say(N_("Our team needs your %(document)s again: %(reason)s"), document=label,
                     reason=values.get("reason", ""))
            self.enter(DOCUMENT_STEPS[slot])

    def keep_document(self, slot: str, document_id: int) -> None:
        data = self.conversation.data
        data.setdefault("documents", {})[slot] = document_id
        if slot in (data.get("requested_documents") or []):
            data["requested_documents"].remove(slot)
        self.effects.append(AssignDocument(document_id, slot))
        self.conversation.misses = 0

    def stray_upload(self) -> tuple[str, str] | None:
        """The step (and its slot) whose upload catches a file sent elsewhere now (`Upload.catches`), if any."""
        data = self.conversation.data
        return next(((name, step.upload.slot) for name, (_, step) in self.engine.steps.items()
                     if step.upload is not None and step.upload.catches is not None and step.upload.catches(data)),
                    None)

    def awaited_document(self) -> str | None:
        """The document a file sent outside its request stands for: one staff asked for again, else (once the
        case is filed) the first required one still missing; None before filing, when questions come first."""
        data = self.conversation.data
        requested = [slot for slot in data.get("requested_documents") or [] if slot in DOCUMENT_STEPS]
        if requested:
            return requested[0]
        held = data.get("documents") or {}
        missing = [slot for slot, _, _, required in SLOTS if required and slot not in held]
        return missing[0] if data.get("case") and missing else None

    # -- global commands ---------------------------------------------------------------------------
    def run_command(self, name: str) -> None:
        conversation = self.conversation
        conversation.misses = 0
        conversation.data.pop("_offered_human", None)
        if name in ("menu", "bot"):
            self.enter(HOME)
        elif name == "back":
            previous = conversation.history.pop() if conversation.history else HOME
            self.enter(previous, remember=False)
        elif name == "help":
            self.say(N_(
                "You can write any of these words at any time:\n"
                "• *menu*: main menu\n• *atrás*: previous question\n• *asesor*: talk to a person\n"
                "• *estado*: your case status\n• *idioma*: language\n• *cancelar*: stop what we are doing\n"
                "• *mis datos*: see your data\n• *borrar mis datos*: delete your data"
            ))
            self.reprompt()
        elif name == "human":
            conversation.owner = "human"
            self.events.append(DialogEvent.HANDOFF)
            self.say_handoff()
        elif name == "cancel":
            conversation.data.pop("editing", None)
            self.say(N_("All right, I stopped that. What you already sent me is still saved."))
            self.enter(HOME)
        else:
            self.enter(COMMAND_STEPS[name])

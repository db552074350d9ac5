"""One turn of the dialog: a conversation and what the user did in, the new state and the replies out.

Pure by design (no I/O, no Flask, Telegram, Twilio or SQLAlchemy): every channel, the CLI and the tests
run the same turn. The flows' `transitions` machines decide the moves, one per flow, shared by every
conversation of the process (`bot.dialog.machines`): the turn adds its model to a machine and removes
it when the turn ends, and entering a step runs from the machine's `on_enter` callbacks. A route out of
a flow (another flow's step, a command, a resume point) leads the machine into an exit pseudo-state
whose callback hands the turn over, rather than into an internal transition, so the machine and its
diagram show every route with its condition. Whatever must be stored besides the conversation
(consents, a new case, a document's slot) is returned as effects for the caller to apply in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from bot.core.events import DialogEvent, SystemEvent
from bot.core.messages import CONTENT_KINDS, Button, Inbound, Outbound
from bot.core.state import DialogState
from bot.core.text import normalise
from bot.dialog.hours import BusinessHours
from bot.dialog.kinds import answer_kind, take_suggestion
from bot.dialog.machines import FlowMachine, build
from bot.dialog.turn import DialogResult, Turn
from flows.machine import define
from flows.model import Context, Flow, Step, routes
from flows.rules.commands import BY_NAME, find_command
from flows.rules.intents import looks_english, understand
from flows.rules.legal import PRIVACY, TERMS
from locales import N_, match_locale, translate

HOME = "main_menu"
WELCOME = "welcome"
SHORT_PROMPT = 300  # characters: a last bubble up to this long is asked again as it is


class Engine:
    """Runs turns over a set of flows. Build one per process and share it: it holds no turn state."""

    def __init__(self, flows: Sequence[Flow], resume_after: timedelta = timedelta(minutes=30), *,
                 base_url: str = "", review_days: int = 3, hours: BusinessHours | None = None) -> None:
        self.flows = {flow.name: flow for flow in flows}
        self.steps: dict[str, tuple[Flow, Step]] = {}
        for flow in flows:
            for step in flow.steps:
                if step.name in self.steps:
                    raise ValueError(f"step {step.name!r} is defined twice")
                self.steps[step.name] = (flow, step)
        self.resume_after = resume_after
        self.base_url = base_url
        self.review_days = review_days
        self.hours = hours
        self._check_targets()
        definitions = [define(flow) for flow in flows]
        self.machines: dict[str, FlowMachine] = {d.name: build(d) for d in definitions}
        self.exits: dict[str, Mapping[str, str]] = {d.name: d.exits for d in definitions}

    def local_date(self, now: datetime) -> date:
        """The date the applicant lives in: dates, periods and dated IMSS values follow the business time zone,
        so at 19:00 on 31 December in Mexico City it is still 2026 (UTC is already in 2027)."""
        return now.astimezone(self.hours.zone).date() if self.hours is not None else now.date()

    # -- building ---------------------------------------------------------------------------------
    def _check_targets(self) -> None:
        for _, step in self.steps.values():
            gotos = [c.goto for c in step.choices] + [step.then]
            gotos += [step.question.goto] if step.question else []
            gotos += [step.upload.goto] if step.upload else []
            for target in (route.goto for goto in gotos for route in routes(goto)):
                if target.startswith("@resume:"):
                    valid = target.removeprefix("@resume:") in self.flows
                else:
                    valid = target[1:] in BY_NAME if target.startswith("@") else target in self.steps
                if not valid:
                    raise ValueError(f"step {step.name!r} leads to unknown target {target!r}")

    # -- turns ------------------------------------------------------------------------------------
    def run(self, conversation: DialogState, inbound: Inbound, now: datetime,
            default_locale: str = "es_MX") -> DialogResult:
        """Run one turn. The conversation is modified in place and returned inside the `DialogResult`."""
        turn = Turn(self, conversation, now)
        try:
            self._play(turn, inbound, default_locale)
            return turn.result()
        finally:
            turn.release()

    def _play(self, turn: Turn, inbound: Inbound, default_locale: str) -> None:
        conversation, now = turn.conversation, turn.now
        conversation.data["_today"] = self.local_date(now).isoformat()
        if inbound.kind == "event" and inbound.payload == SystemEvent.TURN_FAILED:  # whatever state we are in
            conversation.locale = conversation.locale or match_locale(inbound.locale_hint, default_locale)
            turn.handle_event(SystemEvent.TURN_FAILED, {})
            return
        if not conversation.state or conversation.state not in self.steps:
            conversation.locale = match_locale(inbound.locale_hint, conversation.locale or default_locale)
            if inbound.kind == "message" and (looks_english(inbound.text) or understand(inbound.text) == "english"):
                conversation.locale = "en"  # "Hello, do you speak English?" is answered in English
            turn.enter(WELCOME)
            turn.offer_other_language()
            start = dict(inbound.meta).get("start")  # a deep link such as t.me/our_bot?start=enroll
            choice = next((c for c in turn.step().choices if c.key == start), None)
            if choice is not None:
                turn.choose(choice)
            return
        paused = conversation.updated_at is not None and now - conversation.updated_at > self.resume_after
        command = find_command(inbound.text, inbound.payload) if inbound.kind == "message" else None
        if command and not inbound.payload and self._names_a_choice(conversation.state, inbound.text):
            command = None  # "cancelar" on the reminders screen is its "Cancel reminders" button, not "stop this"
        if inbound.kind == "opt_out":
            turn.say(N_("Done: we will not send you notices or reminders here anymore. You can still write to "
                        "us whenever you want; reply *ALTA* to receive them again."))
            return
        if inbound.kind == "opt_in":
            turn.say(N_("Done: you will receive our notices and reminders here again."))
            if conversation.owner == "bot":
                turn.reprompt()
            return
        if self._needs_new_consent(conversation) and inbound.kind == "message" and \
                command not in ("my_data", "delete_data", "human"):
            turn.enter("terms_update")  # before anything else: the texts they accepted changed
            return
        if conversation.owner == "human" and inbound.kind != "event":
            if command in ("menu", "bot"):
                conversation.owner = "bot"
                turn.say(N_("You are back with the assistant."))
                turn.events.append(DialogEvent.RETURNED_TO_BOT)
                turn.enter(HOME if command == "menu" else conversation.state)
            elif inbound.kind == "message":
                turn.acknowledge_waiting()
            return
        if paused and inbound.kind != "event":
            where = translate(conversation.locale, self.where(conversation.state) or N_("the same question"))
            turn.say(N_("Welcome back! We were at: %(where)s."), where=where)
        if command:
            turn.run_command(command)
        elif inbound.kind == "event":
            turn.handle_event(inbound.payload or "", dict(inbound.meta))
        elif inbound.kind == "edited":
            turn.say(N_("I only read new messages. If you corrected something, please send it again."))
            turn.reprompt()
        elif inbound.kind == "unsupported" or inbound.kind in CONTENT_KINDS:
            answer_kind(turn, inbound)  # voice notes, stickers, videos, locations, contact cards (bot.dialog.kinds)
        elif inbound.attachments:
            turn.say(N_("Thanks for the file. Right now I need an answer to this question:"))
            turn.reprompt()
        elif (answered := take_suggestion(turn, inbound)) is not None:
            turn.answer(answered, forgive=paused)

    def run_event(self, conversation: DialogState, event: str, values: dict[str, str], now: datetime) -> DialogResult:
        """Continue a conversation after something stored outside it happened (a case was filed…)."""
        turn = Turn(self, conversation, now)
        try:
            if event == SystemEvent.DOCUMENT_DOUBT:  # one question about a document that disagrees (issue 21)
                conversation.data["document_doubt"] = dict(values)
                turn.enter("doc_doubt")
            else:
                turn.handle_event(event, values)
            return turn.result()
        finally:
            turn.release()

    # -- helpers the turn uses --------------------------------------------------------------------
    def _needs_new_consent(self, conversation: DialogState) -> bool:
        data = conversation.data
        if "terms_update" not in self.steps or conversation.state == "terms_update":
            return False
        return (data.get("terms_version") not in (None, TERMS.version)
                or data.get("privacy_version") not in (None, PRIVACY.version))

    def _names_a_choice(self, state: str, text: str) -> bool:
        """Whether `text` is exactly one of the current step's own button words: the step's meaning wins."""
        step = self.steps[state][1] if state in self.steps else None
        said = normalise(text)
        return step is not None and any(said in {normalise(word) for word in choice.synonyms}
                                        for choice in step.choices if not str(choice.goto).startswith("@"))

    def where(self, state: str) -> str:
        return self.steps[state][1].where if state in self.steps else ""

    def context(self, conversation: DialogState, today: date) -> Context:
        return Context(conversation.data, today, conversation.locale, self.base_url, self.review_days)

    def render(self, state: str, conversation: DialogState, today: date) -> list[Outbound]:
        """The bubbles a step shows, translated, with its buttons on the last one."""
        _, step = self.steps[state]
        locale = conversation.locale
        values = dict(step.values(self.context(conversation, today))) if step.values else {}
        texts = [translate(locale, msgid, **values) for msgid in step.say]
        buttons = [Button(translate(locale, c.title), c.key) for c in step.choices]
        buttons += [Button(translate(locale, BY_NAME[name].title), f"cmd:{name}")
                    for name in step.command_choices]
        if not texts:
            return []
        bubbles = [Outbound(text) for text in texts[:-1]]
        bubbles.append(Outbound(texts[-1], tuple(buttons)))
        return bubbles

    def prompt(self, state: str, conversation: DialogState, today: date) -> list[Outbound]:
        """The one short bubble that asks a step again (after a miss or a FAQ answer), with its buttons.

        The step's own `prompt` if it has one; else its last bubble when that is short; else a line that
        points at the buttons, so a long topic is not sent again in full.
        """
        _, step = self.steps[state]
        bubbles = self.render(state, conversation, today)
        if not bubbles:
            return []
        last = bubbles[-1]
        if step.prompt:
            values = dict(step.values(self.context(conversation, today))) if step.values else {}
            return [Outbound(translate(conversation.locale, step.prompt, **values), last.buttons)]
        if len(last.text) <= SHORT_PROMPT:
            return [last]
        line = N_("Choose an option to go on:") if last.buttons else N_("Shall we go on? Here is where we were.")
        return [Outbound(translate(conversation.locale, line), last.buttons)]

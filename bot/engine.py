"""One turn of the dialog: a conversation and what the user did in, the new state and the replies out.

Pure by design (no I/O, no Flask, Telegram, Twilio or SQLAlchemy): every channel, the CLI and the tests
run the same turn. Moves inside a flow go through one `transitions` machine per flow, shared by every
conversation of the process; the conversation is added as a model for the turn and removed after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from transitions import Machine, MachineError

from bot.i18n import N_, match_locale, translate
from bot.messages import Button, Inbound, Outbound
from flows.commands import BY_NAME, find_command, is_greeting
from flows.matching import pick
from flows.model import Choice, Context, Flow, Parsed, Route, Step

MISSES_BEFORE_OFFERING_HUMAN = 3
HISTORY_LIMIT = 30
HOME = "main_menu"
WELCOME = "welcome"


@dataclass(slots=True)
class Conversation:
    """The engine's view of a conversation; storage loads it and saves it back after the turn."""

    flow: str = ""
    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    locale: str = "es_MX"
    owner: str = "bot"
    misses: int = 0
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """The result of a turn: replies to queue and events for the caller (handoff, erase...)."""

    conversation: Conversation
    replies: tuple[Outbound, ...]
    events: tuple[str, ...] = ()


class _Model:
    """What `transitions` moves for one turn; it only carries the state name."""

    def __init__(self) -> None:
        self.state = ""


class Engine:
    """Runs turns over a set of flows. Build one per process; it is safe to share between threads
    as long as turns of one conversation are serialised (storage locks the conversation row)."""

    def __init__(self, flows: Sequence[Flow], resume_after: timedelta = timedelta(minutes=30)) -> None:
        self.flows = {flow.name: flow for flow in flows}
        self.steps: dict[str, tuple[Flow, Step]] = {}
        for flow in flows:
            for step in flow.steps:
                if step.name in self.steps:
                    raise ValueError(f"step {step.name!r} is defined twice")
                self.steps[step.name] = (flow, step)
        self.resume_after = resume_after
        self.machines = {flow.name: self._build_machine(flow) for flow in flows}
        self._check_targets()

    # -- building ---------------------------------------------------------------------------------
    def _build_machine(self, flow: Flow) -> Machine:
        names = {step.name for step in flow.steps}
        machine = Machine(
            model=None, states=sorted(names), initial=flow.initial, auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        for step in flow.steps:
            for choice in step.choices:
                self._add_routes(machine, f"pick_{choice.key}", step.name, choice.goto, names)
            if step.question:
                self._add_routes(machine, "answer", step.name, step.question.goto, names)
            if step.then and step.then in names:
                machine.add_transition("proceed", step.name, step.then)
        return machine

    @staticmethod
    def _add_routes(machine: Machine, trigger: str, source: str, goto: str | tuple[Route, ...],
                    names: set[str]) -> None:
        for route in _routes(goto):
            if route.goto in names:
                conditions: list[Any] = [route.when] if route.when else []
                machine.add_transition(trigger, source, route.goto, conditions=conditions)

    def _check_targets(self) -> None:
        for _, step in self.steps.values():
            targets = [r.goto for c in step.choices for r in _routes(c.goto)]
            if step.question:
                targets += [r.goto for r in _routes(step.question.goto)]
            if step.then:
                targets.append(step.then)
            for target in targets:
                if not target.startswith("@") and target not in self.steps:
                    raise ValueError(f"step {step.name!r} leads to unknown step {target!r}")
                if target.startswith("@") and target[1:] not in BY_NAME:
                    raise ValueError(f"step {step.name!r} runs unknown command {target!r}")

    # -- the turn ---------------------------------------------------------------------------------
    def run(self, conversation: Conversation, inbound: Inbound, now: datetime,
            default_locale: str = "es_MX") -> Turn:
        """Run one turn. The conversation is modified in place and returned inside the `Turn`."""
        turn = _TurnState(self, conversation, now)
        if not conversation.state or conversation.state not in self.steps:
            conversation.locale = match_locale(inbound.locale_hint, conversation.locale or default_locale)
            turn.enter(WELCOME)
            return turn.result()
        paused = conversation.updated_at is not None and now - conversation.updated_at > self.resume_after
        command = find_command(inbound.text, inbound.payload)
        if conversation.owner == "human":
            if command in ("menu", "bot"):
                conversation.owner = "bot"
                turn.say(N_("You are back with the assistant."))
                turn.events.append("returned_to_bot")
                turn.enter(HOME if command == "menu" else conversation.state)
            return turn.result()
        if paused:
            where = translate(conversation.locale, self.where(conversation.state) or N_("the same question"))
            turn.say(N_("Welcome back! We were at: %(where)s."), where=where)
        if command:
            turn.run_command(command)
        elif inbound.kind == "unsupported":
            turn.say(N_("I can only read text, photos and PDF files. Please send one of those."))
            turn.reprompt()
        elif inbound.attachments:
            turn.say(N_("Thanks for the file. Right now I need an answer to this question:"))
            turn.reprompt()
        else:
            turn.answer(inbound, forgive=paused)
        return turn.result()

    def where(self, state: str) -> str:
        return self.steps[state][1].where if state in self.steps else ""

    def render(self, state: str, conversation: Conversation, today: Any) -> list[Outbound]:
        """The bubbles a step shows, translated, with its buttons on the last one."""
        _, step = self.steps[state]
        locale = conversation.locale
        values = dict(step.values(Context(conversation.data, today, locale))) if step.values else {}
        texts = [translate(locale, msgid, **values) for msgid in step.say]
        buttons = [Button(translate(locale, c.title), c.key) for c in step.choices]
        buttons += [Button(translate(locale, BY_NAME[name].title), f"cmd:{name}")
                    for name in step.command_choices]
        if not texts:
            return []
        bubbles = [Outbound(text) for text in texts[:-1]]
        bubbles.append(Outbound(texts[-1], tuple(buttons)))
        return bubbles


def _routes(goto: str | tuple[Route, ...]) -> tuple[Route, ...]:
    return (Route(goto),) if isinstance(goto, str) else goto


class _TurnState:
    """The mutable work of one turn; kept apart so `Engine` stays shareable."""

    def __init__(self, engine: Engine, conversation: Conversation, now: datetime) -> None:
        self.engine = engine
        self.conversation = conversation
        self.now = now
        self.replies: list[Outbound] = []
        self.events: list[str] = []

    def result(self) -> Turn:
        self.conversation.updated_at = self.now
        return Turn(self.conversation, tuple(self.replies), tuple(self.events))

    def say(self, msgid: str, buttons: tuple[Button, ...] = (), **values: Any) -> None:
        self.replies.append(Outbound(translate(self.conversation.locale, msgid, **values), buttons))

    def step(self) -> Step:
        return self.engine.steps[self.conversation.state][1]

    # -- moving ------------------------------------------------------------------------------------
    def enter(self, state: str, *, remember: bool = True) -> None:
        """Show a step (jumping across flows if needed), then follow its `then` chain."""
        conversation = self.conversation
        for _ in range(10):  # a `then` chain is short; the bound guards against a loop in flow data
            current = self.engine.steps.get(conversation.state)
            if remember and current and conversation.state != state and not current[1].then:
                conversation.history = (conversation.history + [conversation.state])[-HISTORY_LIMIT:]
            conversation.flow = self.engine.steps[state][0].name
            conversation.state = state
            self.replies.extend(self.engine.render(state, conversation, self.now.date()))
            step = self.engine.steps[state][1]
            if not step.then:
                return
            if step.then.startswith("@"):
                self.run_command(step.then[1:])
                return
            state = self._move("proceed", step.then)

    def _move(self, trigger: str, target: str) -> str:
        """Follow a transition through the flow's machine when it is one, else jump."""
        flow, _ = self.engine.steps[self.conversation.state]
        if target not in {s.name for s in flow.steps}:
            return target
        machine = self.engine.machines[flow.name]
        model = _Model()
        machine.add_model(model, initial=self.conversation.state)
        try:
            model.trigger(trigger, self.conversation.data)  # type: ignore[attr-defined]
            return model.state
        except MachineError:
            return target
        finally:
            machine.remove_model(model)

    def follow(self, trigger: str, goto: str | tuple[Route, ...]) -> None:
        data = self.conversation.data
        target = next((r.goto for r in _routes(goto) if r.when is None or r.when(data)), None)
        if target is None:
            self.reprompt()
            return
        if target.startswith("@"):
            self.run_command(target[1:])
            return
        self.enter(self._move(trigger, target))

    def reprompt(self) -> None:
        self.replies.extend(self.engine.render(self.conversation.state, self.conversation, self.now.date()))

    # -- answers -----------------------------------------------------------------------------------
    def answer(self, inbound: Inbound, *, forgive: bool) -> None:
        step = self.step()
        if step.choices:
            self._choose(step, inbound, forgive=forgive)
        elif step.question:
            if inbound.payload and not inbound.text:
                self._stale_button()
                return
            parsed = step.question.parse(inbound.text, self.conversation.data)
            if parsed.ok:
                self._accept(step.question.field, parsed)
                self.follow("answer", step.question.goto)
            else:
                self.miss(parsed.error, parsed.error_values, forgive=forgive)
        else:
            self.reprompt()

    def _choose(self, step: Step, inbound: Inbound, *, forgive: bool) -> None:
        locale = self.conversation.locale
        index: int | None
        if inbound.payload:
            keys = [choice.key for choice in step.choices]
            index = keys.index(inbound.payload) if inbound.payload in keys else None
            if index is None:
                self._stale_button()
                return
        else:
            names = [[translate(locale, c.title), c.title, c.key.replace("_", " "), *c.synonyms]
                     for c in step.choices]
            index = pick(inbound.text, names)
        if index is None:
            if is_greeting(inbound.text) and not forgive:
                self.say(N_("Hi! 👋"))
                self.reprompt()
                return
            self.miss(N_("Sorry, I did not get that. Please tap a button or reply with its number."),
                      {}, forgive=forgive)
            return
        choice: Choice = step.choices[index]
        self.conversation.misses = 0
        self.conversation.data.update({k: v for k, v in choice.sets.items() if not k.startswith("_")})
        if "_locale" in choice.sets:
            self.conversation.locale = str(choice.sets["_locale"])
            self.events.append("language_changed")
        if choice.sets.get("_erase"):
            self.conversation.data.clear()
            self.events.append("data_erased")
        self.follow(f"pick_{choice.key}", choice.goto)

    def _accept(self, field_name: str, parsed: Parsed) -> None:
        self.conversation.misses = 0
        self.conversation.data[field_name] = parsed.value
        self.conversation.data.update(parsed.updates)
        for note in parsed.notes:
            self.say(note)

    def _stale_button(self) -> None:
        self.say(N_("That question was already answered. This is where we are now:"))
        self.reprompt()

    def miss(self, error: str | None, values: Any, *, forgive: bool) -> None:
        """A typed answer that does not fit: say what is wrong, ask again; offer a person on the third."""
        if forgive:
            self.reprompt()
            return
        self.conversation.misses += 1
        self.say(error or N_("Sorry, I did not get that."), **dict(values))
        self.reprompt()
        if self.conversation.misses >= MISSES_BEFORE_OFFERING_HUMAN:
            locale = self.conversation.locale
            self.say(N_("It seems this question is tricky. Would you like a person to help you?"),
                     (Button(translate(locale, BY_NAME["human"].title), "cmd:human"),))
            self.events.append("offered_human")

    # -- global commands ---------------------------------------------------------------------------
    def run_command(self, name: str) -> None:
        conversation = self.conversation
        conversation.misses = 0
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
            self.events.append("handoff")
            self.say(N_("Done. A person from our team will reply here. While you wait, the assistant "
                        "will stay quiet; write *menu* to come back to it."))
        elif name == "cancel":
            self.say(N_("All right, I stopped that. What you already sent me is still saved."))
            self.enter(HOME)
        else:
            self.enter({"status": "case_status", "language": "choose_language",
                        "my_data": "my_data", "delete_data": "confirm_delete"}[name])

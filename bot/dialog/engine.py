"""One turn of the dialog: a conversation and what the user did in, the new state and the replies out.

Pure by design (no I/O, no Flask, Telegram, Twilio or SQLAlchemy): every channel, the CLI and the tests
run the same turn. Moves inside a flow go through one `transitions` machine per flow, shared by every
conversation of the process; the conversation is added as a model for the turn and removed after.
Whatever must be stored besides the conversation (consents, a new case, a document's slot) is returned
as effects for the caller to apply in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from transitions import Machine, MachineError

from bot.core.messages import Button, Inbound, Outbound
from bot.core.state import DialogState
from bot.dialog.hours import BusinessHours
from bot.dialog.turn import DialogResult, Turn, routes
from flows.model import Context, Flow, Route, Step
from flows.rules.commands import BY_NAME, find_command
from flows.rules.legal import PRIVACY, TERMS
from locales import N_, match_locale, translate

HOME = "main_menu"
WELCOME = "welcome"


class _Model:
    """What `transitions` moves for one turn; it only carries the state name."""

    def __init__(self) -> None:
        self.state = ""


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
        self.machines = {flow.name: self._build_machine(flow) for flow in flows}
        self._check_targets()

    # -- building ---------------------------------------------------------------------------------
    def _build_machine(self, flow: Flow) -> Machine:
        names = {step.name for step in flow.steps}
        machine = Machine(model=None, states=sorted(names), initial=flow.initial, auto_transitions=False)
        for step in flow.steps:
            edges: list[tuple[str, str | tuple[Route, ...] | None]] = [
                (f"pick_{choice.key}", choice.goto) for choice in step.choices]
            if step.question:
                edges.append(("answer", step.question.goto))
            if step.upload:
                edges.append(("upload", step.upload.goto))
            edges.append(("proceed", step.then))
            for trigger, goto in edges:
                for route in routes(goto):
                    if route.goto in names:
                        conditions: list[Any] = [route.when] if route.when else []
                        machine.add_transition(trigger, step.name, route.goto, conditions=conditions)
        return machine

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
        """Run one turn. The conversation is modified in place and returned inside the `Turn`."""
        turn = Turn(self, conversation, now)
        conversation.data["_today"] = now.date().isoformat()
        if inbound.kind == "event" and inbound.payload == "turn_failed":  # whatever state we are in
            conversation.locale = conversation.locale or match_locale(inbound.locale_hint, default_locale)
            turn.handle_event("turn_failed", {})
            return turn.result()
        if not conversation.state or conversation.state not in self.steps:
            conversation.locale = match_locale(inbound.locale_hint, conversation.locale or default_locale)
            turn.enter(WELCOME)
            start = dict(inbound.meta).get("start")  # a deep link such as t.me/our_bot?start=enroll
            choice = next((c for c in turn.step().choices if c.key == start), None)
            if choice is not None:
                turn.choose(choice)
            return turn.result()
        paused = conversation.updated_at is not None and now - conversation.updated_at > self.resume_after
        command = find_command(inbound.text, inbound.payload) if inbound.kind == "message" else None
        if inbound.kind == "opt_out":
            turn.say(N_("Done: we will not send you notices or reminders here anymore. You can still write to "
                        "us whenever you want; reply *ALTA* to receive them again."))
            return turn.result()
        if inbound.kind == "opt_in":
            turn.say(N_("Done: you will receive our notices and reminders here again."))
            if conversation.owner == "bot":
                turn.reprompt()
            return turn.result()
        if self._needs_new_consent(conversation) and inbound.kind == "message" and \
                command not in ("my_data", "delete_data", "human"):
            turn.enter("terms_update")  # before anything else: the texts they accepted changed
            return turn.result()
        if conversation.owner == "human" and inbound.kind != "event":
            if command in ("menu", "bot"):
                conversation.owner = "bot"
                turn.say(N_("You are back with the assistant."))
                turn.events.append("returned_to_bot")
                turn.enter(HOME if command == "menu" else conversation.state)
            return turn.result()
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
        elif inbound.kind == "unsupported":
            turn.say(N_("I can only read text, photos and PDF files. Please send one of those."))
            turn.reprompt()
        elif inbound.attachments:
            turn.say(N_("Thanks for the file. Right now I need an answer to this question:"))
            turn.reprompt()
        else:
            turn.answer(inbound, forgive=paused)
        return turn.result()

    def run_event(self, conversation: DialogState, event: str, values: dict[str, str], now: datetime) -> DialogResult:
        """Continue a conversation after something stored outside it happened (a case was filed…)."""
        turn = Turn(self, conversation, now)
        turn.handle_event(event, values)
        return turn.result()

    # -- helpers the turn uses --------------------------------------------------------------------
    def _needs_new_consent(self, conversation: DialogState) -> bool:
        data = conversation.data
        if "terms_update" not in self.steps or conversation.state == "terms_update":
            return False
        return (data.get("terms_version") not in (None, TERMS.version)
                or data.get("privacy_version") not in (None, PRIVACY.version))

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

    def transition(self, state: str, trigger: str, target: str, data: dict[str, Any]) -> str:
        """Follow `trigger` through the flow's machine when the target is in the same flow, else jump."""
        flow, _ = self.steps[state]
        if target not in self.steps or self.steps[target][0] is not flow:
            return target
        machine = self.machines[flow.name]
        model = _Model()
        machine.add_model(model, initial=state)
        try:
            model.trigger(trigger, data)  # type: ignore[attr-defined]
            return model.state
        except MachineError:
            return target
        finally:
            machine.remove_model(model)

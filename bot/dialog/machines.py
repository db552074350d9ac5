"""The flows' `transitions` machines, shared by every conversation, and the model they move for a turn.

One machine per flow, built once per process from `flows.machine.define` (`model=None`,
`auto_transitions=False`, `send_event=True`). A turn adds a `Position` per flow it visits and removes it
when the turn ends, so no turn state lives on the machine and threads can share it. The machine decides
every move: a trigger (`pick_<key>`, `answer`, `upload`, `proceed`) takes the first of the step's
transitions whose conditions hold, and entering runs from the states' callbacks:

- a step's `on_enter` is `Position.enter_step`: the turn records the step (history, resume marker,
  event), renders it and triggers `proceed` when the step has a `then`;
- an exit's `on_enter` is `Position.leave_flow`: the turn goes where the exit stands for (another
  flow's step, a command, a resume point); the position stays in the exit until the turn ends;
- a step entered by name (a command, an event, a hand-over from another flow) is entered through
  `arrive`, a reflexive transition on every step: the position is placed on the step and re-enters it,
  so its `on_enter` runs like after any other move. Reflexive, the lookup is one dictionary hit.

Callbacks only compute: they add replies, events and effects to the turn, never do I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transitions import Machine, Transition

from flows.machine import Definition

if TYPE_CHECKING:
    from transitions.core import EventData

    from bot.dialog.turn import Turn

ARRIVE = "arrive"
PROCEED = "proceed"


class LabelledTransition(Transition):
    """A transition that keeps the `label` its flow gives it, as `transitions`' diagrams do."""

    def __init__(self, *args: Any, label: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label = label


class FlowMachine(Machine):
    """A flow's machine: plain `transitions`, taking the labelled transitions of `flows.machine`."""

    transition_cls = LabelledTransition


def build(definition: Definition) -> FlowMachine:
    """The shared machine of one flow: its steps and exits, its guarded transitions, and `arrive`."""
    states: list[Any] = [{"name": step, "on_enter": "enter_step"} for step in definition.steps]
    states += [{"name": exit_, "on_enter": "leave_flow"} for exit_ in definition.exits]
    machine = FlowMachine(model=None, states=states, initial=definition.initial,
                          transitions=list(definition.transitions), auto_transitions=False, send_event=True,
                          name=definition.name)
    machine.add_transition(ARRIVE, list(definition.steps), "=")
    return machine


def remembers(event: EventData) -> bool:
    """Whether entering a step pushes the previous one on the "atrás" history: not when a `then` chains on."""
    return event.event.name != PROCEED and bool(event.kwargs.get("remember", True))


class Position:
    """Where a turn stands in one flow's machine: the model the machine moves and calls back.

    `transitions` sets `state` and adds the triggers (`position.trigger("answer")`); the conditions read
    `data`; the callbacks hand the work to the turn.
    """

    state: str
    trigger: Callable[..., bool]  # added by the machine

    def __init__(self, turn: Turn, flow: str) -> None:
        self.turn = turn
        self.flow = flow

    @property
    def data(self) -> dict[str, Any]:
        return self.turn.conversation.data

    def enter_step(self, event: EventData) -> None:
        self.turn.entered(self, remember=remembers(event))

    def leave_flow(self, event: EventData) -> None:
        self.turn.leave(self.turn.engine.exits[self.flow][self.state], remember=remembers(event))

"""A flow as a `transitions` machine definition: its steps are the states, its routes the transitions.

Plain data in the form `transitions` takes (states by name, transitions as dicts), so the dialog engine
builds its shared `Machine` from it and `flows.diagram` a `GraphMachine`: the diagram draws the very
transitions the engine follows. Every route becomes one transition, in declaration order, and the
machine takes the first whose conditions hold:

- a button is `pick_<key>`, a typed answer `answer`, an accepted document `upload`, a step's `then`
  `proceed`; each transition's `label` (the button key, the answer's field, the document slot, "then")
  is what the diagram shows, next to its conditions;
- a route that leaves the flow (another flow's step, a global command `@name`, `@resume:<flow>`) ends
  in an *exit*: a pseudo-state standing for that target (`exits` maps it back). The step of another flow
  keeps its own name, so the diagram's edge meets the real step; `@name` becomes `cmd_<name>` and
  `@resume:<flow>` `resume_<flow>`.

Conditions are called by the machine with its event and read `event.model.data`, the conversation's
collected data, so whatever the machine moves must offer that.
"""

from __future__ import annotations

import linecache
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from flows.model import Condition, Data, Flow, Step, Target, routes

if TYPE_CHECKING:
    from transitions.core import EventData


class Moved(Protocol):
    """What a flow's machine moves: a model that offers the conversation's collected data."""

    @property
    def data(self) -> Data: ...


class Guard:
    """A route's condition as the machine calls it: with the event, on the data of the model it moves."""

    def __init__(self, when: Condition) -> None:
        self.when = when
        self.__name__ = describe(when)  # how `transitions` names a condition in a diagram

    def __call__(self, event: EventData) -> bool:
        return bool(self.when(cast(Moved, event.model).data))

    def __repr__(self) -> str:
        return f"Guard({self.__name__})"


@dataclass(frozen=True, slots=True)
class Definition:
    """What a flow's machine is made of: keyword arguments for a `transitions` machine, and the exits."""

    name: str
    initial: str
    steps: tuple[str, ...]
    exits: Mapping[str, str]  # exit pseudo-state -> the target outside the flow it stands for
    transitions: tuple[Mapping[str, Any], ...]


def define(flow: Flow) -> Definition:
    """The flow's states and guarded transitions, every route in the order the flow declares it."""
    steps = tuple(step.name for step in flow.steps)
    inside = set(steps)
    exits: dict[str, str] = {}
    transitions: list[Mapping[str, Any]] = []
    for step in flow.steps:
        for trigger, label, goto in moves(step):
            for route in routes(goto):
                dest = route.goto
                if dest not in inside:
                    dest = exit_for(route.goto)
                    if dest in inside or exits.setdefault(dest, route.goto) != route.goto:
                        raise ValueError(f"exit {dest!r} of flow {flow.name!r} is taken by another target")
                transition: dict[str, Any] = {"trigger": trigger, "source": step.name, "dest": dest, "label": label}
                if route.when is not None:
                    transition["conditions"] = [Guard(route.when)]
                transitions.append(transition)
    return Definition(flow.name, flow.initial, steps, exits, tuple(transitions))


def moves(step: Step) -> list[tuple[str, str, Target]]:
    """The triggers a step answers to, with the label the diagram gives them and where each leads."""
    found: list[tuple[str, str, Target]] = [(f"pick_{c.key}", c.key, c.goto) for c in step.choices]
    if step.question:
        found.append(("answer", step.question.field, step.question.goto))
    if step.upload:
        found.append(("upload", step.upload.slot, step.upload.goto))
    if step.then:
        found.append(("proceed", "then", step.then))
    keys = [c.key for c in step.choices]
    if len(keys) != len(set(keys)):
        raise ValueError(f"step {step.name!r} offers the same button key twice")
    return found


def exit_for(target: str) -> str:
    """The exit pseudo-state for a target outside the flow, named so Mermaid can draw it."""
    if target.startswith("@resume:"):
        return "resume_" + target.removeprefix("@resume:")
    if target.startswith("@"):
        return "cmd_" + target[1:]
    return target


def describe(condition: Condition) -> str:
    """A condition's name in the diagram: its function's name, `factory(arguments)` for a lambda a factory
    made (`missing(id_front)`), else the lambda's own expression."""
    name: str = getattr(condition, "__name__", "") or type(condition).__name__
    if name != "<lambda>":
        return name
    cells = getattr(condition, "__closure__", None) or ()
    qualname: str = getattr(condition, "__qualname__", name)
    if cells and ".<locals>." in qualname:
        return f"{qualname.split('.<locals>.')[-2].split('.')[-1]}({', '.join(str(c.cell_contents) for c in cells)})"
    return _expression(condition) or "condition"


def _expression(function: Any) -> str:
    """A one-line lambda's body as written (positions are UTF-8 offsets in the source line)."""
    code = function.__code__
    spans = [(start, end) for line, end_line, start, end in code.co_positions()
             if line == end_line == code.co_firstlineno and start is not None and end]
    if not spans:
        return ""
    source = linecache.getline(code.co_filename, code.co_firstlineno).encode()
    body = source[min(start for start, _ in spans):max(end for _, end in spans)]
    return body.decode(errors="replace").replace('"', "'")

"""The vocabulary flows are written in: steps that say things, offer choices, or ask for a typed answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

Data = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Parsed:
    """The outcome of reading a typed answer: a value to store, or an error msgid with its values."""

    value: Any = None
    error: str | None = None
    error_values: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # msgids said after accepting (warnings such as "please double-check")
    updates: Mapping[str, Any] = field(default_factory=dict)  # derived fields stored with the value

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Context:
    """What a step's text may depend on: the collected data, the date and the reader's locale."""

    data: Data
    today: date
    locale: str


Parser = Callable[[str, Data], Parsed]
Condition = Callable[[Data], bool]
Renderer = Callable[[Context], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    """A guarded destination: the first route whose condition holds is taken."""

    goto: str
    when: Condition | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. `key` is the stable payload; `title` a msgid; `synonyms` are typed alternatives."""

    key: str
    title: str
    goto: str | tuple[Route, ...]
    synonyms: tuple[str, ...] = ()
    sets: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Question:
    """A typed answer stored under `field` after `parse` accepts it."""

    field: str
    parse: Parser
    goto: str | tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One state of a flow: what the bot says on entering it and what it waits for.

    `say` msgids become one bubble each; the choices ride on the last one. `values` computes the
    placeholders of those texts from the collected data. A step with neither choices nor a question is
    a dead end only if `then` is empty: `then` chains straight on to another step.
    """

    name: str
    say: tuple[str, ...]
    choices: tuple[Choice, ...] = ()
    question: Question | None = None
    where: str = ""
    values: Renderer | None = None
    then: str | None = None
    command_choices: tuple[str, ...] = ()  # global commands offered as extra buttons ("human", "menu")


@dataclass(frozen=True, slots=True)
class Flow:
    """A named set of steps; the engine builds one `transitions` machine per flow."""

    name: str
    initial: str
    steps: tuple[Step, ...]

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

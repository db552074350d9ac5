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
    note_values: Mapping[str, Any] = field(default_factory=dict)  # placeholders of the notes

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Context:
    """What a step's text may depend on: the collected data, the date, the reader's locale, and the
    business settings a text quotes (public links, how long a review usually takes)."""

    data: Data
    today: date
    locale: str
    base_url: str = ""
    review_days: int = 3


@dataclass(frozen=True, slots=True)
class RecordConsent:
    """Effect: store that the applicant accepted (or declined) a versioned text."""

    kind: str  # "terms" | "privacy" | "financial" | "health" | "reminders"
    version: str
    accepted: bool


@dataclass(frozen=True, slots=True)
class FileCase:
    """Effect: create the enrollment case from the collected data; storage assigns the folio."""


@dataclass(frozen=True, slots=True)
class AssignDocument:
    """Effect: an uploaded, checked document now fills this slot of the applicant's file."""

    document_id: int
    slot: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Effect: start (or change) the payment-reminder membership with the frequency in the data."""


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Effect: stop the payment reminders."""


@dataclass(frozen=True, slots=True)
class AcceptContract:
    """Effect: the applicant accepted to buy `plan` (a key of flows/data/prices.toml) under the terms `version`;
    storage records the contract at today's price and opens its payment."""

    kind: str  # "service" | "membership"
    plan: str
    version: str


@dataclass(frozen=True, slots=True)
class StartPayment:
    """Effect: open (or reuse) the payment of the accepted contract of `kind` by `method` ("stripe" | "spei")."""

    method: str
    kind: str = "service"  # "service" | "membership"


Effect = RecordConsent | FileCase | AssignDocument | Subscribe | Unsubscribe | AcceptContract | StartPayment


Parser = Callable[[str, Data], Parsed]
Condition = Callable[[Data], bool]
Renderer = Callable[[Context], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Route:
    """A guarded destination: the first route whose condition holds is taken."""

    goto: str
    when: Condition | None = None


Target = str | tuple[Route, ...]  # a bare step name, or guarded routes tried in order


def routes(goto: Target | None) -> tuple[Route, ...]:
    """A `goto` as routes: a bare step name is one unconditional route."""
    if goto is None:
        return ()
    return (Route(goto),) if isinstance(goto, str) else goto


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. `key` is the stable payload; `title` a msgid; `synonyms` are typed alternatives."""

    key: str
    title: str
    goto: str | tuple[Route, ...]
    synonyms: tuple[str, ...] = ()
    sets: Mapping[str, Any] = field(default_factory=dict)
    effects: tuple[Effect, ...] = ()
    numbers: tuple[float, float] | None = None  # a typed number in this range picks it ("tengo 55" -> 18 to 59)
    # Consent, confirming, deleting: taken only when tapped or said plainly (the strict pass, and not as a question),
    # never guessed from a sentence ("sí, pero primero quiero leerlo", "ni loco acepto", "todo bien excepto…").
    explicit: bool = False
    # Intents that, said as a statement here, are this answer: "tengo diabetes" at "any pre-existing condition?"
    intents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Upload:
    """A document slot filled by a checked photo or PDF; `goto` follows once it is accepted."""

    slot: str
    goto: str | tuple[Route, ...]
    # While this holds, a file sent anywhere is this upload: a transfer receipt sent from the menu days later.
    catches: Condition | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """A typed answer stored under `field` after `parse` accepts it."""

    field: str
    parse: Parser
    goto: str | tuple[Route, ...]
    append: bool = False  # collect a list (beneficiaries) instead of replacing the value


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
    upload: Upload | None = None
    where: str = ""
    values: Renderer | None = None
    then: str | tuple[Route, ...] | None = None
    command_choices: tuple[str, ...] = ()  # global commands offered as extra buttons ("human", "menu")
    resumable: bool = True  # False: coming back to the flow starts at its beginning instead of here
    event: str | None = None  # reported to the caller on entering (e.g. "needs_review" puts it in the staff queue)
    prompt: str | None = None  # the one short line that asks again after a miss or a FAQ (default: the last bubble)
    ages: bool = False  # the choices' numbers are ages: "nací en 1985" is read as the age it gives today


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

"""The conversation corpus: real-sounding messages at every kind of step, each with what it must mean.

tests/corpus/utterances.csv is data, one row per message: the step the applicant is at, what they type (typos,
no accents, slang, English, emoji, off-script questions) and what must happen. Staff grow it when they report a
new phrasing. Each row runs against the pure engine on a fresh conversation standing at that step:

- `pick:<key>`: the same as tapping the button `<key>` (same step after, same data stored);
- `cmd:<name>`: the same as tapping the global command `<name>`;
- `faq:<name>`: the FAQ's short answer, then the same question again, nothing stored;
- `store:<value>`: the question's field stored with exactly that value;
- `refuse`: nothing stored, the same question again (a question, a sentence where a name or number goes…);
- `miss`: not understood, counted as a miss; `greeting`, `thanks`, `unsure`, `doubt`: a short line, nothing stored;
- `enroll`: "we are already on your enrollment" inside the enrollment; `lang:<locale>`: the language switches.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.core.messages import Inbound
from bot.core.state import DialogState
from bot.dialog.engine import Engine
from bot.dialog.turn import DialogResult
from flows.registry import FLOWS
from flows.rules.intents import BY_NAME, faq_values
from locales import translate

CORPUS = Path(__file__).parent / "corpus" / "utterances.csv"
NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
ENGINE = Engine(FLOWS)
LINES = {"greeting": "Hi! 👋", "thanks": "You are welcome! 😊",
         "enroll": "We are already on your enrollment. Let's go on:",
         "unsure": "No problem. Choose the closest answer: an advisor checks everything before filing. Or write "
                   "*asesor* to talk to a person.",
         "doubt": "Sure, write your question and I will answer it. If you prefer a person, write *asesor*."}
SWITCHED_TO_ENGLISH = "Sure, let's go on in English. Write *español* to switch back."
BASE_DATA = {"confirm_email": {"email": "ana@gmail.com"}}


@dataclass(frozen=True, slots=True)
class Row:
    step: str
    says: str
    expect: str


def rows() -> list[Row]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        return [Row(**row) for row in csv.DictReader(handle)]


def turn(step: str, text: str = "", payload: str | None = None, locale: str = "es_MX") -> DialogResult:
    flow = ENGINE.steps[step][0].name
    state = DialogState(flow=flow, state=step, locale=locale, updated_at=NOW, data=dict(BASE_DATA.get(step, {})))
    return ENGINE.run(state, Inbound("corpus", "ana", "m1", text=text, payload=payload), NOW)


def personal(result: DialogResult) -> dict[str, object]:
    return {key: value for key, value in result.conversation.data.items() if not key.startswith("_")}


def mismatch(row: Row) -> str | None:
    """What the engine did differently from the row, or None when it did what the row says."""
    kind, _, value = row.expect.partition(":")
    locale = "en" if row.expect == "lang:es_MX" else "es_MX"
    result = turn(row.step, row.says, locale=locale)
    after = result.conversation
    texts = [reply.text for reply in result.replies]
    before = dict(BASE_DATA.get(row.step, {}))
    field = question.field if (question := ENGINE.steps[row.step][1].question) else None
    if kind in ("pick", "cmd"):
        tapped = turn(row.step, payload=value if kind == "pick" else f"cmd:{value}", locale=after.locale)
        texts = [text for text in texts if text != SWITCHED_TO_ENGLISH]  # a message in English switches first
        got = (after.state, after.owner, personal(result), texts)
        want = (tapped.conversation.state, tapped.conversation.owner, personal(tapped),
                [reply.text for reply in tapped.replies])
        return None if got == want else f"got {got}, tapping {value!r} gives {want}"
    if kind == "lang":
        return None if after.locale == value else f"locale {after.locale!r}"
    stayed = after.state == row.step and personal(result) == before
    if kind == "faq":
        context = ENGINE.context(after, NOW.date())
        answer = translate(after.locale, BY_NAME[value].answer, **faq_values(context))
        return None if stayed and answer in texts else f"at {after.state!r}, said {texts[:1]}"
    if kind == "store":
        stored = after.data.get(field or "")
        return None if str(stored) == value else f"stored {stored!r} at {after.state!r}"
    if kind in ("refuse", "miss"):
        return None if stayed and after.misses == 1 else f"at {after.state!r} with {personal(result)}, said {texts[:1]}"
    if kind in LINES:
        line = translate(after.locale, LINES[kind])
        return None if stayed and line in texts else f"at {after.state!r}, said {texts[:1]}"
    return f"unknown expectation {row.expect!r}"


def test_the_corpus_is_big_and_covers_the_steps() -> None:
    corpus = rows()
    assert len(corpus) >= 300
    assert all(row.step in ENGINE.steps for row in corpus)
    assert len({row.step for row in corpus}) >= 25


def test_every_utterance_of_the_corpus_is_understood() -> None:
    corpus = rows()
    wrong = [(row, problem) for row in corpus if (problem := mismatch(row)) is not None]
    accuracy = 100 * (len(corpus) - len(wrong)) / len(corpus)
    print(f"\ncorpus accuracy: {len(corpus) - len(wrong)}/{len(corpus)} = {accuracy:.1f}%")
    assert not wrong, "\n".join(f"{row.step} | {row.says!r} -> {row.expect}: {problem}" for row, problem in wrong)

"""Typed-answer matching: "2", "Sí!!", "👍" and "si" all pick the same button."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from bot.core.text import normalise

_NUMBER_WORDS = {
    "uno": "1", "one": "1", "dos": "2", "two": "2", "tres": "3", "three": "3", "cuatro": "4",
    "four": "4", "cinco": "5", "five": "5", "seis": "6", "six": "6", "siete": "7", "seven": "7",
    "ocho": "8", "eight": "8", "nueve": "9", "nine": "9",
}


def pick(text: str, options: Sequence[Sequence[str]]) -> int | None:
    """Return the index of the option the text names, or None when it names none or several.

    Each option is a list of names: its title(s), key and synonyms. A number picks by position; then
    exact names; then a unique option whose name starts with the text; then a close spelling.
    """
    said = normalise(text)
    if not said:
        return None
    said = _NUMBER_WORDS.get(said, said)
    if said.isdigit():
        index = int(said) - 1
        return index if 0 <= index < len(options) else None
    names = [[normalise(name) for name in option if name] for option in options]
    exact = [i for i, option in enumerate(names) if said in option]
    if len(exact) == 1:
        return exact[0]
    if len(said) >= 3:
        prefix = [
            i for i, option in enumerate(names)
            if any(name.startswith(said + " ") or f" {said}" in f" {name} " for name in option)
        ]
        if len(prefix) == 1:
            return prefix[0]
    # "si claro", "no gracias": an option named by the first words of the answer.
    leading = [i for i, option in enumerate(names) if any(said.startswith(name + " ") for name in option)]
    if len(leading) == 1:
        return leading[0]
    scored = sorted(
        ((max((difflib.SequenceMatcher(None, said, name).ratio() for name in option), default=0), i)
         for i, option in enumerate(names)),
        reverse=True,
    )
    if scored and scored[0][0] >= 0.84 and (len(scored) == 1 or scored[1][0] < scored[0][0] - 0.05):
        return scored[0][1]
    return None

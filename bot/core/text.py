"""Text helpers every layer shares: how a typed answer is compared, and how a long text is cut for a platform."""

from __future__ import annotations

import re
import unicodedata

_EMOJI_WORDS = {
    "👍": " si ", "👌": " si ", "✅": " si ", "✔": " si ", "☑": " si ", "🙌": " si ",
    "👎": " no ", "❌": " no ", "✖": " no ", "🚫": " no ",
}
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, drop accents, punctuation and emoji; map a few emoji to yes/no."""
    for emoji, word in _EMOJI_WORDS.items():
        text = text.replace(emoji, word)
    decomposed = unicodedata.normalize("NFKD", text.lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = _NOT_WORD.sub(" ", bare)
    return _SPACES.sub(" ", bare).strip()



def spelled_out_numbers(text: str) -> str:
    """ "ocho mil pesos" -> "8000 pesos", "tengo treinta y cuatro" -> "tengo 34", "eight thousand" -> "8000".

    text2num's Spanish reader, which leaves lone small words ("un", "una") alone, so "tengo una tiendita" stays.
    A text with digits is left as typed: "12 mil" is the income parser's to read.
    """
    if any(ch.isdigit() for ch in text):
        return text
    from text_to_num import alpha2digit  # a compiled extension: loaded on the first number typed in words

    try:
        return str(alpha2digit(alpha2digit(text, "es"), "en"))  # "eight thousand" too
    except (ValueError, TypeError):  # a reader's limit is never the applicant's problem
        return text


def without_symbols(text: str) -> str:
    """Emoji and pictographs taken out ("Ana López 😊" -> "Ana López"): names and addresses never carry them."""
    kept = "".join(ch for ch in text if ch in "´`"  # typed as apostrophes: the name parser asks about them
                   or (unicodedata.category(ch) not in ("So", "Sk", "Cs", "Co") and ch not in "\u200d\ufe0f\ufe0e"))
    return _SPACES.sub(" ", kept).strip()


def split_text(text: str, limit: int) -> list[str]:
    """Split a text into chunks of at most `limit` characters, preferring paragraph, line, then word breaks.

    Platforms reject longer texts (Telegram 4,096, WhatsApp 1,600), and a cut mid-word reads badly.
    """
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 3:
                break
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks

"""Typed-answer matching: "2", "Sí!!", "👍", "sip", "tengo 55" and "méxico, sí" all pick the right button.

An answer is matched in two passes. `pick(strict=True)` takes only what cannot be anything else: a
number (a position, or a value inside an option's range such as an age), the yes/no words alone ("sip",
"claro", "nel"), an option's exact name, its words in any order, or its name with only courtesy words
around it ("no, gracias"). The dialog asks the intent layer (FAQ, commands) between the passes, and only
then the loose pass: a yes or no that leads an explanation ("sí, vendo comida", "no tengo patrón"), one
option named inside a sentence ("quiero cambiar mi correo", "acepto todo"), then a close spelling
(rapidfuzz). "no sé" is never "no": it names an "unsure" option or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.core.text import normalise, spelled_out_numbers

_NUMBER_WORDS = {
    "uno": "1", "one": "1", "dos": "2", "two": "2", "tres": "3", "three": "3", "cuatro": "4",
    "four": "4", "cinco": "5", "five": "5", "seis": "6", "six": "6", "siete": "7", "seven": "7",
    "ocho": "8", "eight": "8", "nueve": "9", "nine": "9",
}
# Whole answers that mean yes or no, with or without courtesy words around them.
YES_WORDS = frozenset({"si", "sip", "sii", "siii", "sep", "simon", "claro", "ok", "okey", "okay", "oki", "va",
                       "dale", "sale", "yes", "yeah", "yep", "yup", "sure", "correcto", "exacto", "afirmativo",
                       "de acuerdo", "por supuesto", "esta bien", "si claro", "asi es", "andale", "orale"})
NO_WORDS = frozenset({"no", "nop", "nope", "nel", "nah", "negativo", "para nada", "nel pastel", "tampoco",
                      "ninguno", "ninguna", "nada", "nunca", "jamas", "not", "never", "dont"})
# Words that make a sentence too subtle to guess from (the loose pass abstains; the applicant is asked again):
# a contrast ("sí, pero…", "todo bien excepto el correo"), a negation the yes/no words miss ("ni loco acepto",
# "I don't accept"), someone else ("mi esposo tiene un negocio"), the past ("antes tenía negocio").
_TOO_SUBTLE = frozenset({
    "pero", "excepto", "menos", "salvo", "aunque", "solo que", "nada mas que", "but", "except", "unless",
    "ni", "sin", "not", "dont", "doesnt", "didnt", "wont", "cant", "cannot", "isnt", "arent", "never", "without",
    "esposo", "esposa", "marido", "mama", "papa", "hijo", "hija", "hijos", "hermano", "hermana", "pareja", "novio",
    "novia", "abuela", "abuelo", "suegra", "suegro", "husband", "wife", "mom", "dad", "son", "daughter", "brother",
    "sister", "partner", "papas", "padres", "familia", "hermanos", "abuelos", "tio", "tia", "primo", "prima",
    "amigo", "amiga", "parents", "family", "friend",
    "antes", "tenia", "trabajaba", "era", "cerre", "deje", "used", "was", "former", "vivi", "vivia", "quebro",
    "cerro", "cerramos", "fue", "hicieron",
    "emprender", "quisiera", "si tuviera", "if", "tuve", "tuvo", "salio bien", "esta bien", "algun dia",
    "hace anos", "buscando", "quiero ser", "me gustaria", "would like",
})
# "si" without its accent before these is "if", not "yes": "si me contratan me doy de baja", "si fuera gratis".
_CONDITIONAL = re.compile(r"(?:^|[^\w])si\s+(?:me|te|se|le|lo|la|nos|les|fuera|fueran|tuviera|hubiera|pudiera|"
                          r"llego|llega|llegara|algun|alguna|acaso)\b", re.IGNORECASE)
# Putting it off, said any way: an option for "later" lists these ("déjame pensarlo" is not a yes to anything).
LATER = ("despues", "luego", "mas tarde", "otro dia", "ahorita no", "ahora no", "todavia no", "aun no", "lo pienso",
         "lo voy a pensar", "lo quiero pensar", "quiero pensarlo", "dejame pensarlo", "dejeme pensarlo", "pensarlo",
         "lo pensare", "te aviso", "le aviso", "not now", "let me think", "think about it", "maybe later")
# Idioms that start with "no" or "nada" and deny nothing: "no manches, vendo tamales", "nada más vendo por catálogo".
_NOT_DENIALS = ("no manches", "no mames", "no pos", "no pues", "no hay problema", "no hay bronca", "no hay pedo",
                "nada mas", "nomas", "no es que")
# Words that may surround an option's name without changing it: "no, gracias", "el 2 por favor".
COURTESY = frozenset({"gracias", "por", "favor", "porfa", "porfavor", "please", "thanks", "pls", "claro", "mmm",
                      "pues", "bueno", "oye", "ok", "la", "el", "opcion", "option", "quiero", "ver", "a", "de",
                      "mi", "me", "los", "las", "sobre", "lo", "the", "i", "want", "to", "see", "about", "soy", "yo",
                      "estoy", "am", "im", "edad", "anos", "tengo", "years", "old", "una", "un", "mejor", "vivo", "en",
                      "te", "mando", "envio", "paso", "con", "dios", "pos", "oiga", "oigan", "ps"})
# The bare negations, which name no option on their own inside a sentence ("nunca" or "ninguno" may).
_BARE_NO = frozenset({"no", "nop", "nope", "nel", "nah"})
# Words around a number that leave it the answer: "de 18 a 59", "tengo 34 años cumplidos", "desde 1995".
_RANGE_WORDS = frozenset({"cumplidos", "anos", "desde", "y", "entre", "ya", "apenas", "medio"})
# Words around a number that make it a button's position, even where numbers are ages: "opción 3", "la 2".
_POSITION_WORDS = frozenset({"la", "el", "opcion", "option", "numero", "boton", "the", "number"})
# "I am not sure" in the ways people say it; an "unsure" option lists these as synonyms.
UNSURE = ("no se", "no lo se", "no me acuerdo", "no recuerdo", "no estoy seguro", "no estoy segura", "ni idea",
          "quien sabe", "tal vez", "no sabria decir", "nose", "not sure", "i dont know", "dont know",
          "i do not know", "dont remember", "no tengo idea")
# A close spelling counts from this rapidfuzz ratio, when no other option is nearly as close.
SPELLING_SIMILARITY = 84
SPELLING_MARGIN = 5
_NUMBER = re.compile(r"\d+")


def _canonical(said: str) -> str:
    """ "sip", "claro que si", "ok gracias" -> "si"; "nel", "no gracias" -> "no"; anything else unchanged."""
    words = said.split()
    if said in YES_WORDS or (words and all(w in YES_WORDS or w in COURTESY or w == "que" for w in words)
                             and any(w in YES_WORDS for w in words)):
        return "si"
    if said in NO_WORDS or (words and all(w in NO_WORDS or w in COURTESY for w in words)
                            and any(w in NO_WORDS for w in words)):
        return "no"
    return said


def _too_subtle(said: str, text: str, option: Sequence[str] = ()) -> bool:
    """Whether a _TOO_SUBTLE word is in the sentence, other than in the option's own names ("mi esposa" answers
    "do you want to add beneficiaries?"), or the sentence is a condition ("si me contratan…")."""
    own = {word for name in option for word in name.split()}
    padded = f" {said} "
    return any(f" {word} " in padded for word in _TOO_SUBTLE if word not in own) or bool(_CONDITIONAL.search(text))


def _leading_yes_no(said: str, text: str) -> str | None:
    """ "sí, trabajo por mi cuenta" -> "si"; "no tengo patrón", "no, vivo en Monterrey" -> "no".

    The loose pass only (the intent layer has already had "si me rechazan, ¿me devuelven?" and "no entiendo"),
    and never for a question, an answer that says both, or a doubt ("no sé si…").
    """
    words = said.split()
    while len(words) > 2 and words[0] in COURTESY and words[0] not in YES_WORDS:  # "pues sí, vendo ropa"
        words = words[1:]
    if len(words) < 2 or "?" in text or "¿" in text or any(f" {doubt} " in f" {said} " for doubt in UNSURE) \
            or " ".join(words).startswith(_NOT_DENIALS):
        return None
    lead = _canonical(words[0])
    if lead not in ("si", "no"):
        return None
    opposite = YES_WORDS if lead == "no" else NO_WORDS
    return None if any(word in opposite for word in words[1:]) else lead


def _led_by_yes_no(said: str, text: str, names: Sequence[Sequence[str]]) -> int | None:
    """The yes or no option a leading "sí"/"no" answers, unless the rest of the sentence takes it back."""
    lead = _leading_yes_no(said, text)
    found = _only([i for i, option in enumerate(names) if lead in option]) if lead else None
    if found is None or _too_subtle(said, text, names[found]):
        return None
    rest = f" {said.partition(' ')[2]} "

    def names_in_rest(indexes: Sequence[int]) -> bool:
        return any(len(name) >= 3 and name not in YES_WORDS and name not in _BARE_NO and f" {name} " in rest
                   for i in indexes for name in names[i])

    # Unless a comma sets the "no" apart ("no, vivo en el otro lado"), it denies what follows it: "no quiero
    # cambiar nada" at "is everything right?" denies "cambiar", the edit option's own name.
    apart = re.match(r"^\W*\w+\s*[,.;:!]", text) is not None
    if lead == "no" and not apart and names_in_rest([found]):
        return None
    # "sí, de Guatemala", "no, ya regresé a México": the rest names another option (not denied in turn, as in
    # "no soy burócrata" or "no, no estoy pensionado").
    others = [i for i in range(len(names)) if i != found]
    if (lead == "si" or apart) and not any(word in NO_WORDS for word in rest.split()) and names_in_rest(others):
        return None
    return found


def _named_inside(said: str, text: str, names: Sequence[Sequence[str]]) -> int | None:
    """The one option whose name (a word of 4+ letters, or several words) is inside the sentence.

    Not for a question, and not past a "no": "no está correcto" does not confirm, "no quiero cambiar nada" does not
    edit.
    """
    if "?" in text or "¿" in text or said.startswith(_NOT_DENIALS):
        return None
    padded = f" {said} "
    short = len(said.split()) <= 3  # "no, nunca" names "nunca"; "nunca me acuerdo de eso" does not
    named = [(i, name) for i, option in enumerate(names) for name in option
             if (len(name) >= 3 or " " in name) and name not in YES_WORDS and name not in _BARE_NO
             and (short or name not in NO_WORDS) and f" {name} " in padded]
    index = _only([i for i, _ in named])
    if index is None or _too_subtle(said, text, names[index]):
        return None
    # A "no" in the sentence denies the option, unless the option's own name is the negative ("nunca", "ni uno").
    negative = any(word in NO_WORDS for name in (n for i, n in named if i == index) for word in name.split())
    # "no, quiero corregir algo": a "no" set apart by a comma answers the question; the rest says what instead,
    # unless what it names is the yes ("no, ya regresé a México" at "do you live in Mexico?" says both).
    first, _, rest = said.partition(" ")
    apart = first in NO_WORDS and re.match(r"^\W*\w+\s*[,.;:!]", text) is not None \
        and not any(name in YES_WORDS for name in names[index])
    denials = rest.split() if apart else said.split()
    return index if negative or not any(word in NO_WORDS for word in denials) else None


def _by_range(said: str, ranges: Sequence[tuple[float, float] | None]) -> int | None:
    """ "tengo 55", "55 años", "de 18 a 59": the one option whose range holds every number said."""
    numbers = [int(n) for n in _NUMBER.findall(said)]
    if not numbers:
        return None
    fits = {i for i, bounds in enumerate(ranges) if bounds and all(bounds[0] <= n <= bounds[1] for n in numbers)}
    return fits.pop() if len(fits) == 1 else None


def _only(indexes: list[int]) -> int | None:
    unique = sorted(set(indexes))
    return unique[0] if len(unique) == 1 else None


def pick(text: str, options: Sequence[Sequence[str]], ranges: Sequence[tuple[float, float] | None] = (),
         *, strict: bool = False) -> int | None:
    """Return the index of the option the text names, or None when it names none or several.

    Each option is a list of names: its title(s), key and synonyms. `ranges` optionally gives each option
    the numbers it stands for (ages). `strict` leaves out the close-spelling pass.
    """
    said = normalise(text.replace("'", "").replace("’", ""))
    if not said:
        return None
    said = _NUMBER_WORDS.get(said, said)
    words = said.split()
    if len(words) > 1 and sum(word.isdigit() for word in words) == 1 and (
            all(word in _POSITION_WORDS or word.isdigit() for word in words)
            or (not any(ranges) and all(word in COURTESY or word.isdigit() for word in words))):
        said = next(word for word in words if word.isdigit())  # "opción 1", "la 5", "el 2 por favor"
    if said.isdigit():
        index = int(said) - 1
        if 0 <= index < len(options):
            return index
        return _by_range(said, ranges) if ranges else None
    if ranges and any(ranges):
        numeric = normalise(spelled_out_numbers(said))  # "treinta y cuatro" is 34
        # A number is the answer among courtesy words only ("tengo 34 años", "en 1995"), not in "tengo 3 hijos",
        # "voy a cumplir 60", "soy del 75", "nací en 1985" or "la tercera edad".
        plain = all(word in COURTESY or word in _RANGE_WORDS or word.isdigit() for word in numeric.split())
        found = _by_range(numeric, ranges) if _NUMBER.search(numeric) and plain else None
        if found is not None:
            return found
    names = [[normalise(name) for name in option if name] for option in options]
    exact = _only([i for i, option in enumerate(names) if said in option])
    if exact is not None:
        return exact
    canonical = _canonical(said)
    if canonical != said:
        found = _only([i for i, option in enumerate(names) if canonical in option])
        if found is not None:
            return found
    words = said.split()
    in_any_order = _only([i for i, option in enumerate(names)
                          if any(sorted(name.split()) == sorted(words) for name in option)])
    if in_any_order is not None:
        return in_any_order
    if len(said) >= 3:  # a whole word or words of one option's name: "incluye" for "que incluye"
        part = _only([i for i, option in enumerate(names) if any(f" {said} " in f" {name} " for name in option)])
        if part is not None:
            return part
    # The option's name among courtesy words: "no, gracias", "quiero ver los requisitos".
    surrounded = []
    for i, option in enumerate(names):
        own = {word for name in option for word in name.split()}  # "sí, soy mexicano": two names of one option
        for name in option:
            rest = f" {said} ".replace(f" {name} ", " ", 1)
            if rest != f" {said} " and all(word in COURTESY or word in own for word in rest.split()):
                surrounded.append(i)
    found = _only(surrounded)
    if found is not None or strict:
        return found
    found = _led_by_yes_no(said, text, names)
    if found is None:
        found = _named_inside(said, text, names)
    if found is not None:
        return found
    scored = sorted(((max((fuzz.ratio(said, name), name) for name in option) if option else (0.0, ""), i)
                     for i, option in enumerate(names)), reverse=True)
    if scored and scored[0][0][0] >= SPELLING_SIMILARITY and (
            len(scored) == 1 or scored[1][0][0] < scored[0][0][0] - SPELLING_MARGIN):
        (_, closest), index = scored[0]
        # "no está correcto" is close to "está correcto" in spelling, and its opposite in meaning.
        denied = bool({word for word in said.split() if word in NO_WORDS or word in ("sin", "ni")}
                      - set(closest.split()))
        return None if denied else index
    return None

"""The dialog as a specification: tables of what the applicant says and what the bot answers, in es_MX.

Each table is one conversation read top to bottom. A row is `(the applicant says, Bot(...))`: a typed text, a
`Tap` on a button (its payload, as every channel sends it) or a `Later` message after some time away, then what
must hold after that turn: fragments of the reply in order, the question it ends on, the buttons offered, the
step the conversation is in, and so on. Whatever a row leaves out is not checked.

The tables run against the pure engine (DESIGN §4): `Engine(FLOWS)`, a `DialogState` and `Inbound` messages at
a fixed time; no Flask, no database, no HTTP. The same conversations through the channels are the end-to-end
tests (test_journey, test_webchat, test_telegram, test_whatsapp...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.messages import Inbound
from bot.core.state import DialogState
from bot.dialog.engine import Engine
from bot.dialog.hours import BusinessHours
from bot.dialog.turn import DialogResult
from flows.model import AssignDocument, Effect, RecordConsent, Unsubscribe
from flows.registry import FLOWS
from flows.rules.legal import PRIVACY, TERMS
from tests.helpers import CURP, ELIGIBLE, FULL_NAME, HEALTHY, NSS, RFC

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # the 2026 IMSS constants apply
ENGINE = Engine(FLOWS)  # an engine holds no turn state: one serves every table


# -- the driver -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tap:
    """The applicant taps a button: `payload` is its key (`accept`, `cmd:human`...)."""

    payload: str


@dataclass(frozen=True, slots=True)
class Later:
    """The applicant writes `text` after being away for `after`."""

    text: str
    after: timedelta


Says = str | Tap | Later


@dataclass(frozen=True, slots=True)
class Bot:
    """What must hold after the applicant's message. Fields left out are not checked.

    says: fragments of the replies, found in this order. asks: the last bubble, exactly (the question the bot
    waits on). buttons: every button of the replies, in order. step: where the conversation is now. bubbles: how
    many replies (0: the bot stays silent). owner: "bot" or "human". data: stored fields (a subset). events and
    effects: what the turn reports to its caller and asks storage to record, exactly.
    """

    says: str | tuple[str, ...] = ()
    asks: str | None = None
    buttons: tuple[str, ...] | None = None
    step: str | None = None
    bubbles: int | None = None
    owner: str | None = None
    data: Mapping[str, Any] | None = None
    events: tuple[str, ...] | None = None
    effects: tuple[Effect, ...] | None = None

    def mismatches(self, result: DialogResult) -> list[str]:
        """What the turn did differently from this row, in words; empty when it matches."""
        texts = [reply.text for reply in result.replies]
        buttons = tuple(button.title for reply in result.replies for button in reply.buttons)
        state = result.conversation
        wrong: list[str] = []
        text, position = "\n".join(texts), 0
        for fragment in (self.says,) if isinstance(self.says, str) else self.says:
            found = text.find(fragment, position)
            if found < 0:
                wrong.append(f"expected the reply to say {fragment!r}" + (" after that" if position else ""))
                break
            position = found + len(fragment)
        if self.asks is not None and (texts[-1:] or [None])[0] != self.asks:
            wrong.append(f"expected it to end asking {self.asks!r}")
        if self.buttons is not None and buttons != self.buttons:
            wrong.append(f"expected the buttons {list(self.buttons)}, got {list(buttons)}")
        if self.step is not None and state.state != self.step:
            wrong.append(f"expected to be at step {self.step!r}, not {state.state!r}")
        if self.bubbles is not None and len(texts) != self.bubbles:
            wrong.append(f"expected {self.bubbles} bubble(s), got {len(texts)}")
        if self.owner is not None and state.owner != self.owner:
            wrong.append(f"expected the chat to be owned by {self.owner!r}, not {state.owner!r}")
        for key, value in (self.data or {}).items():
            if state.data.get(key) != value:
                wrong.append(f"expected {key}={value!r} stored, got {state.data.get(key)!r}")
        if self.events is not None and result.events != self.events:
            wrong.append(f"expected the events {self.events}, got {result.events}")
        if self.effects is not None and result.effects != self.effects:
            wrong.append(f"expected the effects {self.effects}, got {result.effects}")
        return wrong


Row = tuple[Says, Bot]
SILENT = Bot(bubbles=0)


class Dialog:
    """One applicant talking to the pure engine, with a transcript of everything said for failure messages."""

    def __init__(self) -> None:
        self.state = DialogState()
        self.now = NOW
        self.results: list[DialogResult] = []
        self.lines: list[str] = []

    def send(self, says: Says) -> DialogResult:
        text, payload, heard = "", None, f"Ana: {says}"
        if isinstance(says, Tap):
            payload, heard = says.payload, f"Ana taps [{says.payload}]"
        elif isinstance(says, Later):
            self.now += says.after
            text, heard = says.text, f"Ana, {says.after} later: {says.text}"
        else:
            text = says
        inbound = Inbound("spec", "ana", f"m{len(self.results) + 1}", text=text, payload=payload)
        result = ENGINE.run(self.state, inbound, self.now)
        self.state = result.conversation
        self.results.append(result)
        self.lines.append(f"{len(self.results):>3}. {heard}")
        for reply in result.replies:
            self.lines.append("     Bot: " + reply.text.replace("\n", "\n          "))
            if reply.buttons:
                self.lines.append("          " + " ".join(f"[{button.title}]" for button in reply.buttons))
        owner = "" if self.state.owner == "bot" else f", owned by {self.state.owner}"
        self.lines.append(f"     (at {self.state.state}{owner})")
        return result

    def text(self, turn: int = -1) -> str:
        """The texts of a turn's replies (the last one unless told), one per line."""
        return "\n".join(reply.text for reply in self.results[turn].replies)

    def check(self, row: int, expected: Bot) -> None:
        """Fail with what went wrong in this row, and the whole exchange so far."""
        wrong = expected.mismatches(self.results[-1])
        if wrong:
            exchange = "\n".join(self.lines)
            pytest.fail(f"row {row}: " + "; ".join(wrong) + f"\n\nThe exchange so far:\n{exchange}", pytrace=False)


def run(table: Sequence[Row]) -> Dialog:
    """Play the rows in order on one conversation and check each; a failure shows the whole exchange."""
    dialog = Dialog()
    for number, (says, expected) in enumerate(table, 1):
        dialog.send(says)
        dialog.check(number, expected)
    return dialog


# -- what the applicant reads -----------------------------------------------------------------------------------
MENU_QUESTION = "¿En qué te puedo ayudar? Elige una opción:"
MENU_BUTTONS = ("Iniciar mi inscripción", "Qué incluye el servicio", "Beneficios de inscribirte", "Requisitos",
                "Cuánto cuesta el IMSS", "Estado de mi trámite", "Recordatorios de pago", "Hablar con un asesor")
AT_THE_MENU = Bot(asks=MENU_QUESTION, buttons=MENU_BUTTONS, step="main_menu")
NOT_UNDERSTOOD = "Perdón, no te entendí. Toca uno de los botones o escribe tu respuesta."  # no numbers here
OFFER_A_PERSON = "Parece que esta pregunta está complicada. ¿Quieres que te ayude un asesor?"
HANDED_OVER = ("Listo. Un asesor de nuestro equipo te responderá por aquí. Mientras esperas, el asistente no va a "
               "contestar; escribe *menu* para volver con él.")
BACK_WITH_THE_BOT = "Ya estás de nuevo con el asistente."
INFORMATIVE = "Esto es informativo, no es una decisión del IMSS"
NAME_QUESTION = "¿Cuál es tu nombre completo, tal como aparece en tu CURP? (nombre o nombres y apellidos)"
CURP_QUESTION = "Escribe tu CURP (18 caracteres, p. ej. GODE561231HDFMZD08). Si tu nombre lleva Ñ, en la CURP va una X."
RFC_QUESTION = "Ahora tu RFC con homoclave (13 caracteres, p. ej. GODE561231GR8)."
NSS_QUESTION = "¿Cuál es tu NSS (número de seguridad social del IMSS, 11 dígitos)? Si no tienes, toca el botón."
EMAIL_QUESTION = "¿Cuál es tu correo electrónico personal? El IMSS te enviará ahí una confirmación."
WELCOME_BACK = "¡Qué gusto que regreses! Íbamos en: "
BENEFITS_QUESTION = ("Al inscribirte te cubren los cinco seguros del IMSS: enfermedades y maternidad, riesgos de "
                     "trabajo, invalidez y vida, retiro y vejez, y guarderías y prestaciones sociales. ¿De qué "
                     "beneficio quieres saber más?")

# Conversations start with these rows to reach the part a table is about; they are checked too.
TO_THE_TERMS: list[Row] = [
    ("hola", AT_THE_MENU),
    ("1", Bot("¡Perfecto, empecemos!", buttons=("Acepto", "No acepto"), step="enroll_start")),
]
CONSENTED: list[Row] = [
    *TO_THE_TERMS,
    ("acepto", Bot("*Aviso de privacidad (simplificado)*", step="privacy_notice")),
    ("acepto", Bot("Es solo informativa: la decisión oficial siempre es del IMSS.", step="q_own_income")),
]
QUALIFIED: list[Row] = [
    *CONSENTED,
    *[(answer, Bot()) for answer in (*ELIGIBLE, *HEALTHY)],
    ("continuar", Bot(asks=NAME_QUESTION, step="ask_full_name")),
]
AT_THE_CURP: list[Row] = [*QUALIFIED, (FULL_NAME, Bot(asks=CURP_QUESTION, step="ask_curp"))]


# -- the tables -------------------------------------------------------------------------------------------------
GREETING_AND_MAIN_MENU: list[Row] = [
    ("hola", Bot(("¡Hola! 👋 Soy el asistente del servicio de inscripción al IMSS", "desde tu celular."),
                 asks=MENU_QUESTION, buttons=MENU_BUTTONS, step="main_menu", bubbles=2)),
    # Greeting again is not a mistake: a friendly hello and the same menu.
    ("Buenas tardes", Bot("¡Hola! 👋", asks=MENU_QUESTION, buttons=MENU_BUTTONS, bubbles=2)),
    ("4", Bot(("*Qué tener a la mano*", "Tu CURP"), buttons=("Iniciar mi inscripción", "Menú principal"),
              step="requirements")),
    ("menú", AT_THE_MENU),
]

COSTS_QUOTE_THE_DATED_CONSTANTS: list[Row] = [
    ("hola", AT_THE_MENU),
    ("5", Bot(("un salario mínimo ($315.04, o $440.87 en la frontera norte) hasta 25 UMA ($2,932.75)",
               "a más tardar el día 20", "declarar un salario mínimo en 2026 cuesta alrededor de $1,879.17 al mes"),
              buttons=("Iniciar mi inscripción", "Hablar con un asesor", "Menú principal"), step="costs")),
]

ONE_BENEFIT_BUTTONS = ("Otros beneficios", "Iniciar mi inscripción", "Menú principal")
EVERY_BENEFIT_ONE_AT_A_TIME: list[Row] = [
    ("hola", AT_THE_MENU),
    ("beneficios", Bot(asks=BENEFITS_QUESTION,
                       buttons=("Atención médica", "Maternidad", "Accidentes de trabajo", "Invalidez y vida",
                                "Retiro y AFORE", "Guarderías y prestaciones", "Vivienda (INFONAVIT)",
                                "¿Solo pensión? (Modalidad 40)", "Menú principal"), step="benefits")),
    (Tap("medical"), Bot("*Atención médica* para ti y tu familia", buttons=ONE_BENEFIT_BUTTONS,
                         step="benefit_medical")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("maternity"), Bot("puede aplicar un periodo de espera de 10 meses", buttons=ONE_BENEFIT_BUTTONS,
                           step="benefit_maternity")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("accidents"), Bot("*Accidentes y enfermedades de trabajo*", buttons=ONE_BENEFIT_BUTTONS,
                           step="benefit_accidents")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("invalidity"), Bot("250 semanas cotizadas", buttons=ONE_BENEFIT_BUTTONS, step="benefit_invalidity")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("retirement"), Bot("tu cuenta de AFORE", buttons=ONE_BENEFIT_BUTTONS, step="benefit_retirement")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("daycare"), Bot("*Guarderías y prestaciones sociales*", buttons=ONE_BENEFIT_BUTTONS, step="benefit_daycare")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("infonavit"), Bot("aportaciones voluntarias al INFONAVIT (5%)", buttons=ONE_BENEFIT_BUTTONS,
                           step="benefit_infonavit")),
    (Tap("more"), Bot(step="benefits")),
    (Tap("pension_only"), Bot("La Modalidad 40 es otra opción del IMSS: solo pensión, sin atención médica.",
                              buttons=ONE_BENEFIT_BUTTONS, step="pension_only")),
    (Tap("more"), Bot(step="benefits")),
    # Typed, too: a synonym of a benefit, then of "other benefits".
    ("vivienda", Bot(step="benefit_infonavit")),
    ("otros", Bot(step="benefits")),
]

BACK_WALKS_THE_HISTORY: list[Row] = [
    ("hola", AT_THE_MENU),
    ("3", Bot(step="benefits")),
    ("1", Bot(step="benefit_medical")),
    ("atrás", Bot(asks=BENEFITS_QUESTION, bubbles=1, step="benefits")),
    ("atras", Bot(asks=MENU_QUESTION, bubbles=1, step="main_menu")),
]

CHOICES_TYPED_ANY_WAY: list[Row] = [
    # Buttons are also answered typing their number, their title or a synonym, whatever the case, accents,
    # punctuation or emoji.
    *TO_THE_TERMS,
    ("ACEPTO!!", Bot(step="privacy_notice")),
    ("Sí, acepto 👍", Bot(step="q_own_income")),
    ("Sí!!", Bot(asks="¿Trabajas en la administración pública federal, estatal o municipal?",
                 buttons=("Sí", "No"), step="q_public_admin", data={"elig_own_income": "yes"})),
    ("👎", Bot(step="q_salaried", data={"elig_public_admin": "no"})),
    ("nel", Bot(step="q_nationality", data={"elig_salaried": "no"})),
    ("MEXICANA", Bot(step="q_abroad", data={"elig_nationality": "mexican"})),
    ("sí, en méxico", Bot(step="q_first_registration", data={"elig_abroad": "no"})),
    ("dos", Bot(step="q_age", data={"elig_first_registration": "after_1997"})),
    ("18 a 59", Bot(step="q_pensioner", data={"elig_age": "18_59"})),
    ("No.", Bot(step="health_consent", data={"elig_pensioner": "no"})),
    ("sí, autorizo", Bot(step="q_preexisting", data={"health_consent": True})),
    ("nop", Bot(step="q_pregnancy", data={"elig_preexisting": "no"})),
    ("ninguna 🙂", Bot(step="elig_likely", data={"elig_pregnancy": "none"})),
]

A_WRONG_CHOICE_IS_CORRECTED_AND_THE_THIRD_MISS_OFFERS_A_PERSON: list[Row] = [
    ("hola", AT_THE_MENU),
    ("blablabla", Bot((NOT_UNDERSTOOD, MENU_QUESTION), asks=MENU_QUESTION, buttons=MENU_BUTTONS, bubbles=2)),
    ("blablabla", Bot((NOT_UNDERSTOOD, MENU_QUESTION), asks=MENU_QUESTION, buttons=MENU_BUTTONS, bubbles=2)),
    ("blablabla", Bot((NOT_UNDERSTOOD, MENU_QUESTION, OFFER_A_PERSON), asks=OFFER_A_PERSON, bubbles=3,
                      buttons=(*MENU_BUTTONS, "Hablar con un asesor"), events=("offered_human",))),
    (Tap("cmd:human"), Bot(HANDED_OVER, owner="human", events=("handoff",))),
]

A_RIGHT_ANSWER_RESETS_THE_MISSES: list[Row] = [
    ("hola", AT_THE_MENU),
    ("xx", Bot(NOT_UNDERSTOOD)),
    ("yy", Bot(NOT_UNDERSTOOD)),
    ("4", Bot(step="requirements")),
    # the correction and only the short prompt with its buttons (not the whole topic again), no offer
    ("zz", Bot((NOT_UNDERSTOOD, "Elige una opción para seguir:"), bubbles=2,
               buttons=("Iniciar mi inscripción", "Menú principal"))),
]

A_WRONG_TYPED_ANSWER_GETS_A_SPECIFIC_CORRECTION: list[Row] = [
    *AT_THE_CURP,
    ("GODE561231", Bot("Tu CURP tiene 10 caracteres, pero debe tener 18.", asks=CURP_QUESTION, bubbles=2)),
    ("GOÑE561231HDFNZD03", Bot("En la CURP, la letra Ñ siempre se escribe como X.", asks=CURP_QUESTION)),
    ("GODE561231HDFNZD04", Bot(("El último dígito de tu CURP no coincide con el resto.", CURP_QUESTION, OFFER_A_PERSON),
                               asks=OFFER_A_PERSON, buttons=("No tengo mi CURP a la mano", "Hablar con un asesor"),
                               events=("offered_human",))),
    (CURP.lower(), Bot(asks=RFC_QUESTION, step="ask_rfc", data={"curp": CURP})),
]

CONSENT_COMES_FIRST_AND_IS_RECORDED: list[Row] = [
    ("hola", AT_THE_MENU),
    ("inscribirme", Bot(("No incluye las cuotas del IMSS", "La revisión de requisitos es informativa",
                         f"/legal/terms?v={TERMS.version}"), buttons=("Acepto", "No acepto"), step="enroll_start")),
    (Tap("accept"), Bot(("*Aviso de privacidad (simplificado)*", f"/legal/privacy?v={PRIVACY.version}"),
                        buttons=("Acepto", "No acepto"), step="privacy_notice",
                        effects=(RecordConsent("terms", TERMS.version, True),))),
    (Tap("accept"), Bot(("Primero, unas preguntas rápidas para una revisión preliminar. Es solo informativa: la "
                         "decisión oficial siempre es del IMSS.",
                         "¿Tienes ingresos por una actividad propia (negocio, oficio, honorarios, ventas…)?"),
                        buttons=("Sí", "No", "No estoy seguro(a)"), step="q_own_income",
                        effects=(RecordConsent("privacy", PRIVACY.version, True),))),
]

DECLINING_ENDS_POLITELY: list[Row] = [
    *TO_THE_TERMS,
    ("no acepto", Bot("No hay problema. Si no aceptas, no podemos hacer tu inscripción, y no guardé ningún dato "
                      "personal tuyo.", buttons=("Ver otra vez los términos", "Hablar con un asesor", "Menú principal"),
                      step="consent_declined",
                      effects=(RecordConsent("terms", TERMS.version, False),))),
    ("mis datos", Bot("No tengo guardado ningún dato personal tuyo.", step="my_data")),
    ("menu", AT_THE_MENU),
    (Tap("enroll"), Bot(f"/legal/terms?v={TERMS.version}", step="enroll_start")),  # starts over with the terms
]

ELIGIBILITY_PROBABLY_QUALIFIES: list[Row] = [
    *CONSENTED,
    *[(answer, Bot()) for answer in ELIGIBLE],
    ("autorizo", Bot(asks="¿Tienes alguna enfermedad crónica o preexistente (por ejemplo diabetes, cáncer, "
                          "insuficiencia renal, enfermedad del corazón o VIH)? El IMSS lo pregunta en su propio "
                          "cuestionario médico, y no declarar una enfermedad puede terminar la cobertura sin "
                          "reembolso.",
                     step="q_preexisting", effects=(RecordConsent("health", TERMS.version, True),))),
    # Asked of everyone, only after the health consent, and skippable (issue 14).
    ("no", Bot(asks="Última: ¿tienes un embarazo en curso o alguna cirugía programada?",
               buttons=("Ninguna de las dos", "Un embarazo", "Cirugía programada", "Prefiero no decirlo"),
               step="q_pregnancy")),
    ("no", Bot(("*Resultado preliminar: es probable que sí puedas inscribirte* ✅", "Ley 97", INFORMATIVE),
               buttons=("Continuar", "Hablar con un asesor", "¿Solo pensión? (Modalidad 40)"), step="elig_likely",
               events=())),
    ("continuar", Bot(asks=NAME_QUESTION, step="ask_full_name")),
]

ELIGIBILITY_NEEDS_AN_ADVISOR: list[Row] = [
    *CONSENTED,
    ("si", Bot(step="q_public_admin")),
    ("no", Bot(step="q_salaried")),
    ("no", Bot(step="q_nationality")),
    ("extranjera", Bot(asks="¿Tienes estancia legal en México y CURP?", step="q_legal_stay")),
    ("en trámite", Bot(step="q_abroad")),
    ("1", Bot(step="q_first_registration")),
    ("no sé", Bot(step="q_age")),
    ("60 a 64", Bot(step="q_pensioner")),
    ("si", Bot(buttons=("Sí, lo autorizo", "Omitir estas preguntas"), step="health_consent")),
    ("omitir", Bot(("*Resultado preliminar: conviene que un asesor revise tu caso* 🔎",
                    "Tu estancia legal está en trámite", "Como recibes una pensión", INFORMATIVE),
                   buttons=("Continuar", "Hablar con un asesor", "¿Solo pensión? (Modalidad 40)"), step="elig_review",
                   events=("needs_review",), effects=(RecordConsent("health", TERMS.version, False),))),
]

ELIGIBILITY_DOES_NOT_FIT: list[Row] = [
    *CONSENTED,
    *[(answer, Bot()) for answer in ("no", "no", "no", "1", "1", "2", "2", "no")],
    ("omitir", Bot(("*Resultado preliminar: parece que este esquema no es para ti*",
                    "Este esquema es para personas que tienen ingresos por una actividad propia.",
                    "Modalidad 40", "Seguro de Salud para la Familia", INFORMATIVE),
                   buttons=("Hablar con un asesor", "¿Solo pensión? (Modalidad 40)", "Menú principal"),
                   step="elig_not_for_you")),
]

COLLECTING_THE_APPLICANT_DATA: list[Row] = [
    *QUALIFIED,
    ("Ana", Bot("Necesito tu nombre y tus apellidos, por ejemplo: *María López Hernández*", asks=NAME_QUESTION)),
    ("eduardo   GONZÁLEZ díaz", Bot(asks=CURP_QUESTION, step="ask_curp", data={"full_name": FULL_NAME})),
    ("gode 561231 hdfnzd03", Bot(asks=RFC_QUESTION, step="ask_rfc",
                                 data={"curp": CURP, "birth_date": "1956-12-31", "sex": "H"})),
    ("XAXX010101000", Bot("Los primeros 10 caracteres de tu RFC deben ser iguales a los de tu CURP: *GODE561231*.",
                          asks=RFC_QUESTION)),
    ("GODE561231", Bot("A tu RFC le faltan los 3 últimos caracteres (la homoclave).", asks=RFC_QUESTION)),
    (RFC.lower(), Bot(asks=NSS_QUESTION, buttons=("No tengo",), step="ask_nss", data={"rfc": RFC})),
    # A birth year that differs from the CURP's is a doubt to confirm, not an error (DOMAIN.md "Identifiers").
    ("12349912344", Bot("Los dígitos 5 y 6 del NSS suelen ser el año de nacimiento, pero los tuyos dicen *99* y tu "
                        "CURP dice *56*.", buttons=("Sí, es correcto", "No, corregirlo"), step="confirm_nss")),
    ("no", Bot(asks=NSS_QUESTION, step="ask_nss")),
    ("mi nss", Bot("El NSS lleva solo números: 11 dígitos", asks=NSS_QUESTION)),
    ("123-456-12340", Bot(asks=EMAIL_QUESTION, step="ask_email", data={"nss": NSS})),
    ("ana@gmial.com", Bot("¿quisiste decir *gmail.com* en lugar de *gmial.com*?", asks=EMAIL_QUESTION)),
    ("ana.gmail.com", Bot("A tu correo le falta la *@*.", asks=EMAIL_QUESTION)),
    ("ana@gmail.com", Bot(asks="¿Este correo es correcto? ana@gmail.com", buttons=("Sí, es correcto", "No, cambiarlo"),
                          step="confirm_email")),
    ("no", Bot(asks=EMAIL_QUESTION, step="ask_email")),
    ("ana.gonzalez@gmail.com", Bot(step="confirm_email")),
    ("sí", Bot(asks="¿Cuál es tu número de teléfono (10 dígitos)?", step="ask_phone",
               data={"email": "ana.gonzalez@gmail.com"})),
]

THE_NSS_IS_OPTIONAL: list[Row] = [
    *AT_THE_CURP,
    (CURP, Bot(step="ask_rfc")),
    (RFC, Bot(step="ask_nss")),
    (Tap("none"), Bot(asks=EMAIL_QUESTION, step="ask_email", data={"nss": None, "nss_status": "none"})),
    ("atrás", Bot(asks=NSS_QUESTION, step="ask_nss")),
    ("no lo tengo", Bot(asks=EMAIL_QUESTION, step="ask_email", data={"nss_status": "none"})),
]

GLOBAL_COMMANDS_IN_THE_MIDDLE_OF_THE_ENROLLMENT: list[Row] = [
    *AT_THE_CURP,
    ("ayuda", Bot(("Puedes escribir cualquiera de estas palabras en cualquier momento:", "*asesor*",
                   "*borrar mis datos*"), asks=CURP_QUESTION, step="ask_curp")),
    ("mis datos", Bot(("*Tus datos con nosotros*", f"Nombre: {FULL_NAME}"), step="my_data", events=("data_access",))),
    ("estado", Bot("Todavía no tienes ninguna inscripción presentada.",
                   buttons=("Iniciar mi inscripción", "Hablar con un asesor", "Menú principal"),
                   step="status_without_case")),
    ("continuar", Bot(asks=CURP_QUESTION, step="ask_curp")),  # the enrollment resumes where it was
    ("cancelar", Bot(("Listo, ya lo detuve. Lo que me enviaste sigue guardado.", MENU_QUESTION), step="main_menu")),
    ("Iniciar mi inscripción", Bot(asks=CURP_QUESTION, step="ask_curp", data={"full_name": FULL_NAME})),
    ("idioma", Bot(asks="Elige tu idioma:", buttons=("Español", "English"), step="choose_language")),
    ("english", Bot(asks="Please type your CURP (18 characters, e.g. GODE561231HDFMZD08). If your name has Ñ, the "
                         "CURP uses X.", step="ask_curp", events=("language_changed",))),
    ("language", Bot(asks="Choose your language:")),
    ("español", Bot(asks=CURP_QUESTION, step="ask_curp")),
    ("menu", AT_THE_MENU),
]

COMING_BACK_LATER: list[Row] = [
    *AT_THE_CURP,
    # Back two days later: a short reminder of where we were, and the same question; the greeting is no mistake.
    (Later("hola", timedelta(days=2)), Bot(WELCOME_BACK + "tu CURP.", asks=CURP_QUESTION, bubbles=2, step="ask_curp")),
    # Back within the resume interval: no reminder, the answer simply counts (the sample CURP is 69 years old and
    # the questionnaire said 18 to 59: the applicant hears that an advisor confirms it).
    (Later(CURP, timedelta(minutes=10)), Bot(("Tu CURP dice que tienes 69 años", RFC_QUESTION), bubbles=2,
                                             step="ask_rfc", data={"curp": CURP})),
    # Back days later with the answer itself: reminded, and the answer counts.
    (Later(RFC, timedelta(days=3)), Bot((WELCOME_BACK + "tu RFC.", NSS_QUESTION), step="ask_nss", data={"rfc": RFC})),
    # Back days later with something else: reminded and asked again, without a correction.
    (Later("perdón, ¿en qué íbamos?", timedelta(days=5)), Bot(WELCOME_BACK + "tu NSS.", asks=NSS_QUESTION, bubbles=2)),
]

# Issue 14: "no tengo" at the CURP or RFC is a path (where to get it, a pause), not an error; the NSS goes on.
A_MISSING_IDENTIFIER_IS_A_PATH: list[Row] = [
    *AT_THE_CURP,
    ("ahorita no tengo mi curp a la mano", Bot(("gob.mx/curp", "te espero"), step="curp_missing",
                                               buttons=("Continuar", "Hablar con un asesor", "Menú principal"),
                                               data={"pending_curp": True})),
    ("hola", Bot(asks="Te espero: escribe aquí tu CURP, o escribe *continuar* cuando la tengas.")),
    ("continuar", Bot(asks=CURP_QUESTION, step="ask_curp")),
    (CURP, Bot(asks=RFC_QUESTION, step="ask_rfc", data={"curp": CURP, "pending_curp": None})),
    ("no tengo rfc", Bot(("Constancia de Situación Fiscal", "sat.gob.mx", "Inscripción al RFC con CURP"),
                         step="rfc_missing", data={"pending_rfc": True})),
    (RFC, Bot(asks=NSS_QUESTION, step="ask_nss", data={"rfc": RFC, "pending_rfc": None})),  # typed while waiting
    ("no me lo sé", Bot(("imss.gob.mx", EMAIL_QUESTION), asks=EMAIL_QUESTION, step="ask_email",
                        data={"nss": None, "nss_status": "none"})),
]

A_PERSON_OWNS_THE_CHAT_UNTIL_MENU: list[Row] = [
    ("hola", AT_THE_MENU),
    ("4", Bot(step="requirements")),
    ("quiero un asesor", Bot(HANDED_OVER, owner="human", events=("handoff",))),
    ("hola? alguien?", SILENT),
    ("4", SILENT),
    (Tap("enroll"), SILENT),
    ("ayuda", SILENT),
    # After a quiet spell the first message gets one line, then silence again (issue 14).
    (Later("¿hola?", timedelta(minutes=11)), Bot(asks="Sigues en espera: una persona de nuestro equipo te responde "
                                                      "por aquí en breve. Tus mensajes quedan guardados.",
                                                 bubbles=1, owner="human")),
    ("¿sigue ahí?", SILENT),
    ("Menú", Bot((BACK_WITH_THE_BOT, MENU_QUESTION), asks=MENU_QUESTION, owner="bot", step="main_menu",
                 events=("returned_to_bot",))),
]

A_PERSON_HANDS_BACK_TO_THE_SAME_QUESTION: list[Row] = [
    *AT_THE_CURP,
    ("asesor", Bot(HANDED_OVER, owner="human")),
    (CURP, SILENT),
    ("asistente", Bot(BACK_WITH_THE_BOT, asks=CURP_QUESTION, owner="bot", step="ask_curp")),
]

LANGUAGE_SWITCHES_AND_BACK: list[Row] = [
    ("hola", AT_THE_MENU),
    ("4", Bot(step="requirements")),
    ("idioma", Bot(asks="Elige tu idioma:", buttons=("Español", "English"), step="choose_language")),
    (Tap("en"), Bot(("*What to have at hand*", "Your CURP"), step="requirements")),  # back to the topic, in English
    ("menu", Bot(asks="How can I help you? Choose an option:", step="main_menu",
                 buttons=("Start my enrollment", "What the service includes", "Benefits of enrolling", "Requirements",
                          "How much IMSS costs", "My case status", "Payment reminders", "Talk to a person"))),
    ("language", Bot(asks="Choose your language:")),
    ("español", Bot(asks=MENU_QUESTION, bubbles=1, buttons=MENU_BUTTONS, step="main_menu")),
]

OLD_BUTTONS_ARE_ANSWERED_GENTLY: list[Row] = [
    ("hola", AT_THE_MENU),
    ("4", Bot(step="requirements")),
    (Tap("benefits"), Bot(("Esa pregunta ya quedó contestada. Aquí es donde vamos ahora:", "CURP"),
                          step="requirements")),  # a button of the menu shown earlier
    (Tap("cmd:format_disk"), Bot("Esa pregunta ya quedó contestada.", step="requirements")),  # no such command
]

PRICE_ANSWER = "Nuestros honorarios por tramitar tu inscripción al IMSS: Total $1,499.00 MXN (IVA incluido)."
QUESTIONS_ARE_ANSWERED_NOT_STORED: list[Row] = [
    *QUALIFIED,
    # A question at the name question: its short answer, then only the question again; nothing stored.
    ("cuanto cobran ustedes", Bot((PRICE_ANSWER, "Las cuotas del IMSS son aparte"), asks=NAME_QUESTION, bubbles=2,
                                  step="ask_full_name")),
    ("¿es seguro dar mi CURP?", Bot("Viajan cifrados", asks=NAME_QUESTION, step="ask_full_name")),
    ("no sé", Bot("Aquí solo necesito tu nombre y tus apellidos", asks=NAME_QUESTION, step="ask_full_name")),
    ("Mi nombre es José Luis Pérez López", Bot(step="ask_curp", data={"full_name": "José Luis Pérez López"})),
]

THE_THIRD_MISS_OFFERS_A_PERSON_ONCE_AND_SI_ACCEPTS: list[Row] = [
    ("hola", AT_THE_MENU),
    ("xx", Bot(NOT_UNDERSTOOD, bubbles=2)),
    ("yy", Bot(NOT_UNDERSTOOD, bubbles=2)),
    ("zz", Bot((NOT_UNDERSTOOD, OFFER_A_PERSON), bubbles=3, events=("offered_human",))),
    ("qq", Bot(NOT_UNDERSTOOD, bubbles=2, events=())),  # not offered again on every later miss
    ("ww", Bot(NOT_UNDERSTOOD, bubbles=2, events=())),
    ("vv", Bot(NOT_UNDERSTOOD, bubbles=2, events=())),
]

SI_ACCEPTS_THE_OFFER_OF_A_PERSON: list[Row] = [
    ("hola", AT_THE_MENU),
    *[(miss, Bot()) for miss in ("xx", "yy", "zz")],
    ("si", Bot(HANDED_OVER, owner="human", events=("handoff",))),
]

NO_SE_IS_NEVER_NO: list[Row] = [
    *CONSENTED,
    ("no sé", Bot(step="q_public_admin", data={"elig_own_income": "unsure"})),
    ("no sé", Bot("Elige la respuesta más cercana", step="q_public_admin")),  # no "unsure" option: not taken as "No"
    ("nel", Bot(step="q_salaried", data={"elig_public_admin": "no"})),
]

ENGLISH_IS_OFFERED_AND_DETECTED: list[Row] = [
    ("hola", Bot("¿Prefieres inglés? Escribe *English*.", step="main_menu")),
    ("Hello, do you speak English?", Bot(("Sure, let's go on in English.", "How can I help you? Choose an option:"),
                                         step="main_menu", events=("language_changed",))),
    ("how much do you charge?", Bot("Our fee for filing your IMSS enrollment: Total $1,499.00 MXN (IVA included).",
                                         step="main_menu")),
    ("español", Bot(("Listo, seguimos en español.", MENU_QUESTION), step="main_menu")),
]

# WhatsApp sends no language: a first message in English is welcomed in English, and Spanish is one word away.
A_FIRST_MESSAGE_IN_ENGLISH: list[Row] = [
    ("Hello, do you speak English?", Bot("Prefer Spanish? Write *español*.", step="main_menu", bubbles=2,
                                         asks="How can I help you? Choose an option:")),
    ("cuanto cobran ustedes?", Bot(("Listo, seguimos en español.", PRICE_ANSWER, MENU_QUESTION), step="main_menu")),
]

SPECIFICATIONS = {
    "a first message in English": A_FIRST_MESSAGE_IN_ENGLISH,
    "questions are answered, not stored": QUESTIONS_ARE_ANSWERED_NOT_STORED,
    "the third miss offers a person once": THE_THIRD_MISS_OFFERS_A_PERSON_ONCE_AND_SI_ACCEPTS,
    "si accepts the offer of a person": SI_ACCEPTS_THE_OFFER_OF_A_PERSON,
    "no se is never no": NO_SE_IS_NEVER_NO,
    "english is offered and detected": ENGLISH_IS_OFFERED_AND_DETECTED,
    "greeting and main menu": GREETING_AND_MAIN_MENU,
    "costs quote the dated constants": COSTS_QUOTE_THE_DATED_CONSTANTS,
    "every benefit one at a time": EVERY_BENEFIT_ONE_AT_A_TIME,
    "back walks the history": BACK_WALKS_THE_HISTORY,
    "choices typed any way": CHOICES_TYPED_ANY_WAY,
    "a wrong choice is corrected, the third miss offers a person":
        A_WRONG_CHOICE_IS_CORRECTED_AND_THE_THIRD_MISS_OFFERS_A_PERSON,
    "a right answer resets the misses": A_RIGHT_ANSWER_RESETS_THE_MISSES,
    "a wrong typed answer gets a specific correction": A_WRONG_TYPED_ANSWER_GETS_A_SPECIFIC_CORRECTION,
    "consent comes first and is recorded": CONSENT_COMES_FIRST_AND_IS_RECORDED,
    "declining ends politely": DECLINING_ENDS_POLITELY,
    "eligibility: probably qualifies": ELIGIBILITY_PROBABLY_QUALIFIES,
    "eligibility: needs an advisor": ELIGIBILITY_NEEDS_AN_ADVISOR,
    "eligibility: does not fit": ELIGIBILITY_DOES_NOT_FIT,
    "collecting the applicant data": COLLECTING_THE_APPLICANT_DATA,
    "the NSS is optional": THE_NSS_IS_OPTIONAL,
    "global commands in the middle of the enrollment": GLOBAL_COMMANDS_IN_THE_MIDDLE_OF_THE_ENROLLMENT,
    "coming back later": COMING_BACK_LATER,
    "a missing identifier is a path": A_MISSING_IDENTIFIER_IS_A_PATH,
    "a person owns the chat until menu": A_PERSON_OWNS_THE_CHAT_UNTIL_MENU,
    "a person hands back to the same question": A_PERSON_HANDS_BACK_TO_THE_SAME_QUESTION,
    "language switches and back": LANGUAGE_SWITCHES_AND_BACK,
    "old buttons are answered gently": OLD_BUTTONS_ARE_ANSWERED_GENTLY,
}


@pytest.mark.parametrize("table", SPECIFICATIONS.values(), ids=SPECIFICATIONS.keys())
def test_specification(table: list[Row]) -> None:
    run(table)


# -- tables with a column that varies ---------------------------------------------------------------------------
# Every topic of the menu, reached by button, by number and by its title or a synonym typed loosely: the same answer.
MENU_TOPICS = [
    # button         number  typed                 step               a fragment of the answer
    ("service",      "2",    "  que INCLUYE?? ",   "service_info",    "*Qué hacemos*"),
    ("benefits",     "3",    "Beneficios!!",       "benefits",        "los cinco seguros del IMSS"),
    ("requirements", "4",    "requisitos 📄",      "requirements",    "CURP"),
    ("costs",        "5",    "cuánto cuesta",      "costs",           "$315.04"),
    ("reminders",    "7",    "recordatorios",      "reminders_offer", "*Recordatorios de pago (membresía opcional)*"),
]


@pytest.mark.parametrize(("button", "number", "typed", "step", "fragment"), MENU_TOPICS,
                         ids=[topic[0] for topic in MENU_TOPICS])
def test_a_menu_topic_by_button_number_or_words(button: str, number: str, typed: str, step: str,
                                                fragment: str) -> None:
    topic = Bot(fragment, step=step)
    dialog = run([("hola", AT_THE_MENU), (Tap(button), topic), ("menu", AT_THE_MENU), (number, topic),
                  ("menu", AT_THE_MENU), (typed, topic)])
    by_button, by_number, by_words = (dialog.results[turn].replies for turn in (1, 3, 5))
    assert by_button == by_number == by_words
    assert "Menú principal" in [button.title for button in by_button[-1].buttons]


CONFIRM_DELETE = "¿Seguro que quieres que borre tus datos personales? Esto no se puede deshacer."


@pytest.mark.parametrize("yes", ["si", "Sí!!", "SI", "👍", "sí, bórralos"])
def test_any_way_of_saying_yes_confirms(yes: str) -> None:
    run([
        ("hola", AT_THE_MENU),
        ("borrar mis datos", Bot(asks=CONFIRM_DELETE, buttons=("Sí, bórralos", "No, consérvalos"),
                                 step="confirm_delete")),
        (yes, Bot("Listo: borré tus datos personales de esta conversación.", step="main_menu",
                  events=("data_erased",))),
    ])


@pytest.mark.parametrize("no", ["no", "No.", "👎", "NO!!"])
def test_any_way_of_saying_no_keeps_the_data(no: str) -> None:
    run([
        ("hola", AT_THE_MENU),
        ("requisitos", Bot(step="requirements")),
        ("borrar mis datos", Bot(asks=CONFIRM_DELETE)),
        (no, Bot("CURP", step="requirements")),  # back where we were
    ])


# Every global command, typed in every kind of state: how to get there after "hola", and what the command answers.
KINDS_OF_STATE = {
    "main menu": [],
    "topic": ["4"],
    "submenu": ["3"],
    "benefit": ["3", "1"],
    "language": ["idioma"],
    "confirmation": ["borrar mis datos"],
}
COMMANDS = {
    "menú": MENU_QUESTION,
    "atrás": None,  # see below
    "ayuda": "*asesor*",
    "asesor": HANDED_OVER,
    "estado": "Todavía no tienes ninguna inscripción presentada. Puedes iniciarla o continuarla ahora, o hablar con "
              "un asesor.",
    "idioma": "Elige tu idioma:",
    "cancelar": "Listo, ya lo detuve. Lo que me enviaste sigue guardado.",
    "mis datos": "No tengo guardado ningún dato personal tuyo.",
    "borrar mis datos": CONFIRM_DELETE,
}


@pytest.mark.parametrize("state", KINDS_OF_STATE)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_global_command_in_every_kind_of_state(state: str, command: str) -> None:
    getting_there: list[Row] = [("hola", AT_THE_MENU), *[(says, Bot()) for says in KINDS_OF_STATE[state]]]
    dialog = run([*getting_there, (command, Bot(COMMANDS[command] or ()))])
    before, after = dialog.text(-2), dialog.text()
    assert after, "every command answers"
    if command == "atrás":
        assert after != before or not KINDS_OF_STATE[state]  # one step back, or still at the menu
    if command == "ayuda":
        assert before.split("\n")[-1] in after  # the current question is asked again


# -- state bugs of issue 14, from a conversation standing where each happened ----------------------------------
def standing(step: str, **data: Any) -> Dialog:
    dialog = Dialog()
    dialog.state = DialogState(flow=ENGINE.steps[step][0].name, state=step, locale="es_MX", updated_at=NOW,
                               data=dict(data))
    return dialog


def test_cancelar_on_the_reminders_screen_stops_the_reminders() -> None:
    dialog = standing("reminders_active", reminders_active=True, reminder_frequency="monthly")
    dialog.send("cancelar")
    dialog.check(1, Bot(asks="¿Quieres cancelar tu membresía? Termina de inmediato y dejamos de enviarte los "
                                   "recordatorios de pago.", step="reminders_cancel"))
    dialog.send("cancelar")
    dialog.check(2, Bot("ya no te enviaremos recordatorios de pago", data={"reminders_active": False},
                        effects=(Unsubscribe(), RecordConsent("reminders", TERMS.version, False))))


def test_beneficiaries_corrected_from_the_summary_are_replaced_or_removed() -> None:
    people = [{"name": "María López", "relationship": "spouse"}]
    dialog = standing("edit_menu", editing=True, beneficiaries=people)
    dialog.send(Tap("edit_beneficiaries"))
    dialog.check(1, Bot("María López", buttons=("Agregar otro", "Empezar la lista de nuevo", "Quitarlos a todos",
                                                "Dejarlos así"), step="edit_beneficiaries"))
    dialog.send(Tap("replace"))
    dialog.send("Juan Pérez, hijo")
    dialog.check(3, Bot(step="more_beneficiaries", data={"beneficiaries": [
        {"name": "Juan Pérez", "relationship": "child"}]}))
    dialog.send("no")
    dialog.check(4, Bot(step="summary"))
    dialog.send(Tap("edit"))
    dialog.send(Tap("edit_beneficiaries"))
    dialog.send(Tap("remove"))
    dialog.check(7, Bot(step="summary", data={"beneficiaries": []}))


def test_a_pregnancy_is_asked_only_after_the_health_consent_and_can_be_skipped() -> None:
    dialog = standing("q_pensioner")
    dialog.send("no")
    dialog.check(1, Bot(step="health_consent"))
    dialog.send(Tap("authorise"))
    dialog.send("no")
    dialog.check(3, Bot(step="q_pregnancy"))
    dialog.send("embarazada")
    dialog.check(4, Bot("Parto: 10 meses", buttons=("Continuar",), step="waiting_periods",
                        data={"elig_pregnancy": "pregnant"}))
    dialog.send("continuar")
    dialog.check(5, Bot("30 semanas", step="elig_review"))
    skipped = standing("q_pregnancy", health_consent=True, elig_preexisting="no")
    skipped.send("prefiero no decir")
    skipped.check(1, Bot(step="elig_likely", data={"elig_pregnancy": "skipped"}))


def test_a_document_asked_for_again_takes_the_next_photo_wherever_the_chat_is() -> None:
    case = {"folio": "PTI-2026-000001", "status": "documents_observed"}
    held = {"id_front": 1, "id_back": 2, "tax_certificate": 3, "proof_of_address": 4}
    dialog = standing("main_menu", case=case, documents=held)
    result = ENGINE.run_event(dialog.state, "document_requested", {"slot": "proof_of_address",
                                                                   "reason": "está borrosa"}, NOW)
    assert result.conversation.state == "doc_proof_of_address"
    dialog.send("estado")  # the applicant looks around first
    dialog.check(1, Bot(step="status_of_case", buttons=("Enviar documentos", "Hablar con un asesor",
                                                        "Menú principal")))
    dialog.send(Tap("documents"))
    dialog.check(2, Bot(step="doc_proof_of_address"))
    dialog.send("menu")
    photo = Inbound("spec", "ana", "f1", kind="event", payload="document_ready", meta=(("document_id", "9"),))
    result = ENGINE.run(dialog.state, photo, NOW)
    assert "Recibido" in result.replies[0].text
    assert result.conversation.data["documents"]["proof_of_address"] == 9
    assert result.effects == (AssignDocument(9, "proof_of_address"),)
    dialog.send("estado")
    dialog.check(4, Bot(step="status_complete", buttons=("Hablar con un asesor", "Menú principal")))


def test_a_health_question_gets_it_depends_and_goes_to_the_staff_queue() -> None:
    dialog = standing("ask_occupation")
    result = dialog.send("¿cubre mi diabetes?")
    dialog.check(1, Bot(("Depende de tu caso", "Un asesor revisará tu pregunta"), step="ask_occupation"))
    assert "needs_review" in result.events and dialog.state.data["_health_question"] is True
    assert "occupation" not in dialog.state.data


def test_the_requirements_faq_names_the_afore_and_the_medical_questionnaire() -> None:
    dialog = standing("ask_email")
    dialog.send("¿qué documentos necesito?")
    dialog.check(1, Bot(("AFORE", "cuestionario médico"), step="ask_email"))


def test_out_of_hours_the_handoff_quotes_the_hours_in_spanish() -> None:
    hours = BusinessHours.parse("mon-fri 09:00-18:00; sat 10:00-14:00", "America/Mexico_City")
    engine = Engine(FLOWS, hours=hours)
    sunday = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)  # Sunday noon in Mexico City
    state = DialogState(flow="menu", state="main_menu", locale="es_MX", updated_at=sunday)
    result = engine.run(state, Inbound("spec", "ana", "m1", text="asesor"), sunday)
    text = result.replies[0].text
    assert "lunes a viernes de 09:00 a 18:00; sábado de 10:00 a 14:00" in text
    assert "mon-fri" not in text and "lunes 09:00" in text
    later = engine.run(result.conversation, Inbound("spec", "ana", "m2", text="¿hola?"), sunday + timedelta(minutes=30))
    assert [reply.text for reply in later.replies] == [
        "Sigues en espera: una persona de nuestro equipo te responde por aquí a partir del lunes 09:00. Tus mensajes "
        "quedan guardados."]


def test_a_photo_after_documents_observed_without_a_named_document_is_kept_for_staff() -> None:
    held = {"id_front": 1, "id_back": 2, "tax_certificate": 3, "proof_of_address": 4}
    dialog = standing("main_menu", case={"folio": "PTI-2026-000001", "status": "documents_observed"}, documents=held)
    photo = Inbound("spec", "ana", "f1", kind="event", payload="document_ready", meta=(("document_id", "9"),))
    result = ENGINE.run(dialog.state, photo, NOW)
    assert result.replies[0].text == "Gracias, recibí tu archivo: nuestro equipo lo revisará con tu trámite."
    assert "por ahora" not in result.replies[0].text.lower() and result.conversation.state == "main_menu"

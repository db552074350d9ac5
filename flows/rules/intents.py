"""What a message means before what it answers: global commands and frequent questions, typed any way.

Every typed message goes through `understand` before a question's own parser sees it, so "¿cuánto cobran
ustedes?" is answered instead of being stored as a name. An intent is a list of short key phrases; a
message names an intent when every word of one of its phrases is in the message, in any order, spelled
closely enough (rapidfuzz ratio on a Spanish-phonetic folding, so "kiero inscrivirme" is "quiero
inscribirme"). The longest phrase wins, so "hablar con un asesor" beats "asesor". The thresholds are
tuned on the conversation corpus in tests/corpus/utterances.csv. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.core.text import normalise
from flows.model import Context
from flows.rules.legal import PRIVACY
from flows.rules.prices import quote_values
from locales import N_

# A word of a phrase counts as present when a word of the message is at least this close (0-100).
WORD_SIMILARITY = 82
# Short words one letter apart are often other words ("cuando"/"cuanto", "cuenta"/"cuesta", "ago"/"pago"): closer.
SHORT_WORD_SIMILARITY = 90
SHORT_WORD_LENGTH = 6
# Words this short must be spelled exactly: "mi" is not "me".
SHORT_WORD = 2


@dataclass(frozen=True, slots=True)
class Intent:
    """A meaning: `kind` says what the turn does with it, `answer` is a FAQ's short reply (a msgid)."""

    name: str
    # "faq" | "command" | "enroll" | "language" | "greeting" | "thanks" | "unsure" | "confused" | "doubt" | "missing"
    kind: str
    phrases: tuple[str, ...]
    answer: str = ""
    asked: bool = False  # only when the message reads as a question: "mi esposa y mis hijos" answers, it asks nothing
    brief: bool = False  # with `asked`, also a message of a few words that is little more than a phrase ("quincenal")


# A message this short is the phrase itself, not a sentence that mentions it ("sí, me pagan semanal").
BRIEF_WORDS = 3


def faq_values(context: Context) -> Mapping[str, Any]:
    """The placeholders FAQ answers quote: public links and the usual review time."""
    return {"site": context.base_url or "", "privacy_url": f"{context.base_url}/legal/privacy?v={PRIVACY.version}",
            "days": context.review_days, **quote_values(context.today, context.locale)}


INTENTS: tuple[Intent, ...] = (
    Intent("price", "faq", (
        "cuanto cobran", "cuanto cobra", "cuanto cuesta", "cuanto me cuesta", "cuanto sale", "cuanto es",
        "precio", "precios", "costo del servicio", "cuanto pago", "cuanto tengo que pagar", "tarifa", "honorarios",
        "cuanto cobras", "que cuesta",
        "cuanto me va a costar", "me va a costar", "cuanto costaria", "how much", "price", "fee", "cost",
        "what do you charge",
    ), N_("Our fee for filing your IMSS enrollment: %(service_fee)s. IMSS contributions are separate: you "
          "pay them directly to IMSS, and they depend on the income you declare (see *How much IMSS costs* in "
          "the menu). Optional payment reminders: %(monthly_amount)s a month or %(yearly_amount)s a year.")),
    Intent("not_included", "faq", (
        "incluye las cuotas", "incluye el pago", "cuotas incluidas", "incluye imss", "pagar el imss aparte",
        "pago del imss aparte", "ustedes pagan el imss", "ustedes pagan las cuotas", "fees included",
        "imss included", "do you pay imss", "que no incluye", "not included",
    ), N_("IMSS contributions are never included: you pay them directly to IMSS with your línea de captura. "
          "Later procedures and legal representation are not included either.")),
    Intent("included", "faq", (
        "que incluye", "que incluye el servicio", "que hacen", "que hacen ustedes", "en que consiste",
        "que me dan", "que servicio", "what is included", "what do you do", "whats included", "included",
        "info", "informes", "informacion", "mas informacion", "more information", "more info",
    ), N_("We file your IMSS enrollment as a self-employed worker for you, remotely, with your data and "
          "documents, and guide you through it. You receive by email your enrollment receipt and the payment "
          "slip of your first contribution. IMSS contributions are not included: you pay them to IMSS.")),
    Intent("privacy", "faq", (
        "es seguro", "seguro dar", "mis datos seguros", "datos seguros", "privacidad", "aviso de privacidad",
        "que hacen con mis datos", "para que quieren mis datos", "para que mi curp", "robar mis datos", "is it safe",
        "safe", "privacy", "my data safe", "what do you do with my data", "proteccion de datos", "with my data",
        "use my data", "data safe",
        "hacen con esa informacion", "hacen con mi informacion", "hacen con mis datos", "para que quieren saber",
        "para que lo quieren", "para que la quieren", "para que los quieren", "para que quieren", "eso para que",
        "quien ve mis datos", "quien va a ver", "quien ve eso", "quien los ve", "who sees my data",
    ), N_("We use your data only to file your IMSS enrollment, which needs your CURP, RFC and ID. It "
          "travels encrypted, your documents are stored encrypted and only our team sees them. Write *mis "
          "datos* to see it or *borrar mis datos* to delete it. Privacy notice: %(privacy_url)s")),
    Intent("duration", "faq", (
        "cuanto tarda", "cuanto tardan", "cuanto tiempo", "cuantos dias", "tarda mucho", "en cuanto tiempo",
        "cuando estaria", "cuando queda", "que tan rapido", "tiempo de respuesta", "how long", "how many days",
        "takes long",
    ), N_("Answering here takes a few minutes. Then an advisor reviews your data and documents and files "
          "your enrollment with IMSS; that usually takes %(days)s business days. Write *estado* any time to "
          "see how it is going.")),
    Intent("refund", "faq", (
        "reembolso", "reembolsan", "devuelven mi dinero", "devuelven el dinero", "devolucion", "regresan mi dinero",
        "regresan el dinero", "si no me aceptan", "si me rechazan", "refund", "money back", "get my money",
        "regresan dinero", "devuelven dinero", "regresan lo que pague", "devuelven lo que pague", "arrepiento",
        "arrepentirme", "me arrepiento", "change my mind",
    ), N_("There are no refunds, total or partial, once the procedure has started, whatever IMSS decides: "
          "the work of filing is already done. Only IMSS approves an enrollment.")),
    # "¿Son una estafa?", "¿ustedes son del IMSS?": who we are, never a bare "yes" (the privacy answer starts so).
    Intent("trust", "faq", (
        "estafa", "fraude", "son reales", "es real", "confiable", "es confiable", "son confiables", "de confianza",
        "es legal", "son legales", "es oficial", "son del imss", "son el imss", "ustedes son el imss",
        "trabajan en el imss", "trabajan para el imss", "es del gobierno", "son del gobierno", "scam", "fraud",
        "legit", "is this real", "are you imss", "official",
    ), N_("We are a private service that files your IMSS enrollment for you; we are not IMSS. Only IMSS approves "
          "an enrollment, and you pay its contributions directly to IMSS, never to us. You pay our fee only after "
          "checking your summary, and you get a receipt. Your data and documents are stored encrypted.")),
    # What IMSS itself charges (not our fee): at the menu its topic answers, elsewhere this short line.
    Intent("costs", "faq", (
        "cuanto cuesta el imss", "cuanto cobra el imss", "cuanto pago al imss", "cuanto se paga al imss",
        "cuanto tengo que pagar al imss", "pagar al imss", "pago al imss", "cuota del imss", "cuotas del imss",
        "cuota imss", "cuotas imss", "cuanto de cuota", "pagar de cuota", "cuota mensual", "cuanto es la cuota",
        "how much is imss", "imss contributions", "imss fees", "pay imss", "pay to imss", "how much do i pay imss",
        "cuanto cuesta al mes", "cuanto pago al mes", "cuanto pago si gano", "cuanto pagaria", "cuanto pagaria al mes",
    ), N_("IMSS contributions depend on the income you declare and are paid directly to IMSS, never to us. "
          "See *How much IMSS costs* in the menu for an idea; once you give your income I estimate yours.")),
    # How much income to declare (DOMAIN.md "Contributions", LSS arts. 227 and 28; under-declaring is a pitfall).
    Intent("declared_income", "faq", (
        "conviene declarar", "cuanto declaro", "cuanto debo declarar", "cuanto tengo que declarar", "que declaro",
        "cuanto declarar", "declarar menos", "declaro menos", "declarar el minimo", "declaro el minimo",
        "how much should i declare", "how much to declare", "declare less", "declare the minimum",
    ), N_("Declare your real monthly income: it sets your IMSS contributions and your cash benefits, such as sick "
          "pay, so declaring less pays less now and gives you less when you need them. IMSS takes it between one "
          "minimum wage and 25 UMA a day. We do not advise an amount: an advisor can explain.")),
    # Paying IMSS weekly or fortnightly: it takes monthly, bimonthly, semiannual or annual payments (LSS art. 224).
    Intent("payment_frequency", "faq", (
        "quincenal", "cada quincena", "por quincena", "semanal", "cada semana", "por semana", "diario", "cada dia",
        "cada 15 dias", "weekly", "every week", "biweekly", "fortnightly", "every two weeks", "daily",
    ), N_("IMSS takes its contributions in advance: monthly, every 2 months, every 6 months or yearly. It has no "
          "weekly or fortnightly payment."), asked=True, brief=True),
    # What the identifiers are ("¿qué es el RFC?" at the RFC's question), and where each is found.
    Intent("identifiers", "faq", (
        "que es el rfc", "que es la curp", "que es el nss", "que es la homoclave", "que es eso del rfc",
        "que es el curp", "que significa rfc", "que significa curp", "que significa nss", "what is rfc",
        "what is curp", "what is nss", "what is the homoclave",
    ), N_("CURP: your 18-character personal ID code (on your INE, or for free at gob.mx/curp). RFC: your "
          "13-character tax ID from SAT; its last 3 characters are the homoclave (on your Constancia de Situación "
          "Fiscal). NSS: your 11-digit IMSS number, if you have ever had one.")),
    # Beneficiaries (DOMAIN.md "Beneficiaries"): who may be registered with the applicant.
    # A relative named with what would be done for them ("¿puedo meter a mis hijos?"), not "es el de mi mamá".
    Intent("family", "faq", (
        *(f"{verb} {who}" for verb in ("meter", "asegurar", "agregar", "incluir", "registrar", "inscribir", "cubre",
                                       "cubrir", "entra", "entran", "tambien", "sirve", "alcanza", "protege")
          for who in ("hijos", "hijo", "hija", "esposa", "esposo", "pareja", "mama", "papa", "papas", "padres",
                      "familia")),
        "beneficiario", "beneficiarios", "beneficiaries", "add my", "cover my", "covers my", "include my",
        "my family too", "my kids too",
    ), N_("Yes: with your enrollment you can register your spouse or partner, your children and your father and "
          "mother as beneficiaries; I ask for them after your income. IMSS applies its medical questionnaire to "
          "each of them too."), asked=True),
    Intent("payment", "faq", (
        "aceptan tarjeta", "pagar con tarjeta", "tarjeta", "formas de pago", "forma de pago", "como pago",
        "como les pago", "metodos de pago", "transferencia", "efectivo", "oxxo", "deposito", "puedo pagar",
        "payment methods", "pay by card", "credit card", "how do i pay", "how can i pay",
    ), N_("You pay our fee (%(service_amount)s MXN, IVA included) after checking your summary and before we "
          "file: by bank transfer (SPEI) with your reference or, when offered, by card or cash at OXXO. IMSS "
          "contributions are paid directly to IMSS with the línea de captura we send you, at a bank or through "
          "online banking.")),
    Intent("invoice", "faq", (
        "factura", "facturar", "facturan", "quiero factura", "necesito factura", "cfdi", "me dan factura",
        "invoice", "tax invoice",
    ), N_("Yes, we give you an invoice (CFDI) of our fee; a person issues it and sends it to you. While your "
          "payment is pending, write *estado* and choose *I need an invoice (CFDI)* to give me your data. After "
          "paying, write *asesor*.")),
    Intent("website", "faq", (
        "pagina web", "pagina de internet", "sitio web", "tienen pagina", "su pagina", "website", "web page",
        "tienen oficina", "oficinas", "donde estan", "donde los encuentro", "whatsapp", "telegram", "facebook",
        "redes sociales", "where are you", "office",
    ), N_("We work remotely: you can write to us here, on WhatsApp, on Telegram or on our web chat at "
          "%(site)s. It is the same assistant and the same team everywhere.")),
    Intent("requirements", "faq", (
        "que necesito", "que documentos", "que papeles", "requisitos", "que ocupo", "what do i need",
        "requirements", "documents needed",
    ), N_("You need your CURP, your RFC, your NSS if you have one, an email, your address, your income, your "
          "AFORE registration (or you register right after enrolling), and photos or PDFs of your ID (both "
          "sides), your constancia de situación fiscal and a recent proof of address. IMSS also applies a "
          "medical questionnaire to you and to each beneficiary.")),
    # Health questions are not answered here (DOMAIN.md "Waiting periods": how IMSS applies RACERF 81-87 to this
    # scheme is not confirmed): a short "it depends", and the conversation goes to the staff queue (bot/dialog/turn.py).
    Intent("health", "faq", (
        "cubre mi diabetes", "cubre la diabetes", "tengo diabetes", "soy diabetico", "soy diabetica", "diabetes",
        "hipertension", "presion alta", "cancer", "vih", "enfermedad cronica", "enfermedad preexistente",
        "preexistente", "preexistentes", "cubre mi enfermedad", "me cubre si estoy enfermo", "me atienden si",
        "cubre el embarazo", "cubre mi embarazo", "cubre el parto", "cubre mi operacion", "cubre la cirugia",
        "cubre mi tratamiento", "insuficiencia renal", "does it cover", "pre existing", "preexisting",
        "covers diabetes", "my condition",
    ), N_("It depends on your case: IMSS applies a medical questionnaire, and some conditions have waiting periods "
          "or are not covered. An advisor will review your question and tell you; I have passed it on.")),
    Intent("benefits", "faq", (
        "beneficios", "que gano", "que me da el imss", "prestaciones", "benefits", "what do i get", "guarderia",
        "guarderias", "incapacidad", "incapacidades", "daycare", "sick leave",
    ), N_("Enrolling gives you IMSS medical care for you and your family, maternity, work-accident cover, "
          "invalidity and life insurance, retirement savings in your AFORE, daycare and social services. "
          "See *Benefits of enrolling* in the menu.")),
    # Wanting only a pension (DOMAIN.md: Modalidad 40 is another IMSS scheme); at the benefits its topic answers.
    Intent("pension_only", "faq", (
        "solo quiero pension", "solo quiero la pension", "quiero solo la pension", "solo me interesa la pension",
        "nomas quiero la pension", "nada mas quiero la pension", "solo para la pension", "solo pensionarme",
        "me interesa pensionarme", "quiero pensionarme", "modalidad 40", "mod 40", "modalidad cuarenta",
        "pension sin servicio medico", "only want a pension", "just a pension", "only a pension", "pension only",
    ), N_("This scheme covers the five insurances, medical care included, and you pay for all of them. Modalidad "
          "40 is a different IMSS option: pension only, without medical care. We do not advise which suits you: "
          "an advisor can explain the difference, and IMSS decides. See *Only a pension?* in the benefits.")),
    Intent("human", "command", (
        "hablar con alguien", "hablar con una persona", "hablar con un humano", "hablar con un asesor",
        "quiero un asesor", "quiero un humano", "pasame a un asesor", "pasame con alguien", "persona real",
        "atencion personal", "llamenme", "me pueden llamar", "me puede llamar", "marquenme", "un asesor",
        "talk to someone", "talk to a human", "talk to a person", "real person", "speak to someone",
        "call me", "agent please",
    )),
    Intent("help", "command", ("ayuda", "ayudame", "necesito ayuda", "help", "help me", "que puedo hacer",
                               "comandos", "auxilio")),
    Intent("status", "command", (
        "como va mi tramite", "en que va mi tramite", "estado de mi tramite", "como va mi solicitud", "mi folio",
        "ya pague y no", "no me llega nada", "no me han contestado",
        "status of my case", "case status", "my application",
    )),
    # The membership from anywhere (renewal notices say "escribe *membresía*"); "recordatorios" stays the menu's.
    Intent("membership", "command", (
        "membresia", "mi membresia", "renovar membresia", "renovar la membresia", "renovar mi membresia",
        "membership", "my membership", "renew membership", "renew my membership",
    )),
    # Ending the membership, said any way (the command's exact words are "cancelar recordatorios").
    Intent("cancel_reminders", "command", (
        "cancelar membresia", "cancelar mi membresia", "cancelar la membresia", "cancela mi membresia",
        "dar de baja la membresia", "darme de baja de la membresia", "baja de membresia", "ya no quiero la membresia",
        "quitar la membresia", "terminar mi membresia", "cancel membership", "cancel my membership",
        "end my membership", "stop my membership", "unsubscribe",
    )),
    Intent("menu", "command", ("volver al menu", "regresar al menu", "ver el menu", "menu principal",
                               "back to menu", "show menu", "opciones")),
    Intent("delete_data", "command", ("borren mis datos", "eliminen mis datos", "borrar datos",
                                      "delete my information", "borren todo lo que les mande", "borrar todo lo que",
                                      "borralos", "delete my data")),
    Intent("enroll", "enroll", (
        "inscribirme", "quiero inscribirme", "me quiero inscribir", "inscribir", "inscribo", "inscripcion",
        "darme de alta", "afiliarme", "registrarme", "enroll", "sign up", "register", "enrollment", "enrol",
        "asegurarme", "tener seguro", "quiero el seguro", "quiero seguro social", "sacar mi seguro",
        "continuar con mi tramite", "seguir con mi tramite", "continuar mi inscripcion", "seguir con mi inscripcion",
        "listo para pagar", "ya quiero pagar", "quiero contratar", "continue my enrollment",
    )),
    Intent("english", "language", ("english", "ingles", "en ingles", "in english", "speak english",
                                   "habla ingles", "hablas ingles")),
    Intent("spanish", "language", ("espanol", "spanish", "en espanol", "in spanish", "speak spanish",
                                   "castellano")),
    Intent("greeting", "greeting", ("hola", "holi", "hello", "hi", "hey", "buenas", "buenos dias", "que onda",
                                    "que hubo", "quiubo",
                                    "buenas tardes", "buenas noches", "que tal", "good morning",
                                    "good afternoon", "saludos")),
    Intent("thanks", "thanks", ("gracias", "muchas gracias", "grax", "thanks", "thank you", "mil gracias")),
    # "No la tengo a la mano" at the CURP, RFC or NSS: how to get it, and a pause (flows/steps/applicant.py).
    Intent("missing", "missing", (
        "no tengo", "no la tengo", "no lo tengo", "no me la se", "no me lo se", "no me la se de memoria",
        "a la mano", "no la encuentro", "no lo encuentro", "no tengo curp", "no tengo rfc", "no tengo nss",
        "todavia no tengo", "aun no tengo", "no cuento con", "luego", "despues", "mas tarde", "ahorita no",
        "luego te la paso", "luego lo paso", "como la saco", "como lo saco", "donde la saco", "donde lo saco",
        "como obtengo", "como saco", "donde saco", "como sacar", "como la consigo", "dont have", "dont have it",
        "donde lo consigo", "donde la consigo", "como lo consigo", "donde lo encuentro", "donde la encuentro",
        "donde la consulto", "donde lo consulto", "donde lo veo", "donde la veo", "como lo busco", "como la busco",
        "ahorita la busco", "ahorita lo busco", "buscarla", "buscarlo", "no estoy dado de alta", "sin homoclave",
        "no tengo homoclave",
        "i do not have", "later", "how do i get", "how to get",
    )),
    # "Tengo una duda": an invitation to ask (the question itself, if said with it, outranks this).
    Intent("doubt", "doubt", (
        "tengo una duda", "tengo dudas", "tengo otra duda", "una duda", "tengo una pregunta", "una pregunta",
        "otra pregunta", "quiero preguntar", "puedo preguntar", "te pregunto algo", "le pregunto algo",
        "i have a question", "can i ask", "quick question",
    )),
    # "No entiendo": the question was not clear; said apart from "no", which would answer it.
    Intent("confused", "confused", (
        "no entiendo", "no le entiendo", "no te entiendo", "no entendi", "no comprendo", "que es eso",
        "a que se refiere", "a que te refieres", "que significa", "que quiere decir", "como que", "no le entendi",
        "i dont understand", "what does that mean", "what do you mean",
    )),
    Intent("unsure", "unsure", ("no se", "no lo se", "no me acuerdo", "no recuerdo", "no estoy seguro",
                                "no estoy segura", "ni idea", "quien sabe", "not sure", "dont know",
                                "dont remember", "nose")),
)
BY_NAME = {intent.name: intent for intent in INTENTS}

# Spanish sounds spelled several ways: "kiero"/"quiero", "zapato"/"sapato", "vaca"/"baca", "hola"/"ola".
_FOLDS = (("qu", "k"), ("ce", "se"), ("ci", "si"), ("z", "s"), ("v", "b"), ("ll", "y"), ("c", "k"),
          ("h", ""), ("rr", "r"))


_HELD = re.compile(r"(.)\1+")


@cache
def fold(word: str) -> str:
    """A word as it sounds in Spanish, so phonetic misspellings compare equal; a held letter is one ("holaaa")."""
    for spelled, sound in _FOLDS:
        word = word.replace(spelled, sound)
    return _HELD.sub(r"\1", word) or "h"


# Chat shorthand and slang read as the word they stand for: "q" is "que", "lana" and "feria" are money.
_SHORTHAND = {"q": "que", "k": "que", "x": "por", "xq": "porque", "pq": "porque", "porq": "porque", "pa": "para",
              "tmb": "tambien", "tb": "tambien", "xfa": "porfavor",
              "lana": "dinero", "feria": "dinero", "varo": "dinero", "baro": "dinero"}


def words(text: str) -> list[str]:
    """The folded words of a message, apostrophes dropped ("don't" -> "dont"), shorthand spelled out."""
    said = [_SHORTHAND.get(word, word) for word in normalise(text.replace("'", "").replace("’", "")).split()]
    # Short words are compared exactly (SHORT_WORD), so they are not folded either: "hi" would become "i".
    return [fold(word) if len(word) > SHORT_WORD else word for word in said]


@dataclass(frozen=True, slots=True)
class _Phrase:
    intent: str
    words: tuple[str, ...]


_PHRASES = tuple(_Phrase(intent.name, tuple(words(phrase))) for intent in INTENTS for phrase in intent.phrases)
_SAYS_MORE = {intent.name: intent.kind not in ("greeting", "thanks", "confused", "unsure", "doubt")
              for intent in INTENTS}


def _present(word: str, said: list[str]) -> float:
    """How closely `word` appears among the message's words (0-100)."""
    if word in said:
        return 100.0
    if len(word) <= SHORT_WORD:
        return 0.0
    cutoff = SHORT_WORD_SIMILARITY if len(word) <= SHORT_WORD_LENGTH else WORD_SIMILARITY
    best = process.extractOne(word, said, scorer=fuzz.ratio, score_cutoff=cutoff)
    return float(best[1]) if best else 0.0


def understand(text: str) -> str | None:
    """The intent a message expresses, by name, or None. Digits-only messages and long texts are not intents."""
    said = words(text)
    if not said or len(said) > 16 or all(word.isdigit() for word in said):
        return None
    best: tuple[bool, int, float, str] | None = None
    seen: dict[str, float] = {}  # phrases share many words ("cuanto", "que"): score each once
    for phrase in _PHRASES:
        if len(phrase.words) > len(said):
            continue
        scores = []
        for word in phrase.words:
            score = seen[word] if word in seen else seen.setdefault(word, _present(word, said))
            if not score:
                break
            scores.append(score)
        if len(scores) < len(phrase.words):
            continue
        # A greeting, a thanks, "no entiendo" or "no sé" only when nothing else is said: "hola, quisiera
        # información" asks for information, "¿cómo sé que no es fraude?" asks whether we are.
        rank = (_SAYS_MORE[phrase.intent], len(phrase.words), sum(scores) / len(scores), phrase.intent)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return best[3] if best else None


_ENGLISH = frozenset({"i", "you", "the", "to", "my", "is", "are", "do", "does", "what", "how", "much", "want",
                      "can", "please", "speak", "english", "hello", "it", "of", "for", "with", "this", "that",
                      "have", "need", "your", "and", "im", "dont", "would", "like", "where", "when", "who",
                      "am", "be", "get", "will", "an", "about", "thanks", "thank", "there", "know"})
_SPANISH = frozenset({"de", "la", "que", "el", "en", "y", "es", "mi", "por", "quiero", "como", "para", "con",
                      "tengo", "los", "las", "un", "una", "se", "su", "al", "lo", "cuanto", "hola", "si",
                      "usted", "ustedes", "gracias", "soy", "estoy", "esta", "pero", "mas", "del", "le"})
_WORD = re.compile(r"[a-z]+")


_PLEASANTRY_WORDS = frozenset(word for phrase in _PHRASES if BY_NAME[phrase.intent].kind in ("greeting", "thanks")
                              for word in phrase.words) | frozenset(words("muchas mil por favor buen dia oye"))


def only_pleasantries(text: str) -> bool:
    """Whether a message is nothing but greetings and thanks: "juan pérez gracias" is a name said politely."""
    return all(word in _PLEASANTRY_WORDS for word in words(text))


def looks_english(text: str) -> bool:
    """A message clearly written in English: two or more English-only words and no Spanish ones."""
    said = set(_WORD.findall(normalise(text.replace("'", "").replace("’", ""))))
    return len(said & _ENGLISH) >= 2 and not said & _SPANISH


def looks_spanish(text: str) -> bool:
    """A message clearly written in Spanish: two or more Spanish-only words and no English ones."""
    said = set(_WORD.findall(normalise(text)))
    return len(said & _SPANISH) >= 2 and not said & _ENGLISH


_QUESTION_LEADS = frozenset({"cuanto", "cuanta", "cuantos", "cuantas", "como", "que", "donde", "cuando", "cual", "es",
                             "son", "hay", "tienen", "tiene", "aceptan", "puedo", "se", "me", "para", "por", "porque",
                             "y", "oye", "pero", "ustedes", "how", "what", "is", "do", "does", "can", "where", "when",
                             "why", "are", "will", "q", "k", "neta", "a"})


def applies(name: str, text: str) -> bool:
    """Whether an intent found in the text is what the message is about, given how the intent may be said."""
    intent = BY_NAME[name]
    if not intent.asked or asks(text):
        return True
    return intent.brief and len(normalise(text).split()) <= BRIEF_WORDS


def asks(text: str) -> bool:
    """Whether a message reads as a question: a question mark, or a question's first word ("cuánto", "es"…).

    At a free-text question a FAQ needs this, so "vendo seguros" is an occupation, not a question on safety.
    """
    if "?" in text or "¿" in text:
        return True
    said = normalise(text).split()
    # "como 7 mil a la semana", "como en 8 mil": "about", not "how"
    about = len(said) > 1 and said[0] == "como" and (said[1][0].isdigit() or said[1] in ("en", "unos", "unas"))
    return bool(said) and said[0] in _QUESTION_LEADS and not about

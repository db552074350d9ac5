"""What the bot says about IMSS, held to its sources (issue 15): each test states a rule and cites it.

DOMAIN.md is the only source: a statement it does not support is softened or removed. The conversations run
through the pure engine (DESIGN §4, as in test_dialog_specs); the staff's side through the web chat and the inbox.
"""

from __future__ import annotations

import io
import re
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from stdnum import luhn

from bot.config import Settings
from bot.core.messages import Inbound
from bot.core.state import DialogState
from bot.dialog.engine import Engine
from bot.dialog.turn import DialogResult
from bot.service.enrollment_email import build_enrollment_email
from bot.wiring import Services
from flows.registry import FLOWS
from flows.rules.eligibility_assessment import assess
from flows.rules.legal import PRIVACY
from flows.rules.validators import CURP_EXAMPLE
from locales import translate
from tests.helpers import (
    CURP,
    ELIGIBLE,
    FULL_NAME,
    HEALTHY,
    RFC,
    Phone,
    conversation_id_of,
    enrolled_applicant,
    file_with_imss,
    login,
    make_settings,
    make_staff,
)
from tests.samples import pdf_document

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
# A whole enrollment typed in a second is faster than any person: the web chat's rate limits are widened here.
FAST_TYPIST = {name: "10000 per minute" for name in ("webchat_message_limit", "webchat_address_limit",
                                                      "webchat_session_limit", "webchat_upload_limit")}
ENGINE = Engine(FLOWS)
TO_THE_QUESTIONS = ("hola", "1", "acepto", "acepto")  # the menu, the terms, the privacy notice
# ELIGIBLE with "yes" to "Do you work for the public administration?" (the second answer).
PUBLIC_SERVANT = ["si", "si", *ELIGIBLE[2:]]
NSS_BORN_IN_99 = "1234995678" + luhn.calc_check_digit("1234995678")  # valid Luhn, birth year 99, CURP says 56


class Chat:
    """One applicant talking to the pure engine: texts, or taps given as ("tap", payload)."""

    def __init__(self) -> None:
        self.state = DialogState()
        self.last: DialogResult | None = None
        self.sent = 0

    def say(self, *messages: str | tuple[str, str]) -> Chat:
        for message in messages:
            text, payload = (None, message[1]) if isinstance(message, tuple) else (message, None)
            self.sent += 1
            inbound = Inbound("spec", "ana", f"m{self.sent}", text=text or "", payload=payload)
            self.last = ENGINE.run(self.state, inbound, NOW)
            self.state = self.last.conversation
        return self

    @property
    def text(self) -> str:
        assert self.last is not None
        return "\n".join(reply.text for reply in self.last.replies)

    @property
    def buttons(self) -> list[str]:
        assert self.last is not None
        return [button.title for reply in self.last.replies for button in reply.buttons]

    @property
    def step(self) -> str:
        return self.state.state


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    known = {name: rate for name, rate in FAST_TYPIST.items() if name in {f.name for f in fields(Settings)}}
    return make_settings(database_url, tmp_path / "data", **known)


def qualified() -> Chat:
    return Chat().say(*TO_THE_QUESTIONS, *ELIGIBLE, *HEALTHY)


def at_the_nss() -> Chat:
    chat = qualified().say("continuar", FULL_NAME, CURP, RFC)
    assert chat.step == "ask_nss"
    return chat


# -- item 2: the NSS birth year --------------------------------------------------------------------------------
def test_an_nss_whose_birth_year_differs_from_the_curp_is_confirmed_not_refused() -> None:
    """DOMAIN.md "Identifiers": the NSS birth year matching the CURP's is a plausibility check; a doubt is a
    warning plus a staff flag, not a rejection. The applicant sees both years, may keep the NSS as written on
    their IMSS documents and goes on; the case carries the doubt for staff (an eligibility review reason)."""
    chat = at_the_nss().say(NSS_BORN_IN_99)
    assert chat.step == "confirm_nss"
    assert "*99*" in chat.text and "*56*" in chat.text and "nuestro equipo lo confirmará" in chat.text
    assert chat.buttons == ["Sí, es correcto", "No, corregirlo"]
    chat.say(("tap", "keep"))
    assert chat.step == "ask_email"
    assert chat.state.data["nss"] == NSS_BORN_IN_99 and chat.state.data["flag_nss_birth_year"] is True
    result = assess(chat.state.data)
    assert result.outcome == "review"
    assert any("NSS" in reason for reason in result.reasons)


def test_the_applicant_may_correct_a_doubtful_nss_and_the_doubt_goes_away() -> None:
    """Correcting the NSS (or saying there is none) clears the flag: only a kept doubt reaches staff."""
    chat = at_the_nss().say(NSS_BORN_IN_99, ("tap", "change"))
    assert chat.step == "ask_nss"
    matching = "1234565678" + luhn.calc_check_digit("1234565678")
    chat.say(matching)
    assert chat.step == "ask_email" and chat.state.data["flag_nss_birth_year"] is False
    assert assess(chat.state.data).outcome == "likely"


def test_a_kept_nss_doubt_reaches_the_staff_inbox(app: Flask, services: Services, phone: Phone) -> None:
    """Through the web chat: the applicant keeps an NSS whose birth year differs from the CURP's, files the
    case, and the inbox shows the staff why it needs review (DOMAIN.md "Identifiers": a staff flag)."""
    phone.send("hola")
    for answer in ("1", "acepto", "acepto", *ELIGIBLE, *HEALTHY, "continuar", FULL_NAME, CURP, RFC):
        phone.send(answer)
    phone.send(NSS_BORN_IN_99)
    assert "*99*" in phone.text()
    phone.press("Sí, es correcto")
    assert "correo" in phone.text()
    make_staff(services)
    staff = app.test_client()
    login(staff)
    page = staff.get(f"/inbox/c/{conversation_id_of(services, phone)}").get_data(as_text=True)
    assert "The birth year in the NSS differs from the CURP" in page or "año de nacimiento del NSS" in page


# -- item 5: public administration -----------------------------------------------------------------------------
def test_a_public_servant_is_reviewed_by_a_person_not_rejected() -> None:
    """LSS art. 13 fr. V concerns public servants excluded from or not covered by other social-security laws;
    a public servant with ISSSTE and separate self-employment income is not settled by the law we hold
    (DOMAIN.md "The scheme"). So: staff review, never "cannot use this scheme"."""
    chat = Chat().say(*TO_THE_QUESTIONS, *PUBLIC_SERVANT, *HEALTHY)
    assert chat.step == "elig_review"
    assert "administración pública" in chat.text and "art. 13 fr. V" in chat.text
    assert "no pueden usar este esquema" not in chat.text and "propio régimen" not in chat.text
    assert chat.last is not None and "needs_review" in chat.last.events


# -- item 7: only a pension ------------------------------------------------------------------------------------
def test_only_a_pension_is_a_topic_reached_by_button_or_words() -> None:
    """DOMAIN.md "pitfalls": people confuse this scheme with Modalidad 40 (pension only, no medical care);
    INFONAVIT is an optional 5% ("Contributions"). Told as information, never advice."""
    for reach in (("tap", "pension_only"), "modalidad 40", "solo quiero pensión", "Mod 40"):
        chat = Chat().say("hola", "beneficios", reach)
        assert chat.step == "pension_only", reach
        assert "Modalidad 40" in chat.text and "solo pensión, sin atención médica" in chat.text
        assert "INFONAVIT (5%)" in chat.text and "No te aconsejamos" in chat.text


def test_the_eligibility_result_offers_the_pension_only_topic() -> None:
    """Where a person looks for it: every preliminary result offers the pension-only alternatives."""
    chat = qualified()
    assert chat.step == "elig_likely" and "¿Solo pensión? (Modalidad 40)" in chat.buttons
    chat.say("modalidad 40")
    assert chat.step == "pension_only"


# -- items 8 and 9: pregnancy and waiting periods --------------------------------------------------------------
def test_pregnancy_hears_the_30_weeks_rule_and_that_the_delivery_falls_in_the_waiting_period() -> None:
    """DOMAIN.md "Benefits and weeks": maternity pay needs >=30 weeks in the last 12 months (LSS arts. 101-102).
    "Waiting periods": childbirth 10 months from registration (RACERF art. 83), a current pregnancy's delivery
    falls inside it; how arts. 81-87 apply to this scheme is NOT CONFIRMED, so "may apply" and staff review."""
    chat = Chat().say(*TO_THE_QUESTIONS, *ELIGIBLE, "autorizo", "no", "embarazada")
    assert "pueden aplicar periodos de espera" in chat.text
    assert "Todo lo demás se cubre normalmente" not in chat.text and "el IMSS aplica periodos" not in chat.text
    assert "enfermedades preexistentes" in chat.text and "Un asesor revisará tu caso" in chat.text
    chat.say("continuar")
    assert chat.step == "elig_review"
    assert "30 semanas cotizadas en los últimos 12 meses" in chat.text
    assert "el parto de un embarazo actual quedaría dentro de ese periodo" in chat.text
    assert len(chat.text) <= 600  # the usual result stays one short message


def test_a_planned_surgery_goes_to_a_person() -> None:
    """RACERF art. 83 waiting periods "may apply" (NOT CONFIRMED for this scheme): health questions to staff."""
    chat = Chat().say(*TO_THE_QUESTIONS, *ELIGIBLE, "autorizo", "no", "cirugía", "continuar")
    assert chat.step == "elig_review" and "Algunas cirugías pueden tener periodos de espera" in chat.text
    assert len(chat.text) <= 600


def test_not_declaring_a_condition_can_end_coverage() -> None:
    """RACERF art. 87 (termination without refund) is law, but its application to this scheme is NOT CONFIRMED:
    "can end", not "ends"."""
    chat = Chat().say(*TO_THE_QUESTIONS, *ELIGIBLE, "autorizo")
    assert "puede terminar la cobertura sin reembolso" in chat.text


# -- item 10: who is covered, and what needs weeks -------------------------------------------------------------
def test_medical_care_states_the_family_conditions_and_sick_pay() -> None:
    """LSS art. 84 (DOMAIN.md "Benefits and weeks"): children under 16 (25 while studying), father and mother
    who live with the insured, all economically dependent; sick pay is for the insured only and needs 4 weeks
    (arts. 96-97); pre-existing conditions (art. 82) and exclusions (art. 84 RACERF) are not covered."""
    text = Chat().say("hola", "beneficios", ("tap", "medical")).text
    for fragment in ("menores de 16 (hasta 25 si estudian)", "si viven contigo", "dependan económicamente de ti",
                     "El pago de incapacidades es solo para ti", "4 semanas cotizadas", "Pueden aplicar periodos"):
        assert fragment in text
    assert "para todo lo demás" not in text


def test_survivors_pensions_need_weeks() -> None:
    """LSS art. 128: survivors' pensions need 150 weekly contributions recognised, or a pensioner; invalidity
    250 weeks (art. 122)."""
    text = Chat().say("hola", "beneficios", ("tap", "invalidity")).text
    assert "250 semanas" in text and "al menos 150 semanas cotizadas reconocidas, o ser pensionado" in text


def test_maternity_pay_is_for_the_insured_and_needs_30_weeks() -> None:
    """LSS arts. 101-102: maternity pay >=30 weeks in the last 12 months, for the insured person only; the
    childbirth waiting period "may apply" (NOT CONFIRMED for this scheme)."""
    text = Chat().say("hola", "beneficios", ("tap", "maternity")).text
    assert "30 semanas cotizadas en los últimos 12 meses" in text and "puede aplicar un periodo de espera" in text
    assert "lactancia" not in text  # not in DOMAIN.md: removed


# -- item 13: requirements and when services start -------------------------------------------------------------
def test_the_requirements_name_the_afore_and_the_medical_questionnaire() -> None:
    """DOMAIN.md "What the applicant provides": AFORE registration (or right after enrolling); IMSS applies a
    medical questionnaire per insured and beneficiary (RACERF art. 81)."""
    text = Chat().say("hola", "requisitos").text
    assert "AFORE" in text and "cuestionario médico a ti y a cada beneficiario" in text


def test_the_filed_case_says_services_start_on_the_first_of_the_next_month() -> None:
    """RACERF art. 77 (DOMAIN.md "Contributions"): services start on the first day of the month after the
    inscription."""
    state = DialogState(data={"case": {"folio": "PTI-2026-000001", "status": "received"}, "documents": {}})
    text = "\n".join(reply.text for reply in ENGINE.render("case_filed", state, date(2026, 11, 28)))
    assert "Los servicios del IMSS empiezan el día 1 del mes siguiente a tu inscripción" in text
    assert len(text) <= 600  # even with every document still missing


def test_the_enrolled_message_says_services_start_on_the_first_of_the_next_month(
        app: Flask, services: Services, phone: Phone) -> None:
    """RACERF art. 77: the "inscripción lista" message the applicant gets with the receipt says when services
    start (the 1st of the month after the enrollment)."""
    enrolled_applicant(phone)
    make_staff(services)
    staff = app.test_client()
    login(staff)
    conversation_id = conversation_id_of(services, phone)
    page = staff.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    case_id = int(re.search(rf"/inbox/c/{conversation_id}/case/(\d+)/", page).group(1))  # type: ignore[union-attr]
    file_with_imss(staff, conversation_id, case_id)
    with staff.session_transaction() as session:
        token = session["csrf"]
    response = staff.post(f"/inbox/c/{conversation_id}/case/{case_id}/results",
                          content_type="multipart/form-data",
                          data={"csrf_token": token, "receipt": (io.BytesIO(pdf_document()), "r.pdf"),
                                "payment_slip": (io.BytesIO(pdf_document(seed=5)), "l.pdf")})
    assert response.status_code == 302
    later = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert any("Tus servicios del IMSS empiezan el día 1 del mes siguiente a tu inscripción" in message["text"]
               for message in later)


# -- item 11 and the privacy notice ----------------------------------------------------------------------------
def test_the_curp_prompt_shows_the_example_our_validator_accepts() -> None:
    """Issue 15 item 11: the prompt's example CURP is the validators' own (stdnum check digit, DOMAIN.md
    "Identifiers"); tests/test_validators.py checks every example in the catalogs."""
    text = qualified().say("continuar", FULL_NAME).text
    assert CURP_EXAMPLE in text and "GODE561231HDFRRN09" not in text


def test_the_simplified_privacy_notice_names_sensitive_data_and_how_to_object() -> None:
    """New LFPDPPP arts. 15-16 (DOMAIN.md "Personal data"): the simplified notice identifies sensitive data
    and how to limit use; income needs express consent (art. 7). A change in substance bumps the version."""
    assert PRIVACY.version == "2026-12-01.2"  # issue 21: documents are read automatically
    text = Chat().say("hola", "1", "acepto").text
    assert "que son datos sensibles" in text and "u oponerte a su uso" in text
    assert "ingreso con tu consentimiento expreso" in text
    rights = translate("es_MX", PRIVACY.paragraphs[3])
    assert "20 días hábiles" in rights and "15 días siguientes" in rights


def test_the_enrollment_email_says_services_start_on_the_first_of_the_next_month() -> None:
    """RACERF art. 77: the email that closes the case (receipt and first payment slip) says when services start."""
    message = build_enrollment_email(to="ana@example.mx", mail_from="tramites@gestoria.mx", locale="es_MX",
                                     name="Ana", folio="PTI-2026-000001", deadline="20 de diciembre de 2026",
                                     business="Gestoría PTI", attachments=[])
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "Tus servicios del IMSS empiezan el día 1 del mes siguiente a tu inscripción." in plain.get_content()

"""The enrollment journey through the web chat API: from "hola" to a folio, with real uploads.

Dialog tables for each part (consent, eligibility outcomes, validation errors, editing from the
summary), then one scripted applicant end to end whose stored case, consents and encrypted documents
are checked in the database and on disk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from flows.rules.legal import PRIVACY, TERMS
from locales import translate
from storage.models import Case, CaseEvent, Consent, Document
from tests.helpers import CURP, ELIGIBLE, NSS, RFC, Phone, pay_by_transfer
from tests.samples import document_photo, id_card_photo, pdf_document, png_photo


def t(locale: str, msgid: str, **values: Any) -> str:
    return translate(locale, msgid, **values)


def start(phone: Phone, locale: str = "es_MX") -> None:
    phone.send("hola")
    if locale == "en":
        phone.send("idioma")
        phone.press("English")
    phone.press(t(locale, "Start my enrollment"))


def accept_and_qualify(phone: Phone, locale: str = "es_MX") -> None:
    start(phone, locale)
    phone.press(t(locale, "I accept"))
    phone.press(t(locale, "I accept"))
    for answer in ELIGIBLE:
        phone.send(answer)
    phone.press(t(locale, "I authorise it"))
    phone.press(t(locale, "No"))
    phone.press(t(locale, "Neither"))
    assert "✅" in phone.text()
    phone.press(t(locale, "Continue"))


def fill_data(phone: Phone, email: str = "ana.gonzalez@example.mx") -> None:
    for answer in ("eduardo gonzález díaz", CURP.lower(), RFC, NSS, email, "sí", "55 1234 5678", "06600",
                   "Av. Juárez 123, Col. Centro, Cuauhtémoc", "diseñador web", "acepto", "12 mil", "bimestral"):
        phone.send(answer)


def consents(services: Services) -> list[tuple[str, str, bool]]:
    with services.database.session_scope() as session:
        return [(c.kind, c.version, c.accepted) for c in session.execute(
            select(Consent).order_by(Consent.id)).scalars()]


def test_terms_come_first_with_links_to_versioned_full_texts(phone: Phone, client: FlaskClient) -> None:
    start(phone)
    assert f"/legal/terms?v={TERMS.version}" in phone.text()
    assert phone.buttons() == [t("es_MX", "I accept"), t("es_MX", "I do not accept")]
    phone.press(t("es_MX", "I accept"))
    assert f"/legal/privacy?v={PRIVACY.version}" in phone.text()
    for kind, words in (("terms", "reembolso"), ("privacy", "ARCO")):
        page = client.get(f"/legal/{kind}").get_data(as_text=True)
        assert words in page and (TERMS if kind == "terms" else PRIVACY).version in page
    assert "refund" in client.get("/legal/terms?lang=en").get_data(as_text=True)
    assert client.get("/legal/other").status_code == 404


def test_declining_ends_politely_stores_nothing_personal(phone: Phone, services: Services) -> None:
    start(phone)
    phone.press(t("es_MX", "I do not accept"))
    assert phone.buttons() == [t("es_MX", "See the terms again"), t("es_MX", "Talk to a person"),
                               t("es_MX", "Main menu")]
    assert consents(services) == [("terms", TERMS.version, False)]
    phone.send("mis datos")
    assert t("es_MX", "I have no personal data of yours saved.") in phone.text()
    phone.send("menu")
    phone.press(t("es_MX", "Start my enrollment"))  # starts over with the terms
    assert f"/legal/terms?v={TERMS.version}" in phone.text()
    phone.press(t("es_MX", "I do not accept"))
    phone.send("bueno sí, sí acepto")  # changing one's mind shows the terms again, to accept with their button
    assert f"/legal/terms?v={TERMS.version}" in phone.text()
    assert consents(services) == [("terms", TERMS.version, False)] * 2


ELIGIBILITY_CASES = [
    ("likely", ELIGIBLE + ["authorise", "no", "no"], "✅", []),
    ("salaried note", ["si", "no", "si", "1", "1", "1", "2", "no", "skip"], "✅",
     ["Having a salaried job too is fine: you pay this insurance separately.",
      "You are probably in Ley 73 (first registered before 1 July 1997). Both Ley 73 and Ley 97 members can "
      "enroll."]),
    ("no own income", ["no", "no", "no", "1", "1", "4", "2", "no", "skip"], "Modalidad 40",
     ["This scheme is for people who earn income from their own activity."]),
    # LSS art. 13 fr. V does not settle a public servant with separate self-employment income: staff review.
    ("public administration", ["si", "si", "no", "1", "1", "3", "2", "no", "skip"], "🔎",
     ["You work in the public administration: whether this scheme applies depends on your social-security "
      "regime (Ley del Seguro Social art. 13 fr. V), so an advisor will review your case."]),
    ("pensioner", ["si", "no", "no", "1", "1", "1", "3", "si", "skip"], "🔎",
     ["For your age an advisor will confirm the current rules.",
      "Because you receive a pension, an advisor will confirm the current rules."]),
    ("foreigner in process abroad", ["si", "no", "no", "2", "2", "2", "2", "2", "no", "skip"], "🔎",
     ["Your legal stay is in process: an advisor will check when you can enroll.",
      "Living abroad you can enroll if you have legal stay where you live."]),
    ("pregnant with condition", ["si", "no", "no", "1", "1", "2", "2", "no", "authorise", "si", "2", "continuar"],
     "🔎",
     ["A 10-month waiting period for childbirth may apply from your enrollment, so the delivery of a current "
      "pregnancy would fall inside it; an advisor will confirm it.",
      "Maternity pay needs 30 weeks of contributions in the last 12 months."]),
]


@pytest.mark.parametrize("locale", ["es_MX", "en"])
@pytest.mark.parametrize(("case", "answers", "marker", "reasons"), ELIGIBILITY_CASES,
                         ids=[c[0] for c in ELIGIBILITY_CASES])
def test_eligibility_outcomes(phone: Phone, locale: str, case: str, answers: list[str], marker: str,
                              reasons: list[str]) -> None:
    start(phone, locale)
    phone.press(t(locale, "I accept"))
    phone.press(t(locale, "I accept"))
    assert "IMSS" in phone.text()
    for answer in answers:
        if answer in ("authorise", "skip"):
            phone.send(payload=answer)
        else:
            phone.send(answer)
    text = phone.text()
    assert marker in text, text
    for reason in reasons:
        assert t(locale, reason) in text
    assert t(locale, "This is informative, not an IMSS decision.").split(",")[0][:12] in text or "IMSS" in text


def test_waiting_periods_are_explained_for_a_planned_surgery(phone: Phone) -> None:
    start(phone)
    phone.press(t("es_MX", "I accept"))
    phone.press(t("es_MX", "I accept"))
    for answer in ["si", "no", "no", "1", "1", "2", "2", "no", "autorizo", "no", "3"]:  # after the health consent
        phone.send(answer)
    text = phone.text()
    assert "10" in text and "2" in text and t("es_MX", "Continue") in phone.buttons()


VALIDATION_TABLE = [
    # (step answers before, bad answer, expected error fragment (msgid), good answer)
    ([], "Ana", "I need your first name and your surnames, for example: *%(example)s*", "Eduardo González Díaz"),
    (["Eduardo González Díaz"], "GODE561231", None, CURP),
    (["Eduardo González Díaz", CURP], "XAXX010101000", None, RFC),
    (["Eduardo González Díaz", CURP, RFC], "1234991234", None, NSS),
    (["Eduardo González Díaz", CURP, RFC, NSS], "ana@gmial.com", None, "ana@gmail.com"),
]


@pytest.mark.parametrize(("before", "bad", "error", "good"), VALIDATION_TABLE,
                         ids=["name", "curp", "rfc", "nss", "email"])
def test_validation_errors_explain_and_ask_again(phone: Phone, before: list[str], bad: str, error: str | None,
                                                 good: str) -> None:
    accept_and_qualify(phone)
    for answer in before:
        phone.send(answer)
    question = phone.last[-1]["text"]
    replies = phone.send(bad)
    assert len(replies) == 2 and replies[1]["text"] == question  # the correction, then the same question
    if error:
        assert replies[0]["text"].startswith(t("es_MX", error, example="X").split("*")[0])
    assert re.search(r"ejemplo|\*[^*]+\*", replies[0]["text"]), "every correction shows an example"
    after = phone.send(good)
    assert after[-1]["text"] != question


def test_nss_is_optional_and_income_formats(phone: Phone) -> None:
    accept_and_qualify(phone)
    for answer in ("Eduardo González Díaz", CURP, RFC):
        phone.send(answer)
    phone.press(t("es_MX", "I do not have one"))
    assert "@" in phone.text() or "correo" in phone.text().lower()
    for answer in ("ana@example.mx", "si", "5512345678", "06600", "Calle 5 número 10, Centro, Puebla",
                   "costurera", "si"):
        phone.send(answer)
    replies = phone.send("mucho dinero")
    assert "$12,500" in replies[0]["text"]
    phone.send("$3,000")
    assert t("es_MX", "How often will you pay IMSS? (always in advance)") in phone.text()
    phone.send("mensual")
    text = phone.text()
    assert "$1,879.17" in text  # raised to the minimum base
    assert "$9,577.22" in text or "315.04" in text


def test_summary_edits_one_item_and_returns(phone: Phone) -> None:
    accept_and_qualify(phone)
    fill_data(phone)
    phone.press(t("es_MX", "Continue"))
    phone.press(t("es_MX", "Not now"))
    for _ in range(4):
        phone.send("después")
    phone.send("omitir")
    summary = phone.text()
    assert "ana.gonzalez@example.mx" in summary and CURP in summary and "$12,000.00" in summary
    phone.press(t("es_MX", "Correct something"))
    phone.press(t("es_MX", "Email"))
    phone.send("nuevo.correo@example.mx")
    phone.send("si")
    summary = phone.text()
    assert "nuevo.correo@example.mx" in summary and "ana.gonzalez" not in summary
    assert t("es_MX", "Everything is right, send it") in phone.buttons()
    phone.press(t("es_MX", "Correct something"))
    phone.press(t("es_MX", "Monthly income"))
    phone.send("20 mil")
    assert "$" in phone.text() and t("es_MX", "Change my income") in phone.buttons()  # the new estimate
    phone.press(t("es_MX", "Continue"))
    assert "$20,000.00" in phone.text() and "nuevo.correo@example.mx" in phone.text()


def test_whole_journey_to_a_folio_with_documents(phone: Phone, services: Services, settings: Any) -> None:
    accept_and_qualify(phone)
    fill_data(phone)
    estimate_text = phone.text()
    assert "$" in estimate_text and "línea de captura" in estimate_text
    phone.press(t("es_MX", "Continue"))
    phone.press(t("es_MX", "Yes, add one"))
    phone.send("María López, esposa")
    assert "María López" in phone.text()
    phone.press(t("es_MX", "No, continue"))

    front = id_card_photo()
    replies = phone.upload(document_photo(blur=6), "borrosa.jpg")
    assert "borrosa" in replies[0]["text"].lower()
    replies = phone.upload(document_photo(400, 300), "chica.jpg")
    assert replies[0]["text"] != t("es_MX", "Received, thank you! ✅")
    phone.upload(b"MZ\x90\x00not a photo", "virus.jpg")
    phone.upload(front, "../../etc/passwd")
    assert phone.last[0]["text"] == t("es_MX", "Received, thank you! ✅")
    back = png_photo(seed=3)
    phone.upload(back, "back.png")
    certificate = pdf_document(pages=2)
    phone.upload(certificate, "constancia.pdf")
    phone.send("después")  # proof of address later
    phone.send("omitir")  # CURP document is optional
    summary = phone.text()
    assert "María López" in summary and t("es_MX", "Still missing from you: %(documents)s.",
                                           documents="x").split(":")[0] in summary
    phone.press(t("es_MX", "Everything is right, send it"))
    assert "Total $1,499.00 MXN (IVA incluido)" in phone.text() and not re.search(r"PTI-2026-\d{6}", phone.text())
    pay_by_transfer(phone)
    folio = re.search(r"PTI-2026-\d{6}", phone.text())
    assert folio, phone.text()

    with services.database.session_scope() as session:
        case = session.execute(select(Case)).scalar_one()
        data = services.cipher.decrypt_json(case.data)
        assert case.folio == folio.group(0) and case.status == "received" and case.eligibility == "likely"
        for key, value in (("full_name", "Eduardo González Díaz"), ("curp", CURP), ("rfc", RFC), ("nss", NSS),
                           ("email", "ana.gonzalez@example.mx"), ("phone", "+525512345678"),
                           ("postal_code", "06600"), ("occupation", "diseñador web"), ("monthly_income", 12000.0),
                           ("payment_frequency", "bimonthly"), ("border_zone", "no")):
            assert data[key] == value, key
        assert data["beneficiaries"] == [{"name": "María López", "relationship": "spouse"}]
        assert data["birth_date"] == "1956-12-31" and data["sex"] == "H"
        assert "documents_pending" in case.flags
        assert "age_differs" in case.flags  # born 1956, and the questionnaire said 18 to 59
        assert [e.status for e in session.execute(select(CaseEvent)).scalars()] == ["received"]
        documents = {d.slot: d for d in session.execute(select(Document)).scalars()}
        assert set(documents) == {"id_front", "id_back", "tax_certificate", "payment_receipt",
                                  "fee_receipt"}
        assert all(d.case_id == case.id for d in documents.values())
        certificate_row = documents["tax_certificate"]
        assert certificate_row.content_type == "application/pdf" and certificate_row.pages == 2
    kinds = consents(services)
    assert [k for k, _, accepted in kinds if accepted] == ["terms", "privacy", "health", "financial",
                                                           "service_contract"]
    with services.database.session_scope() as session:
        assert all(c.message_id for c in session.execute(select(Consent)).scalars())

    stored = [p for p in Path(settings.data_dir, "documents").rglob("*") if p.is_file()]
    assert len(stored) == 5  # rejected files are not kept (then the transfer receipt and our payment receipt)
    raw = b"".join(p.read_bytes() for p in stored)
    for original in (front, back, certificate):
        assert original[:64] not in raw and original[-64:] not in raw
    assert not any("passwd" in str(p) or "constancia" in str(p) for p in stored)

    phone.send("estado")
    status = phone.text()
    assert folio.group(0) in status and t("es_MX", "received") in status
    assert t("es_MX", "proof of address (less than 3 months old)") in status
    phone.press(t("es_MX", "Send pending documents"))
    phone.upload(document_photo(seed=5), "recibo.jpg")
    assert folio.group(0) in phone.text() and t("es_MX", "Nothing is missing from you.") in phone.text()
    with services.database.session_scope() as session:
        proof = session.execute(select(Document).where(Document.slot == "proof_of_address")).scalar_one()
        assert proof.case_id is not None
    phone.send("menu")
    phone.press(t("es_MX", "Start my enrollment"))
    assert folio.group(0) in phone.text()  # no second enrollment: the case status instead


def test_journey_in_english(phone: Phone, services: Services) -> None:
    accept_and_qualify(phone, "en")
    assert phone.text() == t("en", "What is your full name, as it appears on your CURP? (given names and surnames)")
    fill_data(phone)
    assert "Your estimate" in phone.text() or "estimate" in phone.text().lower()
    phone.press("Continue")
    phone.press("Not now")
    for _ in range(4):
        phone.send("later")
    phone.send("skip")
    phone.press("Everything is right, send it")
    assert "Total $1,499.00 MXN (IVA included)" in phone.text()
    pay_by_transfer(phone)
    assert re.search(r"PTI-2026-\d{6}", phone.text())


def test_resume_in_the_middle_after_restart(phone: Phone, services: Services, settings: Any) -> None:
    from datetime import timedelta

    from bot.core.clock import utcnow
    from bot.web.app import create_app
    from bot.wiring import build_services

    accept_and_qualify(phone)
    phone.send("Eduardo González Díaz")
    cookie = phone.client.get_cookie("session")
    assert cookie is not None
    services.close()
    restarted = build_services(settings)
    restarted.turns.clock = lambda: utcnow() + timedelta(days=2)
    client = create_app(settings, restarted).test_client()
    client.set_cookie("session", cookie.value)
    again = Phone(client)
    replies = again.send("hola")
    assert t("es_MX", "your CURP") in replies[0]["text"]
    again.send(CURP)
    assert t("es_MX", "Now your RFC with homoclave (13 characters, e.g. GODE561231GR8).") in again.text()
    again.send("menu")
    again.press(t("es_MX", "Start my enrollment"))
    assert again.text() == t("es_MX", "Now your RFC with homoclave (13 characters, e.g. GODE561231GR8).")
    restarted.close()


def test_upload_too_large_is_a_friendly_413(phone: Phone) -> None:
    phone.send("hola")
    phone.upload(b"\xff\xd8\xff" + b"0" * (12 * 1024 * 1024), "big.jpg", status=413)


def test_upload_outside_a_document_step_is_kept_but_the_question_repeats(phone: Phone) -> None:
    phone.send("hola")
    replies = phone.upload(document_photo(), "foto.jpg")
    assert replies[-1]["text"] == t("es_MX", "How can I help you? Choose an option:")


def test_any_document_can_be_sent_again_from_the_summary(phone: Phone, services: Services) -> None:
    """With every document held, "Documents" in the correction menu asks which one, and the one chosen is
    replaced; the summary comes back (before, only the ID's front could be sent again)."""
    from tests.helpers import applicant_at_summary

    applicant_at_summary(phone)
    phone.press(t("es_MX", "Correct something"))
    phone.press(t("es_MX", "Documents"))
    assert t("es_MX", "Which document do you want to send again?") in phone.text()
    assert t("es_MX", "proof of address (less than 3 months old)") in phone.buttons()
    phone.send("el comprobante de domicilio")
    phone.upload(document_photo(seed=41), "recibo-nuevo.jpg")
    assert t("es_MX", "Everything is right, send it") in phone.buttons()
    with services.database.session_scope() as session:
        slots = session.execute(select(Document.slot).where(Document.slot == "proof_of_address")).scalars().all()
    assert len(slots) >= 1

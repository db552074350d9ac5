"""Reading documents (issue 21): fields read from synthetic documents with known contents, compared with what the
applicant typed; through the web chat and WhatsApp, the worker reads what was stored, matches stay silent, a
clear mismatch gets one question, staff see the comparison, and "borrar mis datos" leaves nothing read behind.

OCR costs about a second a page, so only a few tests use it; the others read PDFs with a text layer.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.service.document_reading import read_document, tesseract_available
from bot.wiring import Services
from bot.worker.document_reading import InBackground
from flows.rules.document_fields import compare, doubt, extract_fields, name_matches, overall, repair_curp
from locales import translate
from storage.models import DocumentReading
from storage.retention import purge_abandoned_conversations
from tests.document_samples import (
    Identity,
    constancia,
    curp_certificate,
    identity,
    ine_back,
    ine_back_pdf,
    ine_front,
    ine_front_pdf,
    proof_of_address,
    proof_of_address_pdf,
    typed_data,
)
from tests.helpers import (
    CURP,
    ELIGIBLE,
    FULL_NAME,
    NSS,
    RFC,
    Phone,
    WhatsAppUser,
    drain_outbox,
    skip_or_fail,
)

TODAY = date(2026, 12, 1)
# The sample applicant of tests/helpers.py, as their documents print them.
APPLICANT = Identity("Eduardo", "González", "Díaz", date(1956, 12, 31), "H", CURP, RFC, "06600", "AV JUAREZ 123")


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def needs_tesseract() -> None:
    if not tesseract_available():
        skip_or_fail("tesseract-ocr and tesseract-ocr-spa (Debian) are needed to read photos")


def read_stored_documents(services: Services) -> None:
    """What the worker's reading thread does, here on the test's thread."""
    assert services.worker is not None
    reader = next(job.job for job in services.worker.jobs if isinstance(job, InBackground))
    while reader.run_once():
        pass


# -- fields and comparisons (pure, no OCR) -------------------------------------------------------------------
def test_the_constancia_and_the_curp_certificate_are_read_from_their_text_layer() -> None:
    person = identity(7)
    read = read_document(constancia(person, date(2026, 11, 20)), "application/pdf", "tax_certificate", TODAY)
    assert read.method == "pdf_text"
    values = {name: field.value for name, field in read.fields.items()}
    assert values == {"curp": person.curp, "rfc": person.rfc, "full_name": person.upper_name,
                      "postal_code": person.postal_code, "issue_date": "2026-11-20",
                      "regime": "Regimen Simplificado De Confianza"}
    assert all(field.confidence >= 0.9 for field in read.fields.values())
    comparisons = compare("tax_certificate", read.fields, typed_data(person), TODAY)
    assert overall(comparisons) == "match" and doubt(comparisons) is None
    certificate = read_document(curp_certificate(person), "application/pdf", "curp_document", TODAY)
    assert {n: f.value for n, f in certificate.fields.items()} == {"curp": person.curp, "full_name": person.upper_name}


def test_names_match_whatever_the_accents_the_order_or_a_missing_second_surname() -> None:
    assert name_matches("EDUARDO GONZALEZ DIAZ", "Eduardo González Díaz") == ("match", "")
    assert name_matches("EDUARDO GONZALEZ DIAZ", "González Díaz Eduardo") == ("match", "")
    assert name_matches("EDUARD0 G0NZALEZ DIAZ", "Eduardo González Díaz")[0] == "match"  # OCR's 0 for O
    assert name_matches("EDUARDO GONZALEZ DIAZ", "Eduardo González") == ("partial", "missing_words")
    assert name_matches("MARIA DE LA LUZ PEREZ", "María de la Luz Pérez") == ("match", "")
    assert name_matches("JUAN PEREZ LOPEZ", "Eduardo González Díaz")[0] == "mismatch"
    assert name_matches("LUCIA GONZALEZ DIAZ", "Eduardo González Díaz")[0] == "mismatch"  # a sister's document


def test_ocr_confusions_are_repaired_by_position_and_trusted_only_with_a_valid_check_digit() -> None:
    assert repair_curp("G0DE56I23IHDFNZD03") == CURP
    fields = extract_fields("curp_document", "CLAVE\nG0DE56I23IHDFNZDO3\nNOMBRE\nEDUARDO GONZALEZ DIAZ", 0.8, TODAY)
    assert fields["curp"].value == CURP and fields["curp"].confidence >= 0.8
    unsure = extract_fields("curp_document", "CLAVE\nGODE561231HDFNZD04", 0.9, TODAY)["curp"]
    assert unsure.confidence < 0.5  # the check digit fails: shown to staff, never put to the applicant
    assert doubt(compare("curp_document", {"curp": unsure}, typed_data(APPLICANT), TODAY)) is None


def test_clear_mismatches_are_another_curp_another_person_or_an_old_proof_of_address() -> None:
    other = identity(3)
    read = read_document(curp_certificate(other), "application/pdf", "curp_document", TODAY)
    question = doubt(compare("curp_document", read.fields, typed_data(APPLICANT), TODAY))
    assert question is not None and (question.field, question.found, question.typed) == ("curp", other.curp, CURP)
    old = read_document(proof_of_address_pdf(APPLICANT, date(2026, 7, 15)), "application/pdf", "proof_of_address",
                        TODAY)
    question = doubt(compare("proof_of_address", old.fields, typed_data(APPLICANT), TODAY))
    assert question is not None and (question.field, question.found) == ("issue_date", "2026-07-15")
    recent = read_document(proof_of_address_pdf(APPLICANT, date(2026, 9, 2)), "application/pdf", "proof_of_address",
                           TODAY)
    assert overall(compare("proof_of_address", recent.fields, typed_data(APPLICANT), TODAY)) == "match"
    front = read_document(ine_front_pdf(APPLICANT), "application/pdf", "id_front", TODAY)
    moved = compare("id_front", front.fields, typed_data(APPLICANT, postal_code="44100"), TODAY)
    assert [c.outcome for c in moved if c.field == "postal_code"] == ["mismatch"]
    assert overall(moved) == "match" and doubt(moved) is None  # a move shows to staff; it is no other person
    back = read_document(ine_back_pdf(APPLICANT), "application/pdf", "id_back", TODAY)
    assert {n: f.value for n, f in back.fields.items()} == {"birth_date": "1956-12-31",
                                                             "full_name": "EDUARDO GONZALEZ DIAZ"}


def test_a_file_that_cannot_be_read_is_not_read_never_an_error() -> None:
    for content, kind in ((b"%PDF-1.4 broken", "application/pdf"), (b"\xff\xd8\xff garbage", "image/jpeg")):
        read = read_document(content, kind, "id_front", TODAY)
        assert (read.fields, read.method) == ({}, "none")


# -- photos through OCR (few: about a second each) ------------------------------------------------------------
def test_photos_of_the_ine_and_a_bill_are_read_with_ocr() -> None:
    needs_tesseract()
    person = identity(11)
    front = read_document(ine_front(person, seed=1), "image/jpeg", "id_front", TODAY)
    assert front.method == "ocr"
    assert front.fields["curp"].value == person.curp and front.fields["curp"].confidence >= 0.8
    assert name_matches(front.fields["full_name"].value, person.full_name)[0] == "match"
    back = read_document(ine_back(person, seed=2), "image/jpeg", "id_back", TODAY)
    assert back.fields["birth_date"].value == person.birth.isoformat()
    bill = read_document(proof_of_address(person, date(2026, 11, 3), seed=3), "image/jpeg", "proof_of_address",
                         TODAY)
    assert {n: f.value for n, f in bill.fields.items()} == {"postal_code": person.postal_code,
                                                             "issue_date": "2026-11-03"}
    assert max(front.milliseconds, back.milliseconds, bill.milliseconds) < 15_000


# -- through the channels -------------------------------------------------------------------------------------
def at_the_documents(phone: Phone) -> None:
    """The sample applicant answers every question up to the first document request."""
    for answer in ("hola", "1", "acepto", "acepto", *ELIGIBLE, "2", "continuar", FULL_NAME, CURP, RFC, NSS,
                   "ana@example.mx", "si", "5512345678", "06600", "Av. Juárez 123, Centro, CDMX", "carpintero", "si",
                   "15000", "mensual", "continuar", "no"):
        phone.send(answer)


def test_web_chat_matching_documents_are_silent_and_another_persons_curp_gets_one_question(
        phone: Phone, services: Services, staff_client: FlaskClient) -> None:
    at_the_documents(phone)
    other = identity(3)
    phone.upload(ine_front_pdf(APPLICANT), "frente.pdf")
    phone.upload(ine_back_pdf(APPLICANT), "reverso.pdf")
    phone.upload(constancia(APPLICANT, date(2026, 11, 20)), "constancia.pdf")
    phone.upload(proof_of_address_pdf(APPLICANT, date(2026, 11, 5)), "recibo.pdf")
    read_stored_documents(services)
    assert phone.poll() == []  # four documents that agree: nothing to say
    phone.upload(curp_certificate(other), "curp.pdf")  # the optional CURP, but someone else's
    assert other.curp not in phone.text()  # reading happens in the worker, never in the turn
    read_stored_documents(services)
    question = phone.poll()
    assert len(question) == 1
    assert question[0]["text"] == es("%(doubt)s\nWould you like to correct your data or send another document?",
                                     doubt=es("Your %(document)s says the CURP is *%(found)s*, but you wrote "
                                              "*%(typed)s*.", document=es("CURP document"), found=other.curp,
                                              typed=CURP))
    assert phone.buttons() == [es("Correct my data"), es("Send another document")]
    with services.database.session_scope() as session:
        readings = {r.slot: r for r in session.execute(select(DocumentReading)).scalars()}
        assert {slot: (r.outcome, r.asked) for slot, r in readings.items()} == {
            "id_front": ("match", False), "id_back": ("match", False), "tax_certificate": ("match", False),
            "proof_of_address": ("match", False), "curp_document": ("mismatch", True)}
        assert other.curp.encode() not in (readings["curp_document"].fields or b"")  # encrypted at rest
        assert "curp" in readings["curp_document"].summary and other.curp not in readings["curp_document"].summary
        conversation_id = readings["curp_document"].conversation_id
        document_id = readings["curp_document"].document_id

    # Staff see, beside the document, what it says and how it compares.
    page = staff_client.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    row = re.search(rf'id="reading-{document_id}".*?</details>', page, re.S)
    assert row and other.curp in row.group(0) and es("does not match") in row.group(0)
    assert es("the applicant was asked") in row.group(0)
    queue = staff_client.get("/inbox/?view=review").get_data(as_text=True)
    assert es("A document disagrees with the typed data") in queue  # highlighted in the review queue
    # Their verdict is kept beside the reading, to tune the thresholds with.
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    staff_client.post(f"/inbox/c/{conversation_id}/documents/{document_id}/review",
                      data={"csrf_token": token.group(1), "decision": "reject", "reason": "No es tu CURP"})
    with services.database.session_scope() as session:
        assert session.execute(select(DocumentReading.decision).where(
            DocumentReading.document_id == document_id)).scalar_one() == "rejected"

    # "Corregir mis datos" goes to the CURP question, and "borrar mis datos" leaves nothing read behind.
    phone.send("corregir mis datos")
    assert "CURP" in phone.text()
    phone.send("borrar mis datos")
    phone.send("sí")
    with services.database.session_scope() as session:
        rows = list(session.execute(select(DocumentReading)).scalars())
        assert len(rows) == 5 and all(r.fields is None and r.document_id is None and r.conversation_id is None
                                      for r in rows)
        assert {r.decision for r in rows} == {None, "rejected"}  # the anonymous verdict stays for tuning


def test_whatsapp_an_old_proof_of_address_gets_the_question_and_a_poor_photo_stays_silent(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    needs_tesseract()
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    for answer in ("hola", "1", "acepto", "1", "si", "no", "no", "1", "1", "2", "2", "no", "1", "no", "1",
                   "continuar", FULL_NAME, CURP, RFC, NSS, "ana@example.mx", "si", "si", "06600",
                   "Av. Juárez 123, Centro, CDMX", "costurera", "1", "$15,000", "1", "1", "2"):
        ana.say(answer)
    # A dim, blurred, noisy photo of someone else's card: it passes the photo checks but reads as nothing sure.
    replies = ana.send_media((ine_front(identity(5), seed=3, blur=1.8, noise=25, contrast=150), "image/jpeg"))
    assert es("Received, thank you! ✅") in replies
    ana.send_media((ine_back_pdf(APPLICANT), "application/pdf"))
    ana.send_media((constancia(APPLICANT, date(2026, 11, 20)), "application/pdf"))
    ana.send_media((proof_of_address(APPLICANT, date(2026, 6, 30), seed=5), "image/jpeg"))
    before = len(ana.received())
    read_stored_documents(whatsapp_services)
    drain_outbox(whatsapp_services)
    sent = [m["Body"] for m in ana.received()[before:]]
    assert len(sent) == 1, sent
    assert es("Your proof of address is dated %(found)s: it is more than 3 months old.",
              found="30 de junio de 2026") in sent[0]
    with whatsapp_services.database.session_scope() as session:
        outcomes = {slot: outcome for slot, outcome in session.execute(
            select(DocumentReading.slot, DocumentReading.outcome))}
    assert outcomes == {"id_front": "not_read", "id_back": "match", "tax_certificate": "match",
                        "proof_of_address": "mismatch"}
    assert es("Now a *proof of address* less than 3 months old (electricity, water, phone bill…).") in \
        "\n".join(ana.say("2"))  # "enviar otro documento"


def test_a_document_is_read_once_and_what_was_read_goes_with_an_abandoned_enrollment(
        phone: Phone, services: Services) -> None:
    at_the_documents(phone)
    phone.upload(ine_front_pdf(APPLICANT), "frente.pdf")
    assert services.worker is not None
    background = next(job for job in services.worker.jobs if isinstance(job, InBackground))
    assert background.run_once() == 0  # the worker loop never waits for reading: a thread of its own does it
    background.join(60)
    read_stored_documents(services)
    with services.database.session_scope() as session:
        reading = session.execute(select(DocumentReading)).scalar_one()
        assert (reading.outcome, reading.method, reading.fields is not None) == ("match", "pdf_text", True)
    later = datetime.now(UTC) + timedelta(days=1)
    with services.database.session_scope() as session:
        assert purge_abandoned_conversations(session, services.cipher, services.documents, later, later) == 1
    with services.database.session_scope() as session:
        reading = session.execute(select(DocumentReading)).scalar_one()
        assert (reading.fields, reading.document_id, reading.outcome) == (None, None, "match")


def test_no_question_while_a_person_has_the_conversation(phone: Phone, services: Services) -> None:
    at_the_documents(phone)
    phone.upload(ine_front_pdf(identity(3)), "frente.pdf")  # someone else's card
    phone.send("asesor")  # a person takes over before the worker reads it: the bot stays silent
    read_stored_documents(services)
    assert phone.poll() == []
    with services.database.session_scope() as session:
        reading = session.execute(select(DocumentReading)).scalar_one()
        assert (reading.slot, reading.outcome, reading.asked) == ("id_front", "mismatch", False)

"""Issue 18 leftovers, over HTTP: the documents an applicant sent show in the transcript (a thumbnail, or a PDF's
name and pages) opening the document viewer, and a document sent again after a rejection says it replaces it."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from bot.worker.outbox import Dispatcher
from locales import translate
from storage.models import Document
from tests.helpers import Phone, conversation_id_of, enrolled_applicant, post_form
from tests.samples import document_photo


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def documents(services: Services) -> dict[str, tuple[int, str]]:
    with services.database.session_scope() as session:
        return {str(d.slot): (d.id, d.content_type) for d in session.execute(select(Document)).scalars()}


def test_documents_sent_show_in_the_transcript_and_open_the_viewer(staff_client: FlaskClient,
                                                                   services: Services, phone: Phone) -> None:
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    transcript = page.split('id="transcript"', 1)[1].split('id="composer"', 1)[0]
    on_file = documents(services)
    front_id, _type = on_file["id_front"]
    front = es("official ID, front")
    link = re.search(rf'<a class="entry-doc" href="/inbox/c/{cid}/documents/{front_id}"><img class="thumb"[^>]*'
                     rf'alt="([^"]*)"', transcript)
    assert link is not None and link.group(1) == es("Open %(document)s", document=front)
    assert "id_front" not in transcript
    pdf_id = next(doc_id for doc_id, content_type in on_file.values() if content_type == "application/pdf")
    pdf = re.search(rf'<a class="entry-doc" href="/inbox/c/{cid}/documents/{pdf_id}">([^<]*)</a>', transcript)
    assert pdf is not None and "PDF" in pdf.group(1) and es("1 page") in pdf.group(1)
    sent = [content_type for slot, (_id, content_type) in on_file.items() if slot != "fee_receipt"]  # ours: no
    images = sum(1 for content_type in sent if content_type.startswith("image/"))
    assert transcript.count('class="entry-doc"') == len(sent) and transcript.count('class="thumb"') == images == 4
    viewer = staff_client.get(f"/inbox/c/{cid}/documents/{front_id}")
    assert viewer.status_code == 200


def test_a_document_sent_again_after_a_rejection_says_so(staff_client: FlaskClient, services: Services,
                                                         phone: Phone) -> None:
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    proof_id, _type = documents(services)["proof_of_address"]
    label = es("proof of address (less than 3 months old)")
    resent = es("%(document)s · re-sent", document=label)
    assert resent not in staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    post_form(staff_client, f"/inbox/c/{cid}/documents/{proof_id}/review", decision="reject",
              reason="El recibo tiene más de 3 meses")
    Dispatcher(services.database, services.cipher, services.senders).run_once()
    phone.upload(document_photo(seed=11), "nuevo.jpg")
    new_id, _type = documents(services)["proof_of_address"]
    assert new_id != proof_id
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    card = page.split('id="documents-card"', 1)[1]
    new_card = card.split(f'id="doc-{new_id}"', 1)[1].split('class="doc"', 1)[0]
    old_card = card.split(f'id="doc-{proof_id}"', 1)[1].split('class="doc"', 1)[0]
    assert f"<strong>{resent}</strong>" in new_card
    assert f"<strong>{label}</strong>" in old_card  # the rejected one keeps its slot's name, without the mark
    viewer = staff_client.get(f"/inbox/c/{cid}/documents/{new_id}").get_data(as_text=True)
    assert resent in viewer

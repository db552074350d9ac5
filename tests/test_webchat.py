"""The web chat page and its JSON API (DESIGN §3), including dedupe of a retried message."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.wiring import Services
from locales import translate
from storage.models import Conversation
from tests.helpers import CURP, FULL_NAME, NSS, RFC, Phone, applicant_at_the_name, conversation_id_of, post_form
from tests.samples import document_photo, id_card_photo


def test_page_is_served(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"/webchat/api/messages" in response.data
    assert b'name="viewport"' in response.data


def test_reply_shape_and_session_cookie(client: FlaskClient) -> None:
    response = client.post("/webchat/api/messages", json={"text": "hola"})
    assert response.status_code == 200
    assert "session=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    messages = response.get_json()["messages"]
    assert {"id", "text", "buttons", "attachments"} <= set(messages[-1])
    assert messages[-1]["buttons"][0].keys() == {"title", "payload"}
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)


def test_same_message_id_twice_runs_one_turn(phone: Phone, client: FlaskClient) -> None:
    phone.send("hola")
    first = phone.send("4", message_id="retry-me")
    second = phone.send("4", message_id="retry-me")
    assert first == second
    history = client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert len([m for m in history if "CURP" in m["text"]]) == 1
    # Had the second delivery run a turn, "4" on the requirements topic would be a miss.
    assert not any("Sorry" in m["text"] or "Perdón" in m["text"] for m in history)


def test_two_browsers_are_two_conversations(app: Flask) -> None:
    one, two = Phone(app.test_client()), Phone(app.test_client())
    one.send("hola")
    two.send("hola")
    one.send("4")
    assert "CURP" in one.text()
    assert "CURP" not in two.send("menu")[-1]["text"]


def test_polling_returns_only_newer_replies(phone: Phone, client: FlaskClient) -> None:
    first = phone.send("hola")
    last_id = first[-1]["id"]
    assert client.get(f"/webchat/api/messages?after={last_id}").get_json()["messages"] == []
    phone.send("4")
    newer = client.get(f"/webchat/api/messages?after={last_id}").get_json()["messages"]
    assert newer and all(m["id"] > last_id for m in newer)


def test_polling_without_a_session_is_empty(client: FlaskClient) -> None:
    assert client.get("/webchat/api/messages").get_json() == {"messages": []}


def test_bad_input_gets_a_clear_400(client: FlaskClient) -> None:
    for body in ([1, 2], {"text": 5}, {"text": "   "}, {}):
        response = client.post("/webchat/api/messages", json=body)
        assert response.status_code == 400
        assert response.get_json()["error"]
    response = client.post("/webchat/api/messages", data="not json", content_type="application/json")
    assert response.status_code == 400
    assert client.get("/webchat/api/messages?after=abc").status_code == 400


def test_very_long_text_is_handled(phone: Phone) -> None:
    phone.send("hola")
    replies = phone.send("a" * 20000)
    assert replies[0]["text"]


# -- issue 19: the page greets, files, staff names ---------------------------------------------------------------


def test_opening_the_page_greets_once_without_an_applicant_message(client: FlaskClient) -> None:
    first = client.post("/webchat/api/messages", json={"start": True, "id": "a"})
    assert first.status_code == 200 and not first.get_json()["duplicate"]
    greeting = first.get_json()["messages"]
    assert greeting[0]["text"].startswith(translate("es_MX", "Hi! 👋"))
    again = client.post("/webchat/api/messages", json={"start": True, "id": "b"})  # another tab, a retry
    assert again.get_json()["duplicate"] and again.get_json()["messages"] == greeting
    history = client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert [m["author"] for m in history] == ["bot"] * len(greeting)  # nothing said on the applicant's behalf


def test_a_file_too_large_is_refused_in_the_visitor_language(client: FlaskClient) -> None:
    for language, locale in (("es-MX,es;q=0.9", "es_MX"), ("en-US", "en")):
        response = client.post("/webchat/api/messages", content_type="multipart/form-data",
                               headers={"Accept-Language": language},
                               data={"id": "big", "file": (io.BytesIO(b"\xff\xd8\xff" + bytes(12 * 1024 * 1024)),
                                                           "grande.jpg")})
        assert response.status_code == 413
        error = response.get_json()["error"]
        assert error == translate(locale, "That file is too large: the limit is %(mb)s MB. Send a regular photo "
                                          "from your phone's camera, or a smaller PDF.", mb="10")
        assert "/" not in error  # one language, not both


def test_a_resent_upload_returns_the_same_answer_without_a_second_turn(phone: Phone) -> None:
    phone.send("hola")
    first = phone.upload(id_card_photo(), "ine.jpg", message_id="upload-1")
    second = phone.upload(id_card_photo(), "ine.jpg", message_id="upload-1")
    assert first == second
    history = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert len([m for m in history if m["author"] == "contact" and m["text"] == "📎"]) == 1


def test_an_upload_says_whether_the_file_was_kept(client: FlaskClient, phone: Phone) -> None:
    phone.send("hola")

    def upload(content: bytes, message_id: str) -> bool:
        response = client.post("/webchat/api/messages", content_type="multipart/form-data",
                               data={"id": message_id, "file": (io.BytesIO(content), "foto.jpg")})
        assert response.status_code == 200
        return bool(response.get_json()["kept"])

    assert upload(document_photo(blur=6), "blurry") is False  # refused: not on record
    assert upload(id_card_photo(), "sharp") is True


def test_staff_replies_carry_the_first_name(phone: Phone, services: Services, staff_client: FlaskClient) -> None:
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    assert post_form(staff_client, f"/inbox/c/{cid}/reply", text="Hola, te ayudo").status_code == 302
    staff = [m for m in phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]
             if m["author"] == "staff"]
    assert [(m["text"], m["staff_name"]) for m in staff] == [("Hola, te ayudo", "Ana")]


def test_consent_is_never_guessed_from_a_sentence_and_a_plain_answer_still_gives_it(phone: Phone) -> None:
    """Typed through the web chat API: "ni loco acepto" or "sí, pero primero quiero leerlo" record no consent."""
    phone.send("hola")
    terms = phone.send("quiero inscribirme")
    assert any("Acepto" in button["title"] for message in terms for button in message["buttons"])
    for sentence in ("ni loco acepto eso", "sí, pero primero quiero leerlo", "¿acepto?"):
        replies = " ".join(message["text"] for message in phone.send(sentence))
        assert "Aviso de privacidad" not in replies, sentence
    assert "Aviso de privacidad" in " ".join(message["text"] for message in phone.send("sí, acepto"))


def test_answers_typed_the_way_people_type_them_are_stored_clean(phone: Phone, services: Services) -> None:
    """Through the web chat API: the answer is taken out of greetings, labels, thanks and emoji; someone else's
    NSS, an implausible income and a refusal are answered and never stored; a range of incomes keeps its middle."""
    applicant_at_the_name(phone)
    assert "nombre completo" in phone.text()
    phone.send(f"buenas noches, soy {FULL_NAME} mucho gusto")
    phone.send("no te voy a dar eso")
    assert "sin ese dato no puedo hacer el trámite" in phone.text()
    phone.send(f"curp:{CURP}")
    phone.send(f"'{RFC}' gracias")
    phone.send(f"el de mi esposo es {NSS}")
    assert "de nadie más" in phone.text()
    phone.send(NSS)
    phone.send("ana arroba example punto mx")
    assert "ana@example.mx" in phone.text()
    for answer in ("si", "5512345678 gracias", "06600.", "mi domicilio es Av. Juárez 123, Centro, CDMX 🏠",
                   "carpintero gracias", "si"):
        phone.send(answer)
    phone.send("8")
    assert "¿Son $8,000 al mes?" in phone.text()
    phone.send("entre 8 y 10 mil")
    assert "Tomé el punto medio entre $8,000 y $10,000: $9,000 al mes" in phone.text()
    with services.database.session_scope() as session:
        data = services.cipher.decrypt_json(session.execute(select(Conversation.data)).scalar_one())
    assert data["full_name"] == FULL_NAME and data["curp"] == CURP and data["rfc"] == RFC and data["nss"] == NSS
    assert data["email"] == "ana@example.mx" and data["phone"] == "+525512345678" and data["postal_code"] == "06600"
    assert data["address"] == "Av. Juárez 123, Centro, CDMX" and data["occupation"] == "carpintero"
    assert data["monthly_income"] == 9000.0


def test_identifiers_sent_ahead_are_taken_by_the_questions_that_follow(phone: Phone, services: Services) -> None:
    """ "Eduardo González Díaz, GODE…, GODE…GR8": the name is stored, and the CURP and RFC are taken on arrival at
    their questions instead of being asked for (nothing the applicant sent is lost); the NSS is then asked."""
    applicant_at_the_name(phone)
    replies = phone.send(f"{FULL_NAME}, mi curp es {CURP} y mi rfc {RFC}")
    texts = " ".join(message["text"] for message in replies)
    assert "También tomé tu CURP de tu mensaje." in texts and "También tomé tu RFC de tu mensaje." in texts
    assert "NSS" in phone.text()
    with services.database.session_scope() as session:
        data = services.cipher.decrypt_json(session.execute(select(Conversation.data)).scalar_one())
    assert (data["full_name"], data["curp"], data["rfc"]) == (FULL_NAME, CURP, RFC) and "_carried" not in data


def test_an_earlier_answer_corrected_at_a_later_question_is_replaced(phone: Phone, services: Services) -> None:
    """ "no, perdón, mi correo es otro: …" at the phone question replaces the email, and the phone is asked again;
    "ok" where an identifier goes is not read as one."""
    applicant_at_the_name(phone)
    phone.send(FULL_NAME)
    phone.send("ok")
    assert "Estoy esperando tu CURP" in phone.text()
    for answer in (CURP, RFC, NSS, "ana@example.mx", "si"):
        phone.send(answer)
    assert "teléfono" in phone.text()
    phone.send("no, perdón, mi correo es otro: ana.lopez@gmail.com")
    assert "Listo, corregí tu correo electrónico: ana.lopez@gmail.com" in phone.text() and "teléfono" in phone.text()
    phone.send(f"cambia mi curp, es {CURP}")  # an acronym keeps its capitals
    assert f"Listo, corregí tu CURP: {CURP}" in phone.text()
    phone.send("5512345678")
    with services.database.session_scope() as session:
        data = services.cipher.decrypt_json(session.execute(select(Conversation.data)).scalar_one())
    assert data["email"] == "ana.lopez@gmail.com" and data["phone"] == "+525512345678"


def test_a_correction_typed_with_its_value_at_the_summary_keeps_the_value(phone: Phone) -> None:
    """ "mi correo es …" at "what do you want to correct?": the email question takes the address on arrival."""
    from tests.helpers import applicant_at_summary

    applicant_at_summary(phone)
    phone.send("corregir")
    phone.send("mi correo es eduardo.g@gmail.com")
    assert "También tomé tu correo electrónico de tu mensaje." in phone.text()
    assert "eduardo.g@gmail.com" in phone.text()

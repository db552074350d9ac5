"""What we hold about an applicant, downloadable by them (ARCO access): JSON, or HTML to read on a phone.

The link is signed and expires after an hour; it is only ever sent inside the applicant's own chat.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template_string, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from bot.app import services_of
from storage.enrollment import CaseRepository, ConsentRepository
from storage.models import Contact, Conversation, Document

bp = Blueprint("data_export", __name__)
SALT, MAX_AGE = "data-export", 3600


def export_url(secret_key: str, base_url: str, contact_id: int) -> str:
    return f"{base_url}/data-export/{URLSafeTimedSerializer(secret_key, salt=SALT).dumps(contact_id)}"


def collect(contact_id: int) -> dict[str, Any]:
    services = services_of(current_app)
    cipher = services.cipher
    with services.database.session_scope() as session:
        contact = session.get(Contact, contact_id)
        conversation = session.execute(select(Conversation).where(Conversation.contact_id == contact_id)).scalar_one()
        if contact is None:
            abort(404)
        data = {k: v for k, v in cipher.decrypt_json(conversation.data, {}).items() if not k.startswith("_")}
        cases = CaseRepository(session, cipher)
        case = cases.latest_for_conversation(conversation.id)
        documents = session.execute(select(Document).where(Document.conversation_id == conversation.id)).scalars()
        return {
            "channel": contact.channel,
            "name_on_channel": cipher.decrypt_text(contact.display_name),
            "phone_on_channel": cipher.decrypt_text(contact.phone),
            "language": conversation.locale,
            "collected_data": data,
            "case": {"folio": case.folio, "status": case.status,
                     "history": [{"status": s, "at": at.isoformat()} for s, _, at in cases.history(case.id)]}
            if case else None,
            "consents": [{"kind": c.kind, "version": c.version, "accepted": c.accepted,
                          "at": c.recorded_at.isoformat()} for c in ConsentRepository(session).for_contact(contact_id)],
            "documents": [{"slot": d.slot, "type": d.content_type, "received": d.created_at.isoformat()}
                          for d in documents],
        }


PAGE = """<!doctype html><html lang="es"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Mis datos</title><style>body{font:15px system-ui;margin:1rem}pre{white-space:pre-wrap}</style>
<h1>Mis datos · My data</h1><pre>{{ text }}</pre></html>"""


@bp.get("/data-export/<token>")
def download(token: str) -> Any:
    try:
        contact_id = URLSafeTimedSerializer(services_of(current_app).settings.secret_key, salt=SALT).loads(
            token, max_age=MAX_AGE)
    except BadSignature:
        abort(404)
    content = collect(int(contact_id))
    if request.args.get("format") == "html":
        import json

        return render_template_string(PAGE, text=json.dumps(content, ensure_ascii=False, indent=2))
    response = jsonify(content)
    response.headers["Content-Disposition"] = 'attachment; filename="mis-datos.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""What we hold about an applicant, downloadable by them (ARCO access): JSON, or HTML to read on a phone.

The link is signed and expires after an hour; it is only ever sent inside the applicant's own chat.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template_string, request
from itsdangerous import BadSignature

from bot.service.links import MAX_AGE, export_signer
from bot.web.context import services_of
from storage.rights import export_applicant

bp = Blueprint("data_export", __name__)


def collect(contact_id: int) -> dict[str, Any]:
    services = services_of(current_app)
    with services.database.session_scope() as session:
        content = export_applicant(session, services.cipher, contact_id)
    if content is None:  # erased since the link was sent
        abort(404)
    return content


PAGE = """<!doctype html><html lang="es"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Mis datos</title><style>body{font:15px system-ui;margin:1rem}pre{white-space:pre-wrap}</style>
<h1>Mis datos · My data</h1><pre>{{ text }}</pre></html>"""


@bp.get("/data-export/<token>")
def download(token: str) -> Any:
    try:
        contact_id = export_signer(services_of(current_app).settings.secret_key).loads(token, max_age=MAX_AGE)
    except BadSignature:
        abort(404)
    content = collect(int(contact_id))
    if request.args.get("format") == "html":
        return render_template_string(PAGE, text=json.dumps(content, ensure_ascii=False, indent=2))
    response = jsonify(content)
    response.headers["Content-Disposition"] = 'attachment; filename="mis-datos.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""What we hold about an applicant, downloadable by them (ARCO access): JSON, or HTML to read on a phone.

The link is signed and expires after an hour; it is only ever sent inside the applicant's own chat. It dies
the moment the data is erased, is never cached, never framed, and never written whole to a log
(bot.core.logs masks it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template_string, request
from itsdangerous import BadSignature

from bot.service.links import MAX_AGE, export_signer
from bot.web.context import services_of
from storage.rights import export_applicant

bp = Blueprint("data_export", __name__)


def collect(contact_id: int, issued_at: datetime | None = None) -> dict[str, Any]:
    services = services_of(current_app)
    with services.database.session_scope() as session:
        content = export_applicant(session, services.cipher, contact_id, issued_at)
    if content is None:  # erased since the link was sent
        abort(404)
    return content


PAGE = """<!doctype html><html lang="es"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Mis datos</title><style>body{font:15px system-ui;margin:1rem}pre{white-space:pre-wrap}</style>
<h1>Mis datos · My data</h1><pre>{{ text }}</pre></html>"""


@bp.get("/data-export/<token>")
def download(token: str) -> Any:
    try:
        signed, issued_at = export_signer(services_of(current_app).settings.secret_key).loads(
            token, max_age=MAX_AGE, return_timestamp=True)
        contact_id = int(signed)
    except (BadSignature, TypeError, ValueError):
        abort(404)
    content = collect(contact_id, issued_at)
    if request.args.get("format") == "html":
        response = make_response(render_template_string(
            PAGE, text=json.dumps(content, ensure_ascii=False, indent=2)))
    else:
        response = jsonify(content)
        response.headers["Content-Disposition"] = 'attachment; filename="mis-datos.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

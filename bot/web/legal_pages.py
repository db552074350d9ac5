"""The full legal texts the chat links to, versioned: /legal/terms and /legal/privacy."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup, escape

from flows.rules.legal import BUSINESS_NAME, LEGAL_TEXTS
from locales import N_, translate

bp = Blueprint("legal", __name__, url_prefix="/legal")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def _paragraph(text: str) -> Markup:
    return Markup(_BOLD.sub(r"<strong>\1</strong>", str(escape(text))))


@bp.get("/<kind>")
def show(kind: str) -> str:
    text = LEGAL_TEXTS.get(kind)
    if text is None:
        abort(404)
    locale = "en" if request.args.get("lang") == "en" else "es_MX"
    paragraphs = [_paragraph(translate(locale, p, business=BUSINESS_NAME) if "%(business)s" in p
                             else translate(locale, p)) for p in text.paragraphs]
    return render_template("legal/text.html", title=translate(locale, text.title), version=text.version,
                           version_label=translate(locale, N_("Version")),
                           paragraphs=paragraphs, lang="en" if locale == "en" else "es", kind=kind)

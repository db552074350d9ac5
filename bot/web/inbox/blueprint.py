"""The inbox blueprint and what every inbox page shares: the staff language, CSRF tokens, security headers.

The login guard lives in `auth`; the pages register themselves on `bp` when the package imports them.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from flask import Blueprint, current_app, g, request, session
from markupsafe import Markup, escape

from locales import N_, translate

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
OPEN_ENDPOINTS = {"inbox.login"}


def staff_locale() -> str:
    return "en" if session.get("inbox_lang") == "en" else "es_MX"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


#: Every internal value an inbox page shows, as staff read it (issue 18: no raw values on any page).
VALUES: dict[str, dict[str, str]] = {
    "author": {"contact": N_("Applicant"), "bot": N_("Bot"), "staff": N_("Team"), "applicant": N_("Applicant")},
    "delivery": {"queued": N_("waiting to be sent"), "sending": N_("sending"), "sent": N_("delivered to the channel"),
                 "delivered": N_("delivered"), "read": N_("read"), "failed": N_("not delivered"),
                 "held": N_("on hold"), "received": N_("received"), "internal": N_("internal note")},
    "consent": {"terms": N_("Terms of the service"), "privacy": N_("Privacy notice"),
                "financial": N_("Financial data"), "health": N_("Health data"), "reminders": N_("Reminders"),
                "business_messages": N_("Messages from the business"), "contract": N_("Service contract")},
    "eligibility": {"likely": N_("probably qualifies"), "review": N_("needs an advisor's review"),
                    "not_for_you": N_("this scheme does not fit")},
    "channel": {"webchat": N_("Web chat"), "telegram": N_("Telegram"), "whatsapp": N_("WhatsApp")},
    "role": {"agent": N_("agent"), "admin": N_("administrator"), "manager": N_("manager")},
    "rights": {"access": N_("access"), "rectification": N_("rectification"), "cancellation": N_("cancellation"),
               "opposition": N_("opposition")},
    "email": {"queued": N_("waiting to be sent"), "sending": N_("sending"), "sent": N_("sent"),
              "failed": N_("not sent")},
    "reminder": {"line": N_("línea de captura"), "due": N_("due date"), "overdue": N_("overdue"),
                 "queued": N_("waiting to be sent"), "sent": N_("sent"), "failed": N_("not sent")},
    "action": {"take": N_("took the conversation"), "reply": N_("replied"), "note": N_("added a note"),
               "hand_back": N_("handed back to the bot"), "assign": N_("assigned the conversation"),
               "case_status": N_("changed the case status"), "document_review": N_("reviewed a document"),
               "deliver_results": N_("sent the IMSS receipt"), "payment_line": N_("sent a línea de captura"),
               "payment_confirmed": N_("confirmed a period payment"), "payment_confirm": N_("confirmed a payment"),
               "payment_reject": N_("rejected a payment receipt"), "payment_refund": N_("refunded a payment"),
               "view_document": N_("viewed a document"), "view_personal_data": N_("viewed personal data"),
               "correct_data": N_("corrected applicant data"), "label": N_("changed labels"),
               "canned_edit": N_("edited canned responses"), "canned_add": N_("added a canned response"),
               "canned_delete": N_("deleted a canned response"), "password_change": N_("changed their password"),
               "session_end": N_("ended a session"), "staff_add": N_("added staff"),
               "staff_disable": N_("disabled staff"), "staff_role": N_("changed a role"),
               "login": N_("logged in"), "logout": N_("logged out")},
}
_BOLD = re.compile(r"\*([^*\n]+)\*")


def value_label(kind: str, value: object, locale: str | None = None) -> str:
    """An internal value in the staff's language; an unknown one is shown as a dash rather than raw."""
    msgid = VALUES.get(kind, {}).get(str(value))
    return translate(locale or staff_locale(), msgid) if msgid else ("—" if value in (None, "") else str(value))


def bold(text: str) -> Markup:
    """Chat text with its *bold* markers rendered: escaped first, then bold, so nothing else becomes HTML."""
    return Markup(_BOLD.sub(r"<strong>\1</strong>", str(escape(text))))


def business_zone() -> ZoneInfo:
    from bot.web.context import services_of

    return ZoneInfo(services_of(current_app).settings.business_timezone)


def when(moment: datetime | None) -> str:
    """Every time in the inbox, in BUSINESS_TIMEZONE and one format: "1 dic 2026, 11:06"."""
    if moment is None:
        return ""
    return format_datetime(moment, "d MMM yyyy, HH:mm", tzinfo=business_zone(), locale=staff_locale())


def ago(moment: datetime | None) -> str:
    """"hace 5 min": how long ago, in the staff's language."""
    if moment is None:
        return ""
    from bot.core.clock import utcnow

    return format_timedelta(moment - utcnow(), add_direction=True, format="short", threshold=1.5,
                            locale=staff_locale())


def time_tag(moment: datetime | None) -> Markup:
    """A relative time with the exact one as its tooltip and machine-readable value."""
    if moment is None:
        return Markup("")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(moment.isoformat(), when(moment), ago(moment))


def target_label(target: str | None) -> str:
    """"conversation:12" as staff read it: "Conversación #12"."""
    kind, _, number = (target or "").partition(":")
    names = {"conversation": N_("Conversation"), "case": N_("Case"), "document": N_("Document"),
             "payment": N_("Payment"), "staff": N_("Staff member"), "session": N_("Session")}
    return f"{translate(staff_locale(), names[kind])} #{number}" if kind in names else (target or "")


def detail_label(detail: str | None) -> str:
    """An audit detail: a case status, a document or a review outcome in words, anything else as written."""
    from flows.rules.case_status import STATUSES
    from flows.rules.document_slots import LABELS

    if not detail:
        return ""
    locale = staff_locale()
    if detail in STATUSES:
        return translate(locale, STATUSES[detail])
    if detail in LABELS:
        return translate(locale, LABELS[detail])
    if detail == "approved":
        return translate(locale, N_("approved"))
    if detail.startswith("rejected: "):
        return translate(locale, N_("rejected")) + ": " + detail[len("rejected: "):]
    return detail


def queue_counts() -> dict[str, int]:
    """How many conversations each queue holds, once per request, for the navigation and the title."""
    if "queue_counts" not in g:
        from bot.web.context import services_of
        from storage.inbox_queries import InboxQueries

        services = services_of(current_app)
        with services.database.session_scope() as db:
            queries = InboxQueries(db, services.cipher)
            counts = queries.counts(g.staff.id)
            counts["has_payments"] = int(queries.has_payments())
        g.queue_counts = counts
    return dict(g.queue_counts)


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    locale = staff_locale() if request.path.startswith("/inbox") else "es_MX"
    return {"_": lambda msgid, **values: translate(locale, msgid, **values), "csrf_token": csrf_token,
            "staff_locale": locale, "constants_expiring": constants_expiring, "when": when, "ago": ago,
            "time_tag": time_tag, "bold": bold, "value_label": value_label, "queue_counts": queue_counts,
            "target_label": target_label, "detail_label": detail_label}


#: From how many days before a dated IMSS value expires the inbox warns admins (issue 15).
CONSTANTS_BANNER_DAYS = 30


def constants_expiring() -> str:
    """The dated IMSS values that expire within 30 days with no next entry, as names for the admin banner
    (empty when none). Called from the template only for admins; today is read in BUSINESS_TIMEZONE."""
    from zoneinfo import ZoneInfo

    from bot.core.clock import utcnow
    from bot.web.context import services_of
    from flows.rules.imss import expiring, today_in

    clock = current_app.config.get("PTIBOT_CLOCK", utcnow)  # tests pin the date here
    today = today_in(clock(), ZoneInfo(services_of(current_app).settings.business_timezone))
    return ", ".join(f"{entry.name} ({entry.valid_until.isoformat()})"
                     for entry in expiring(today, CONSTANTS_BANNER_DAYS))


@bp.after_request
def headers(response: Any) -> Any:
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


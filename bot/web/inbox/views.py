"""Inbox pages: the conversation list, one conversation in full, documents, and cases by status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, abort, current_app, g, jsonify, render_template, request

from bot.channels.whatsapp import WINDOW
from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.web.inbox.blueprint import bp, staff_locale
from bot.web.limits import bounded_int
from flows.rules.case_status import NEXT_STATUSES, STATUSES
from flows.rules.document_slots import LABELS
from flows.rules.eligibility_assessment import assess
from flows.rules.payments import nearest_period
from flows.rules.prices import amount
from flows.rules.records import FREQUENCIES, ITEMS, display
from locales import N_, translate
from storage.emails import email_state
from storage.enrollment import CaseRepository, ConsentRepository
from storage.inbox_queries import InboxQueries
from storage.payments import PaymentRepository
from storage.staff import AuditRepository, CannedRepository
from storage.subscriptions import MembershipRepository

CHANNELS = ("webchat", "telegram", "whatsapp")
EXTRA_DOCUMENT_LABELS = {"payment_proof": N_("payment receipt"), "payment_line": N_("línea de captura"),
                         "imss_receipt": N_("IMSS enrollment receipt"), "payment_slip": N_("first payment slip")}
WAITING_REASONS = {"handoff": N_("asked for a person"), "needs_review": N_("eligibility needs review"),
                   "offered_human": N_("the bot could not understand"),
                   "bot_error": N_("the bot failed on a message")}
OUTCOMES = {"likely": N_("probably qualifies"), "review": N_("needs an advisor's review"),
            "not_for_you": N_("this scheme does not fit")}
VIEWS = {"all": N_("All"), "waiting": N_("Waiting"), "mine": N_("Mine"), "unassigned": N_("Unassigned")}
PAYMENT_LABELS = {"line_sent": N_("línea de captura sent"), "proof_received": N_("receipt received"),
                  "paid": N_("paid")}
SERVICE_PAYMENT_LABELS = {"pending": N_("pending"), "paid": N_("paid"), "failed": N_("failed"),
                          "expired": N_("expired"), "refunded": N_("refunded")}
REVIEW_LABELS = {"pending": N_("to review"), "approved": N_("approved"), "rejected": N_("rejected")}
DOCUMENT_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}


def waited(since: datetime | None) -> str:
    """"12 min", "3 h 5 min", "2 d": how long someone has been waiting for a person."""
    if since is None:
        return ""
    minutes = int((utcnow() - since).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d"


def _filters() -> dict[str, str]:
    return {key: request.args.get(key, "").strip()[:80] for key in ("view", "channel", "status", "q")}


@bp.get("/")
def conversations() -> Any:
    services = services_of(current_app)
    filters = _filters()
    with services.database.session_scope() as db:
        rows = InboxQueries(db, services.cipher).conversations(
            view=filters["view"] or "all", channel=filters["channel"], status=filters["status"],
            query=filters["q"], staff_id=g.staff.id)
    template = "inbox/_rows.html" if request.args.get("partial") else "inbox/list.html"
    return render_template(template, rows=rows, filters=filters, channels=CHANNELS, statuses=STATUSES,
                           waited=waited, reasons=WAITING_REASONS, views=VIEWS)


@bp.get("/c/<int:conversation_id>")
def conversation(conversation_id: int) -> Any:
    services = services_of(current_app)
    with services.database.session_scope() as db:
        queries = InboxQueries(db, services.cipher)
        found = queries.conversation(conversation_id)
        if found is None:
            abort(404)
        row, contact, data = found
        transcript = queries.transcript(conversation_id)
        documents = queries.documents(conversation_id)
        case = CaseRepository(db, services.cipher).latest_for_conversation(conversation_id)
        history = CaseRepository(db, services.cipher).history(case.id) if case else []
        consents = ConsentRepository(db).for_contact(contact.id)
        canned = CannedRepository(db).all()
        mail = email_state(db, case.id) if case else None
        membership = MembershipRepository(db)
        subscription = membership.for_conversation(conversation_id)
        payments = membership.payments(subscription.id) if subscription else []
        reminders = membership.reminders(subscription.id) if subscription else []
        service_payment = PaymentRepository(db).latest_for_conversation(conversation_id)
        AuditRepository(db).add(g.staff, "view_personal_data", f"conversation:{conversation_id}", utcnow())
        last_inbound = contact.last_inbound_at
    locale = staff_locale()
    outside_window = contact.channel == "whatsapp" and (
        last_inbound is None or utcnow() - last_inbound > WINDOW)
    fields = [(translate(locale, label), display(key, data.get(key), locale)) for label, key, _ in ITEMS]
    labels = {**LABELS, **EXTRA_DOCUMENT_LABELS}
    assessment = assess(data) if any(k.startswith("elig_") for k in data) else None
    return render_template(
        "inbox/conversation.html", conversation=row, contact=contact, data=data, fields=fields,
        transcript=transcript, documents=documents, case=case, history=history, consents=consents,
        canned=canned, assessment=assessment, statuses=STATUSES, next_statuses=NEXT_STATUSES.get(
            case.status, ()) if case else (), labels=labels, outside_window=outside_window,
        template_configured="staff_reply" in services.settings.whatsapp_templates, outcomes=OUTCOMES,
        review_labels=REVIEW_LABELS, mail=mail, subscription=subscription, payments=payments,
        reminders=reminders, payment_labels=PAYMENT_LABELS, frequencies=FREQUENCIES,
        service_payment=service_payment, service_payment_labels=SERVICE_PAYMENT_LABELS, amount=amount,
        receipt=next((d for d in documents if service_payment and d.id == service_payment.receipt_document_id), None),
        next_period=nearest_period(services.engine.local_date(utcnow())),
        name=str(data.get("full_name") or services.cipher.decrypt_text(contact.display_name) or ""),
        last_id=transcript[-1].id if transcript else 0)


@bp.get("/c/<int:conversation_id>/messages")
def poll(conversation_id: int) -> Any:
    """New transcript entries since `after`, for the conversation page to append without reloading."""
    services = services_of(current_app)
    after = bounded_int(request.args.get("after"))
    if after is None:
        abort(400)
    with services.database.session_scope() as db:
        entries = InboxQueries(db, services.cipher).transcript(conversation_id, after)
    return jsonify(messages=[{"id": e.id, "direction": e.direction, "author": e.author, "text": e.text,
                              "status": e.status, "at": e.at.isoformat()} for e in entries])


@bp.get("/documents/<token>")
def document(token: str) -> Any:
    services = services_of(current_app)
    with services.database.session_scope() as db:
        row = InboxQueries(db, services.cipher).document_by_token(token)
        if row is None:
            abort(404)
        AuditRepository(db).add(g.staff, "view_document", f"document:{row.id}", utcnow(), row.slot)
        name, content_type = row.storage_name, row.content_type
        slot = "".join(ch for ch in row.slot or "" if ch.isascii() and (ch.isalnum() or ch in "_-"))[:40]
        filename = f"{slot or 'documento'}-{row.id}{DOCUMENT_EXTENSIONS.get(content_type, '.bin')}"
    # Whatever an applicant managed to put in a file never runs in the inbox's origin: photos are shown inline
    # in a sandbox (no scripts, no same-origin access), and PDFs, which a browser's viewer will not render
    # sandboxed, are downloaded, as is anything on `?download=1`. The type is never sniffed.
    inline = content_type.startswith("image/") and not request.args.get("download")
    response = Response(services.documents.load(name), mimetype=content_type)
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; " \
                                                  "style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cases")
def cases() -> Any:
    services = services_of(current_app)
    status = request.args.get("status", "")
    with services.database.session_scope() as db:
        rows = InboxQueries(db, services.cipher).cases(status if status in STATUSES else "")
        payment_states = PaymentRepository(db).status_by_case(case.id for case, _name in rows)
    return render_template("inbox/cases.html", rows=rows, statuses=STATUSES, status=status,
                           payment_states=payment_states, payment_labels=SERVICE_PAYMENT_LABELS,
                           since=lambda moment: waited(moment) if moment else "",
                           week=timedelta(days=7))

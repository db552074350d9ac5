"""Inbox pages: the queues, one conversation in full, the document viewer, cases by status, and the
server-sent events that keep them live."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import Response, abort, current_app, g, jsonify, render_template, request, stream_with_context

from bot.channels.whatsapp import WINDOW
from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.web.inbox.blueprint import VALUES, bp, staff_locale
from bot.web.limits import bounded_int
from flows.registry import FLOWS
from flows.rules.case_status import NEXT_STATUSES, STATUSES
from flows.rules.document_slots import LABELS
from flows.rules.eligibility_assessment import assess
from flows.rules.payments import nearest_period
from flows.rules.prices import amount
from flows.rules.records import FREQUENCIES, ITEMS, display
from locales import N_, translate
from storage.emails import email_state
from storage.enrollment import CaseRepository, ConsentRepository
from storage.inbox_queries import QUEUES, REVIEW_STATUSES, InboxQueries, TranscriptEntry
from storage.notes import CorrectionRepository
from storage.payments import PaymentRepository
from storage.rights import add_business_days
from storage.staff import AuditRepository, CannedRepository, StaffRepository
from storage.subscriptions import MembershipRepository
from storage.wakeup import Wakeup, wakeup_for

FIELD_LABELS = {key: label for label, key, _step in ITEMS}

CHANNELS = ("webchat", "telegram", "whatsapp")
EXTRA_DOCUMENT_LABELS = {"payment_proof": N_("payment receipt"), "payment_line": N_("línea de captura"),
                         "imss_receipt": N_("IMSS enrollment receipt"), "payment_slip": N_("first payment slip")}
WAITING_REASONS = {"handoff": N_("asked for a person"), "needs_review": N_("eligibility needs review"),
                   "offered_human": N_("the bot could not understand"),
                   "bot_error": N_("the bot failed on a message")}
OUTCOMES = VALUES["eligibility"]
VIEWS = {"review": N_("To review"), "waiting": N_("Waiting for an advisor"), "mine": N_("Mine"),
         "payments": N_("Payments to confirm"), "all": N_("All"), "unassigned": N_("Unassigned")}
#: Where the applicant is, in words: each step's "where" (the same words the bot says on hand-back).
STEP_PLACES = {step.name: step.where for flow in FLOWS for step in flow.steps if step.where}
STEP_PLACES["welcome"] = N_("the welcome")
CHOICE_TITLES = {choice.key: choice.title for flow in FLOWS for step in flow.steps for choice in step.choices}
EVENT_TEXTS = {"document_ready": N_("(sent a document)"), "document_rejected": N_("(sent a file we could not use)"),
               "webchat_opened": N_("(opened the web chat)")}
PAYMENT_LABELS = {"line_sent": N_("línea de captura sent"), "proof_received": N_("receipt received"),
                  "paid": N_("paid")}
SERVICE_PAYMENT_LABELS = {"pending": N_("pending"), "paid": N_("paid"), "failed": N_("failed"),
                          "expired": N_("expired"), "refunded": N_("refunded")}
REVIEW_LABELS = {"pending": N_("to review"), "approved": N_("approved"), "rejected": N_("rejected")}
CORRECTABLE_FIELDS = ("full_name", "curp", "rfc", "nss", "email", "phone", "postal_code", "address", "occupation")
DOCUMENT_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}


def waited(since: datetime | None) -> str:
    """"12 min", "3 h", "2 días": how long someone has been waiting for a person, in the staff's language."""
    if since is None:
        return ""
    from babel.dates import format_timedelta

    return format_timedelta(max(utcnow() - since, timedelta(0)), format="short", threshold=1.5,
                            locale=staff_locale())


def _filters() -> dict[str, str]:
    return {key: request.args.get(key, "").strip()[:80] for key in ("view", "channel", "status", "q", "label")}


def step_place(state: str) -> str:
    """A dialog step as staff read it ("the CURP"), never its internal name."""
    return translate(staff_locale(), STEP_PLACES.get(state, N_("the conversation")))


def entry_text(entry: TranscriptEntry) -> str:
    """What an applicant's message says: a button press by its title, a document as words, never a code."""
    if entry.text:
        return entry.text
    if entry.payload in CHOICE_TITLES:
        return translate(staff_locale(), CHOICE_TITLES[entry.payload])
    if entry.payload in EVENT_TEXTS:
        return translate(staff_locale(), EVENT_TEXTS[entry.payload])
    if entry.attachments:
        return translate(staff_locale(), N_("(sent a file)"))
    return translate(staff_locale(), N_("(chose an option)")) if entry.payload else ""


def overdue(since: datetime | None) -> bool:
    """Whether something waits longer than the CASE_REVIEW_DAYS business days promised to applicants."""
    if since is None:
        return False
    return add_business_days(since, services_of(current_app).settings.case_review_days) < utcnow()


def _list_context() -> dict[str, Any]:
    services = services_of(current_app)
    filters = _filters()
    view = filters["view"] if filters["view"] in VIEWS else "all"
    with services.database.session_scope() as db:
        queries = InboxQueries(db, services.cipher)
        rows = queries.conversations(view=view, channel=filters["channel"], status=filters["status"],
                                     query=filters["q"], staff_id=g.staff.id, label=filters["label"])
        labels = queries.all_labels()
    return {"rows": rows, "filters": filters, "view": view, "channels": CHANNELS, "statuses": STATUSES,
            "waited": waited, "reasons": WAITING_REASONS, "views": VIEWS, "queues": QUEUES,
            "step_place": step_place, "overdue": overdue, "all_labels": labels}


@bp.get("/")
def conversations() -> Any:
    template = "inbox/_rows.html" if request.args.get("partial") else "inbox/list.html"
    return render_template(template, **_list_context())


def _conversation_context(conversation_id: int) -> dict[str, Any]:
    services = services_of(current_app)
    with services.database.session_scope() as db:
        queries = InboxQueries(db, services.cipher)
        found = queries.conversation(conversation_id)
        if found is None:
            abort(404)
        row, contact, data = found
        transcript = queries.transcript(conversation_id)
        documents = queries.documents(conversation_id)
        cases = CaseRepository(db, services.cipher)
        case = cases.latest_for_conversation(conversation_id)
        history: list[tuple[datetime, str, str, str]] = [
            (at, translate(staff_locale(), STATUSES[status]), actor, "") for status, actor, at in
            (cases.history(case.id) if case else [])]
        for correction in CorrectionRepository(db, services.cipher).for_conversation(conversation_id):
            history.append((correction.at, translate(staff_locale(), N_("%(field)s corrected: %(old)s → %(new)s"),
                                                     field=translate(staff_locale(), FIELD_LABELS[correction.field]),
                                                     old=correction.old or "—", new=correction.new),
                            correction.actor, correction.reason))
        history.sort(key=lambda item: item[0])
        consents = ConsentRepository(db).for_contact(contact.id)
        canned = CannedRepository(db).all()
        mail = email_state(db, case.id) if case else None
        membership = MembershipRepository(db)
        subscription = membership.for_conversation(conversation_id)
        payments = membership.payments(subscription.id) if subscription else []
        reminders = membership.reminders(subscription.id) if subscription else []
        service_payment = PaymentRepository(db).latest_for_conversation(conversation_id)
        paid_contract = PaymentRepository(db).contract(service_payment.contract_id) if service_payment else None
        colleagues = [person for person in StaffRepository(db).all() if person.active]
        owner = next((person for person in colleagues if person.id == row.assigned_to), None)
        labels = queries.labels_of([conversation_id]).get(conversation_id, ())
        queries.mark_read(conversation_id, g.staff.id)
        AuditRepository(db).add(g.staff, "view_personal_data", f"conversation:{conversation_id}", utcnow())
        last_inbound = contact.last_inbound_at
    locale = staff_locale()
    outside_window = contact.channel == "whatsapp" and (
        last_inbound is None or utcnow() - last_inbound > WINDOW)
    fields = [(translate(locale, label), display(key, data.get(key), locale), key) for label, key, _ in ITEMS]
    labels_map = {**LABELS, **EXTRA_DOCUMENT_LABELS}
    assessment = assess(data) if any(k.startswith("elig_") for k in data) else None
    owned_by_other = row.owner == "human" and row.assigned_to is not None and row.assigned_to != g.staff.id
    return dict(
        conversation=row, contact=contact, data=data, fields=fields,
        transcript=transcript, documents=documents, case=case, history=history, consents=consents,
        canned=canned, assessment=assessment, statuses=STATUSES, next_statuses=NEXT_STATUSES.get(
            case.status, ()) if case else (), labels=labels_map, outside_window=outside_window,
        template_configured="staff_reply" in services.settings.whatsapp_templates, outcomes=OUTCOMES,
        review_labels=REVIEW_LABELS, mail=mail, subscription=subscription, payments=payments,
        reminders=reminders, payment_labels=PAYMENT_LABELS, frequencies=FREQUENCIES,
        service_payment=service_payment, service_payment_labels=SERVICE_PAYMENT_LABELS, amount=amount,
        payment_for_membership=paid_contract is not None and paid_contract.kind == "membership",
        receipt=next((d for d in documents if service_payment and d.id == service_payment.receipt_document_id), None),
        next_period=nearest_period(services.engine.local_date(utcnow())),
        name=str(data.get("full_name") or services.cipher.decrypt_text(contact.display_name) or ""),
        last_id=transcript[-1].id if transcript else 0, entry_text=entry_text, step_place=step_place,
        colleagues=colleagues, owner=owner, owned_by_other=owned_by_other, conversation_labels=labels,
        correctable=[(key, translate(locale, FIELD_LABELS[key])) for key in CORRECTABLE_FIELDS],
        document_label=lambda d: document_label(d, labels_map, documents), review_statuses=REVIEW_STATUSES,
        entry_documents=entry_documents(transcript, documents))


def entry_documents(transcript: list[TranscriptEntry], documents: list[Any]) -> dict[int, Any]:
    """Which transcript entry brought which document: the document is recorded in the same turn (the same
    instant) as the applicant's message that carried it."""
    by_time = {document.created_at: document for document in reversed(documents)}
    return {entry.id: by_time[entry.at] for entry in transcript
            if entry.direction == "in" and entry.at in by_time
            and (entry.attachments or entry.payload == "document_ready")}


def document_label(document: Any, labels: dict[str, str] | None = None, others: list[Any] | None = None) -> str:
    """A document by what it is ("INE (frente)"), also once rejected, when it has left its slot; one sent
    again for a slot whose earlier document was rejected says so ("INE (frente) · re-sent")."""
    labels = labels or {**LABELS, **EXTRA_DOCUMENT_LABELS}
    slot = document.slot or document.former_slot
    if slot not in labels:
        return translate(staff_locale(), N_("unassigned document"))
    label = translate(staff_locale(), labels[slot])
    if document.slot and any(other.former_slot == document.slot and other.id < document.id
                             and other.review_status == "rejected" for other in others or ()):
        return translate(staff_locale(), N_("%(document)s · re-sent"), document=label)
    return label


@bp.get("/c/<int:conversation_id>")
def conversation(conversation_id: int) -> Any:
    return render_template("inbox/conversation.html", **_conversation_context(conversation_id))


@bp.get("/c/<int:conversation_id>/documents/<int:document_id>")
def document_viewer(conversation_id: int, document_id: int) -> Any:
    """One document large, beside the applicant's data: zoom, rotate, previous/next, approve or reject."""
    context = _conversation_context(conversation_id)
    documents = context["documents"]
    index = next((i for i, d in enumerate(documents) if d.id == document_id), None)
    if index is None:  # a document of another conversation is not found through this one
        abort(404)
    return render_template("inbox/viewer.html", **context, document=documents[index],
                           previous=documents[index - 1] if index > 0 else None,
                           following=documents[index + 1] if index + 1 < len(documents) else None)


@bp.get("/c/<int:conversation_id>/messages")
def poll(conversation_id: int) -> Any:
    """New transcript entries since `after`, for the conversation page to append without reloading."""
    services = services_of(current_app)
    after = bounded_int(request.args.get("after"))
    if after is None:
        abort(400)
    with services.database.session_scope() as db:
        entries = InboxQueries(db, services.cipher).transcript(conversation_id, after)
    locale = staff_locale()
    return jsonify(messages=[{"id": e.id, "direction": e.direction,
                              "author": e.author if e.direction == "note" else translate(
                                  locale, VALUES["author"].get(e.author, N_("Team"))),
                              "text": entry_text(e), "status": e.status, "at": e.at.isoformat()} for e in entries])


# -- live updates ------------------------------------------------------------------------------------
class _Changes:
    """One watcher per app on the database's notify path (storage.wakeup): every open event stream waits on
    it, and checks its page's fingerprint when woken (or once a second, as the fallback). It stops with the
    app's services, so no watcher outlives its database."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.watcher: Wakeup | None = None
        self.url = ""

    def start(self, database_url: str) -> None:
        """Watch this database (once per process; an app on another database replaces the watcher)."""
        with self.condition:
            if self.url != database_url:
                if self.watcher is not None:
                    self.watcher.stop()
                self.url, self.watcher = database_url, wakeup_for(database_url, self.wake)
                if self.watcher is not None:
                    self.watcher.start()

    def stop(self) -> None:
        with self.condition:
            if self.watcher is not None:
                self.watcher.stop()
            self.url, self.watcher = "", None

    def wake(self) -> None:
        with self.condition:
            self.generation += 1
            self.condition.notify_all()

    def wait(self, generation: int, timeout: float) -> int:
        with self.condition:
            self.condition.wait_for(lambda: self.generation != generation, timeout)
            return self.generation




def _changes() -> _Changes:
    """The app's change watcher, made on the first event stream and stopped with the app's services."""
    changes = current_app.extensions.get("ptibot_changes")
    if changes is None:
        made = _Changes()
        changes = current_app.extensions.setdefault("ptibot_changes", made)
        if changes is made:
            services_of(current_app).on_close(made.stop)
    return changes

#: An event stream ends after this long; the browser's EventSource reconnects by itself.
STREAM_SECONDS = 25.0
#: Open streams per process at most: each holds a server thread (gunicorn runs 4 per worker), so past this the
#: answer is 204 and the page falls back to polling rather than starving the other requests.
MAX_STREAMS = 2
HEARTBEAT_SECONDS = 2.0


def _stream_slots() -> threading.BoundedSemaphore:
    """The app's own stream slots: per app, not per module, so one app's open streams never starve another's
    (several apps live in one process in tests, and a slot held by a closed tab is given back by the heartbeat)."""
    slots = current_app.extensions.get("ptibot_event_streams")
    if slots is None:
        size = int(current_app.config.get("PTIBOT_EVENT_STREAMS", MAX_STREAMS))
        slots = current_app.extensions.setdefault("ptibot_event_streams", threading.BoundedSemaphore(size))
    return slots


@bp.get("/events")
def events() -> Any:
    """Server-sent events: `change` whenever the list (or, with `c`, that conversation) changed."""
    services = services_of(current_app)
    conversation_id = bounded_int(request.args.get("c")) if request.args.get("c") else None
    changes = _changes()
    changes.start(services.database.url)
    limit = float(current_app.config.get("PTIBOT_EVENT_SECONDS", STREAM_SECONDS))

    def fingerprint() -> str:
        with services.database.session_scope() as db:
            return InboxQueries(db, services.cipher).fingerprint(conversation_id)

    slots = _stream_slots()
    if not slots.acquire(blocking=False):
        return Response(status=204)  # EventSource stops on 204: the page polls instead
    once = threading.Lock()

    def release() -> None:  # once, whether the stream ended, was closed, or never started
        if once.acquire(blocking=False):
            slots.release()

    def stream() -> Iterator[str]:
        try:
            seen = fingerprint()
            yield "retry: 2000\n: connected\n\n"
            generation, deadline = changes.generation, time.monotonic() + limit
            beat = time.monotonic() + HEARTBEAT_SECONDS
            while time.monotonic() < deadline:
                generation = changes.wait(generation, 1.0)
                now = fingerprint()
                if now != seen:
                    seen = now
                    yield "event: change\ndata: {}\n\n"
                elif time.monotonic() > beat:  # a closed tab is noticed here, and its place given back
                    beat = time.monotonic() + HEARTBEAT_SECONDS
                    yield ":\n\n"
            yield ": bye\n\n"
        finally:
            release()

    response = Response(stream_with_context(stream()), mimetype="text/event-stream")
    response.call_on_close(release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/documents/<token>")
def document(token: str) -> Any:
    services = services_of(current_app)
    with services.database.session_scope() as db:
        row = InboxQueries(db, services.cipher).document_by_token(token)
        if row is None:
            abort(404)
        AuditRepository(db).add(g.staff, "view_document", f"document:{row.id}", utcnow(), row.slot)
        name, content_type = row.storage_name, row.content_type
        case = CaseRepository(db, services.cipher).latest_for_conversation(row.conversation_id)
        label = document_label(row, {**LABELS, **EXTRA_DOCUMENT_LABELS})
    # Named after the document and the folio ("INE-frente-PTI-2026-000123.jpg"), in ASCII.
    stem = "-".join(part for part in (_ascii(label), _ascii(case.folio if case else "")) if part)
    filename = f"{stem or 'documento'}-{row.id}{DOCUMENT_EXTENSIONS.get(content_type, '.bin')}"
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


def _ascii(text: str) -> str:
    """"INE (frente)" -> "INE-frente": safe in a header on every browser."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(ch if ch.isalnum() or ch == "-" else " " for ch in plain).split()
    return "-".join(words)[:60]


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

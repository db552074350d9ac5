"""Team work in the inbox (issue 18): assigning a conversation to a colleague, and correcting an applicant's
data with the change, who and why kept in the case history and the applicant told what changed.

Each action is one transaction with an audit record, like the rest of `CaseWork`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.clock import utcnow
from bot.core.messages import Outbound
from bot.service.casework import CaseWork, CaseWorkError
from flows.model import Parsed
from flows.rules import validators
from flows.rules.records import ITEMS
from locales import N_, translate
from storage.conversations import ConversationRepository
from storage.enrollment import CaseRepository
from storage.notes import CorrectionRepository
from storage.staff import StaffRecord, StaffRepository

#: The fields staff may correct, each read by the same validator the bot uses.
CORRECTABLE: dict[str, Callable[[str, Any], Parsed]] = {
    "full_name": validators.parse_full_name, "curp": validators.parse_curp, "rfc": validators.parse_rfc,
    "nss": validators.parse_nss, "email": validators.parse_email, "phone": validators.parse_phone,
    "postal_code": validators.parse_postal_code, "address": validators.parse_address,
    "occupation": validators.parse_occupation,
}
FIELD_LABELS = {key: label for label, key, _step in ITEMS}


class InboxWork(CaseWork):
    def assign(self, staff: StaffRecord, conversation_id: int, colleague_id: int) -> None:
        """Give the conversation to a colleague; the applicant hears who is with them now."""
        with self._scope() as session:
            colleague = StaffRepository(session).get(colleague_id)
            if colleague is None or not colleague.active:
                raise CaseWorkError(N_("Choose an active colleague."))
            self._hand_to(session, conversation_id, colleague)
            self._audit(session, staff, "assign", f"conversation:{conversation_id}", colleague.email)
        self._wake()

    def correct(self, staff: StaffRecord, conversation_id: int, field: str, value: str, reason: str,
                staff_locale: str = "es_MX") -> None:
        """Correct one field with the bot's own validator; the case keeps the change in its history."""
        reason = reason.strip()
        parser = CORRECTABLE.get(field)
        if parser is None:
            raise CaseWorkError(N_("That field cannot be corrected here."))
        if not reason:
            raise CaseWorkError(N_("Say why the data is corrected."))
        with self._scope() as session:
            state = self._lock(session, conversation_id)
            parsed = parser(value.strip(), state.data)
            if not parsed.ok:
                raise CaseWorkError(translate(staff_locale, parsed.error or "", **dict(parsed.error_values)))
            old = state.data.get(field)
            if old == parsed.value:
                raise CaseWorkError(N_("That is already the value on record."))
            state.data[field] = parsed.value
            state.data.update(parsed.updates)
            state.updated_at = utcnow()
            ConversationRepository(session, self.cipher).save(conversation_id, state, ())
            latest = CaseRepository(session, self.cipher).latest_for_conversation(conversation_id)
            CorrectionRepository(session, self.cipher).add(
                conversation_id, latest.id if latest else None, field, old, parsed.value, reason, staff.email,
                utcnow())
            locale = self._locale(session, conversation_id)
            text = translate(locale, N_("We corrected your %(field)s: it now reads *%(value)s*. Reason: %(reason)s"),
                             field=translate(locale, FIELD_LABELS[field]).lower(), value=parsed.value,
                             reason=reason)
            self._queue(session, conversation_id, Outbound(text, kind="status_update"), author="staff")
            self._audit(session, staff, "correct_data", f"conversation:{conversation_id}", field)
        self._wake()

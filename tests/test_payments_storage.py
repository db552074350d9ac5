"""Contracts and payments in storage: integer centavos, references unique, status moves once, events once."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.messages import Inbound
from bot.wiring import Services
from storage.conversations import ContactRepository, ConversationRepository
from storage.payments import PaymentRepository

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


def conversation(services: Services, ref: str = "c1") -> tuple[int, int]:
    with services.database.session_scope() as session:
        contact = ContactRepository(session, services.cipher).get_or_create(Inbound("webchat", ref, "m1"), NOW)
        conversation_id, _ = ConversationRepository(session, services.cipher).lock(contact.id, "es_MX", NOW)
        return contact.id, conversation_id


def test_a_contract_keeps_the_price_it_was_accepted_at_and_its_payment_a_unique_reference(services: Services) -> None:
    contact_id, conversation_id = conversation(services)
    with services.database.session_scope() as session:
        payments = PaymentRepository(session)
        contract = payments.accept_contract(contact_id, conversation_id, "service", "service", 149900,
                                            "2026-12-01", None, NOW)
        first = payments.start_payment(contract.id, "spei", NOW)
        second = payments.start_payment(contract.id, "stripe", NOW)
    assert (first.amount_centavos, first.status, first.method) == (149900, "pending", "spei")
    assert isinstance(first.amount_centavos, int)
    assert first.reference != second.reference and first.reference.startswith("PTI-P")
    with services.database.session_scope() as session:
        payments = PaymentRepository(session)
        assert payments.open_contract(conversation_id, "service") == contract
        assert payments.by_reference(first.reference) == first
        assert payments.latest_for_conversation(conversation_id) == second


def test_a_confirmation_applies_once_and_paid_only_moves_to_refunded(services: Services) -> None:
    contact_id, conversation_id = conversation(services)
    with services.database.session_scope() as session:
        payments = PaymentRepository(session)
        contract = payments.accept_contract(contact_id, conversation_id, "service", "service", 149900,
                                            "2026-12-01", None, NOW)
        payment = payments.start_payment(contract.id, "stripe", NOW)
        payments.set_checkout(payment.id, "cs_test_1", "https://pay.example/cs_test_1", NOW)
    with services.database.session_scope() as session:
        payments = PaymentRepository(session)
        assert payments.transition(payment.id, "paid", NOW, actor="stripe", provider_payment_id="pi_1")
        assert not payments.transition(payment.id, "paid", NOW, actor="stripe")
        assert not payments.transition(payment.id, "expired", NOW)
        assert not payments.transition(payment.id, "failed", NOW)
    with services.database.session_scope() as session:
        paid = PaymentRepository(session).by_provider_session("cs_test_1")
        assert paid is not None and paid.status == "paid" and paid.paid_at is not None
        assert PaymentRepository(session).transition(payment.id, "refunded", NOW, actor="ana@gestoria.mx",
                                                     note="duplicated")


def test_a_provider_event_is_recorded_once(services: Services) -> None:
    with services.database.session_scope() as session:
        payments = PaymentRepository(session)
        assert payments.record_event("stripe", "evt_1", "checkout.session.completed", None, NOW)
        assert not payments.record_event("stripe", "evt_1", "checkout.session.completed", None, NOW)
        assert payments.record_event("stripe", "evt_2", "checkout.session.expired", None, NOW)


def test_a_rejected_receipt_leaves_the_payment_pending_with_the_reason(services: Services) -> None:
    contact_id, conversation_id = conversation(services)
    with services.database.session_scope() as session:
        payments = PaymentRepository(session)
        contract = payments.accept_contract(contact_id, conversation_id, "service", "service", 149900,
                                            "2026-12-01", None, NOW)
        payment = payments.start_payment(contract.id, "spei", NOW)
        assert payments.reject_receipt(payment.id, "El monto no coincide", "ana@gestoria.mx", NOW)
        again = payments.get(payment.id)
    assert again is not None and again.status == "pending" and again.note == "El monto no coincide"

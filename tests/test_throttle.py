"""The send pacing's decisions on a fake clock: per-chat token buckets, the overall pace, 429s, priorities."""

from __future__ import annotations

import pytest

from bot.worker.throttle import TokenBucket, telegram_throttle, whatsapp_throttle

T0 = 1_800_000_000.0  # any moment: the throttle takes plain seconds


def test_a_bucket_gives_its_burst_at_once_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=T0)
    for _ in range(3):
        assert bucket.wait(T0) == 0
        bucket.take(T0)
    assert bucket.wait(T0) == pytest.approx(1.0)
    assert bucket.wait(T0 + 0.4) == pytest.approx(0.6)
    assert bucket.wait(T0 + 10) == 0  # and never holds more than the burst
    for _ in range(3):
        bucket.take(T0 + 10)
    assert bucket.wait(T0 + 10) > 0


def test_three_messages_to_a_chat_quiet_for_three_seconds_go_at_once_and_a_fourth_waits_about_a_second() -> None:
    throttle = telegram_throttle()
    assert throttle.reserve("ana", T0) == 0
    throttle.finished("ana", T0 + 0.1)
    # Three seconds later, an answer of three messages, each sent when the one before it returned.
    start = T0 + 3.1
    for n in range(3):
        moment = start + n * 0.1
        while (wait := throttle.reserve("ana", moment)) > 0:  # only the overall pace (1/30 s) may hold it
            assert wait < 0.05
            moment += wait
        throttle.finished("ana", moment + 0.1)
    fourth = throttle.reserve("ana", start + 0.3)
    assert 0.6 < fourth <= 1.0  # then about one a second (aiming 10 % under): 0.3 s refilled part of a token
    assert throttle.reserve("bea", start + 0.3) == 0  # another chat is not held


def test_a_fixed_gap_is_the_old_setting_still_accepted() -> None:
    throttle = telegram_throttle()
    legacy = type(throttle)(per_second=30, per_chat_interval=1.0)
    assert legacy.reserve("a", T0) == 0
    assert legacy.reserve("a", T0 + 0.1) == pytest.approx(0.9)


def test_the_overall_pace_spaces_sends_to_different_chats_a_little_under_30_a_second() -> None:
    throttle = telegram_throttle()
    booked: list[float] = []
    moment = T0
    while len(booked) < 90:
        wait = throttle.reserve(f"chat{len(booked)}", moment)
        if wait == 0:
            booked.append(moment)
            throttle.finished(f"chat{len(booked) - 1}", moment + 0.1)
        else:
            moment += wait
    assert all(later - earlier > 1.0 for earlier, later in zip(booked, booked[30:], strict=False))
    assert booked[-1] - booked[0] == pytest.approx(89 / 29.7, rel=0.03)
    assert throttle.capacity(moment, 0.5) <= 16


def test_a_chat_429_holds_that_chat_exactly_retry_after_and_no_other() -> None:
    throttle = telegram_throttle()
    assert throttle.reserve("ana", T0) == 0
    throttle.finished("ana", T0 + 0.1)
    assert throttle.reserve("ana", T0 + 0.2) == 0
    assert throttle.recently_sent("ana", T0 + 0.3)  # a burst in progress: the 429 is the chat's own
    throttle.rate_limited("ana", T0 + 0.3, 7, whole_bot=False)
    throttle.finished("ana", T0 + 0.3)
    assert throttle.chat_wait("ana", T0 + 0.3) == pytest.approx(7.0)
    assert throttle.chat_wait("ana", T0 + 7.3) == 0
    assert throttle.reserve("bea", T0 + 0.4) == 0


def test_a_bot_wide_429_holds_every_chat_exactly_retry_after() -> None:
    throttle = telegram_throttle()
    assert throttle.reserve("ana", T0) == 0
    assert not throttle.recently_sent("ana", T0 + 0.1)  # the chat's first message: the limit is the bot's
    throttle.rate_limited("ana", T0 + 0.1, 5, whole_bot=True)
    throttle.finished("ana", T0 + 0.1)
    assert throttle.reserve("bea", T0 + 0.2) == pytest.approx(4.9)
    assert throttle.capacity(T0 + 0.2, 0.5) == 0
    assert throttle.seconds_until_free(T0 + 0.2) == pytest.approx(4.9)
    assert throttle.reserve("bea", T0 + 5.1) == 0


def test_a_broadcast_yields_its_slot_while_a_reply_waits() -> None:
    throttle = telegram_throttle()
    reply = throttle.line_up(True, T0)
    reminder = throttle.line_up(False, T0 - 60)  # due long before, but a broadcast
    assert throttle.reserve("reminder", T0, urgent=False, ticket=reminder) > 0
    assert throttle.reserve("reminder", T0, urgent=False) > 0  # without a ticket too
    assert throttle.reserve("reply", T0, urgent=True, ticket=reply) == 0
    throttle.leave(reply)
    assert throttle.reserve("reminder", T0 + 0.05, urgent=False, ticket=reminder) == 0


def test_sends_waiting_for_the_pace_are_served_in_the_order_their_messages_fell_due() -> None:
    """Whoever asks first must not take the slot from an applicant who has waited longer."""
    throttle = telegram_throttle()
    assert throttle.reserve("warm-up", T0) == 0  # the pace's next slot is 1/30 s away
    late = throttle.line_up(True, T0 - 1.0)
    early = throttle.line_up(True, T0 - 2.0)
    assert throttle.oldest_waiting_reply() == T0 - 2.0
    slot = throttle.interval
    assert throttle.reserve("late", T0 + slot, ticket=late) == pytest.approx(slot)  # after `early`'s turn
    assert throttle.reserve("early", T0 + slot, ticket=early) == 0
    throttle.leave(early)
    assert throttle.reserve("late", T0 + 2 * slot, ticket=late) == 0
    throttle.leave(late)
    assert throttle.oldest_waiting_reply() is None


def test_the_rest_of_an_answer_goes_first_but_does_not_count_as_an_applicant_kept_waiting() -> None:
    throttle = telegram_throttle()
    assert throttle.reserve("warm-up", T0) == 0
    reply = throttle.line_up(True, T0 - 0.2)
    rest = throttle.line_up(True, T0 - 3.0, continuing=True)  # its first bubble went: the applicant is reading it
    assert throttle.oldest_waiting_reply() == T0 - 0.2  # the only one waiting for the start of an answer
    assert throttle.reserve("reply", T0 + throttle.interval, ticket=reply) > 0  # the older answer's rest first
    assert throttle.reserve("rest", T0 + throttle.interval, ticket=rest) == 0


def test_a_chat_held_by_its_own_limit_does_not_hold_the_line() -> None:
    throttle = telegram_throttle()
    for n in range(3):
        assert throttle.reserve("ana", T0 + n * 0.04) == 0
        throttle.finished("ana", T0 + n * 0.04 + 0.01)
    ana = throttle.line_up(True, T0 - 5)
    bea = throttle.line_up(True, T0)
    assert throttle.reserve("ana", T0 + 0.2, ticket=ana) > 0.5  # her chat's burst is spent: the dispatcher puts it back
    throttle.leave(ana)
    assert throttle.reserve("bea", T0 + 0.2, ticket=bea) == 0


def test_whatsapp_paces_a_sender_at_its_rate_and_one_user_at_metas_pair_limit() -> None:
    throttle = whatsapp_throttle(80)
    moment, sent = T0, 0
    while sent < 10:  # the burst
        wait = throttle.reserve("+5215512345678", moment)
        if wait:
            moment += wait
            continue
        throttle.finished("+5215512345678", moment + 0.05)
        sent += 1
        moment += 0.05
    assert moment - T0 < 1.0
    assert 5.0 < throttle.reserve("+5215512345678", moment) <= 6.7  # then one every 6 seconds (10 % under)
    assert throttle.reserve("+5215599999999", moment) == 0  # to another user at once
    assert throttle.interval == pytest.approx(1 / (80 * 0.99))


def test_the_round_trip_is_what_sends_took_lately() -> None:
    throttle = telegram_throttle()
    assert throttle.round_trip() is None
    for n in range(5):
        throttle.reserve(f"c{n}", T0 + n)
        throttle.finished(f"c{n}", T0 + n + 0.1 + n * 0.01)
    assert throttle.round_trip() == pytest.approx(0.12)


def test_a_chat_refills_from_when_its_last_send_returned_so_a_late_arrival_cannot_crowd_the_next() -> None:
    """The provider may count a send as late as its answer came back; the next waits a full second from then."""
    throttle = type(telegram_throttle())(per_second=30, chat_rate=1.0, chat_burst=1)
    assert throttle.reserve("ana", T0) == 0
    throttle.finished("ana", T0 + 0.8)  # a slow round trip
    assert throttle.chat_wait("ana", T0 + 1.0) == pytest.approx(0.8)
    assert throttle.chat_wait("ana", T0 + 1.8) == 0


def test_the_window_credits_the_shortest_round_trip_ever_seen_not_one_a_busy_machine_inflated() -> None:
    """A send may be counted as late as its answer less the quickest way back: only the fastest round trip
    seen bounds that; the last ones, slowed by a busy machine, would let the 31st send in a second through."""
    throttle = type(telegram_throttle())(per_second=2, margin=0.0)
    assert throttle.reserve("a", T0) == 0
    throttle.finished("a", T0 + 0.1)  # the network's own round trip
    for n in range(70):  # then a long busy spell: every send takes 0.3 s
        moment = T0 + 1 + n
        assert throttle.reserve(f"c{n}", moment) == 0
        throttle.finished(f"c{n}", moment + 0.3)
    last = T0 + 70
    assert throttle.reserve("b", last + 0.5) == 0
    throttle.finished("b", last + 0.8)
    # The send two places back ended at last + 0.3: counted by then less 0.1 at the latest, not less 0.3.
    assert throttle.seconds_until_free(last + 0.9) == pytest.approx(last + 0.2 + 1.0 + 0.005 - (last + 0.9))

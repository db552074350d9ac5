"""Prometheus metrics: what an operator needs to see the bot is healthy (per process; scrape each one).

Defined at the bottom so the turn service and the worker can count without knowing about the web app,
which serves them at /metrics.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INBOUND = Counter("ptibot_inbound_messages_total", "Inbound messages stored, by channel", ["channel"])
DUPLICATES = Counter("ptibot_duplicate_deliveries_total", "Redelivered inbound messages ignored", ["channel"])
TURN_SECONDS = Histogram("ptibot_turn_seconds", "Time to store a message and run its turn",
                         buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
SENT = Counter("ptibot_messages_sent_total", "Outbound messages sent, by channel", ["channel"])
SEND_FAILURES = Counter("ptibot_send_failures_total", "Failed send attempts, by channel and outcome",
                        ["channel", "reason"])
REMINDERS = Counter("ptibot_reminders_total", "Payment reminders by outcome (sent, dropped, skipped)", ["status"])
QUEUE_WAIT_SECONDS = Histogram("ptibot_inbound_wait_seconds",
                               "From the webhook's acknowledgement to the start of the message's turn",
                               buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60))
TURN_FAILURES = Counter("ptibot_turn_failures_total", "Queued turns that raised, by outcome (retry, failed)",
                        ["outcome"])
INBOUND_DEPTH = Gauge("ptibot_inbound_queue_depth", "Acknowledged messages waiting for their turn")
INBOUND_OLDEST = Gauge("ptibot_inbound_queue_oldest_seconds", "Age of the oldest message waiting for its turn")
OUTBOX_DEPTH = Gauge("ptibot_outbox_depth", "Outbound messages waiting to be sent")
OUTBOX_OLDEST = Gauge("ptibot_outbox_oldest_seconds", "Age of the oldest message waiting to be sent")

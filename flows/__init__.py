"""Declarative dialog flows: steps, choices, questions and their pure validators; no I/O here."""

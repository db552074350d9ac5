"""The background worker: the loop, the outbox dispatcher, media downloads, mail, reminders, retention."""

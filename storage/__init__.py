"""Persistence: SQLAlchemy models, sessions, repositories and the encrypted document store."""

"""Loopback fakes of external services, driven by the real client libraries over 127.0.0.1."""

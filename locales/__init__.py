"""Babel catalogs (messages.pot, es_MX, en), shipped as package data so a plain install can translate."""

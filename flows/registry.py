"""The flows the bot runs, in one place so the engine, the CLI diagram and the tests agree."""

from __future__ import annotations

from flows import data_rights, menu
from flows.model import Flow

FLOWS: tuple[Flow, ...] = (menu.FLOW, data_rights.FLOW)

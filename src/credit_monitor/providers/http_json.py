"""Placeholder until the declarative provider lands (see the catalogue branch)."""

from __future__ import annotations

from collections.abc import Mapping

from credit_monitor.providers.base import Provider

NAME = "http-json"


def from_entry(entry: Mapping[str, object]) -> tuple[Provider, str]:
    raise ValueError("provider: http-json is not available in this build")

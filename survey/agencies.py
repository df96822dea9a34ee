"""The agencies a deployment serves: code, display name, questionnaire, visit rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    questionnaire: str
    visit_required: bool = False

"""Loads the built-in questionnaires and the operator's own files into a `Catalogue`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from survey.catalogue import Catalogue, QuestionnaireError, parse_questionnaire
from survey.models import Questionnaire


def load_catalogue(extra_files: tuple[Path, ...] = ()) -> Catalogue:
    """Built-ins first; an operator's file may add a questionnaire but not shadow a built-in."""
    found: dict[str, Questionnaire] = {}
    folder = resources.files("survey") / "questionnaires"
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            _add(found, parse_questionnaire(entry.read_text("utf-8"), entry.name), entry.name)
    for path in extra_files:
        try:
            text = path.read_text("utf-8")
        except OSError as error:
            raise QuestionnaireError(str(path), "(file)", f"cannot be read: {error}") from None
        _add(found, parse_questionnaire(text, str(path)), str(path))
    return Catalogue(found)


def _add(found: dict[str, Questionnaire], questionnaire: Questionnaire, source: str) -> None:
    if questionnaire.id in found:
        raise QuestionnaireError(
            source, "id", f"questionnaire {questionnaire.id!r} already exists"
        )
    found[questionnaire.id] = questionnaire

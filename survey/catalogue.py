"""Questionnaire parsing: TOML text in, a validated `Questionnaire` (or a readable error) out."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

from pydantic import ValidationError

from survey.models import Questionnaire


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used: names the file, the field and the reason."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        super().__init__(f"{source}: {field}: {reason}")
        self.source = source
        self.field = field
        self.reason = reason


def parse_questionnaire(text: str, source: str) -> Questionnaire:
    """Parse and validate one questionnaire; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise QuestionnaireError(source, "(syntax)", str(error)) from None
    try:
        return Questionnaire.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = _field_path(first["loc"], data)
        raise QuestionnaireError(source, field, first["msg"]) from None


def _field_path(location: tuple[int | str, ...], data: Mapping[str, object]) -> str:
    """A path like `elements[2].criteria[0].id`, naming list items by their id when known."""
    parts: list[str] = []
    node: object = data
    for key in location:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node):
                item = node[key]
                if isinstance(item, dict) and "id" in item:
                    label = f"[{key}] ({item['id']})"
                node = item
            parts.append(label)
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(f".{key}" if parts else str(key))
    return "".join(parts) or "(file)"


class Catalogue:
    """The questionnaires known to this deployment, by id."""

    def __init__(self, questionnaires: Mapping[str, Questionnaire]) -> None:
        self._by_id = dict(questionnaires)

    def __contains__(self, questionnaire_id: object) -> bool:
        return questionnaire_id in self._by_id

    def __getitem__(self, questionnaire_id: str) -> Questionnaire:
        return self._by_id[questionnaire_id]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

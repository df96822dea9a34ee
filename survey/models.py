"""Questionnaire models: questionnaire → elements → criteria, plus the optional steps."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
ELEMENT_IDS = ("access", "procedures", "civil_servants", "results", "feedback")
SCALE_VALUES = (1, 2, 3, 4, 5)
SATISFIED_VALUES = (4, 5)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Frozen):
    """A user-facing text in every supported language."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def in_(self, language: Language) -> str:
        return self.vi if language == "vi" else self.en


class Criterion(_Frozen):
    """One statement the citizen rates on the 1–5 scale."""

    id: str
    text: Text


class Element(_Frozen):
    """A group of criteria (yếu tố) whose index is the mean of its criteria's indices."""

    id: str
    title: Text
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _known_element(cls, value: str) -> str:
        if value not in ELEMENT_IDS:
            raise ValueError(
                f"unknown element {value!r}; expected one of {', '.join(ELEMENT_IDS)}"
            )
        return value

    @model_validator(mode="after")
    def _criteria_numbered(self) -> Element:
        for number, criterion in enumerate(self.criteria, start=1):
            expected = f"{self.id}_{number}"
            if criterion.id != expected:
                raise ValueError(
                    f"criterion {criterion.id!r} must be named {expected!r} "
                    "(criteria are numbered from 1 in questionnaire order)"
                )
        return self


class Option(_Frozen):
    """One choice of an optional choice step."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,16}$")
    text: Text


class OptionalStep(_Frozen):
    """A skippable step after the statements: a choice list, or free text (the comment)."""

    id: Literal["procedure", "sex", "age_group", "education", "comment"]
    kind: Literal["choice", "text"]
    prompt: Text
    options: tuple[Option, ...] = ()
    max_length: int = Field(default=1000, ge=1, le=4000)

    @model_validator(mode="after")
    def _options_match_kind(self) -> OptionalStep:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError("a choice step needs at least two options")
        if self.kind == "text" and self.options:
            raise ValueError("a text step takes no options")
        ids = [option.id for option in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        return self


class Questionnaire(_Frozen):
    """A complete survey form, as loaded from a questionnaire TOML file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    title: Text
    source: str
    reconstructed: bool = False
    not_applicable: bool = False
    scale: dict[int, Text]
    elements: tuple[Element, ...] = Field(min_length=1)
    optional: tuple[OptionalStep, ...] = ()

    @field_validator("scale")
    @classmethod
    def _five_points(cls, value: dict[int, Text]) -> dict[int, Text]:
        if sorted(value) != list(SCALE_VALUES):
            raise ValueError("the scale must label exactly the points 1, 2, 3, 4 and 5")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Questionnaire:
        elements = [element.id for element in self.elements]
        if len(set(elements)) != len(elements):
            raise ValueError("element ids must be unique")
        steps = [step.id for step in self.optional]
        if len(set(steps)) != len(steps):
            raise ValueError("optional step ids must be unique")
        return self

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for element in self.elements for c in element.criteria)

    @property
    def criterion_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)


_ELEMENT_OF = re.compile(r"^(?P<element>[a-z_]+)_(?P<number>[1-9][0-9]*)$")


def element_of(criterion_id: str) -> str:
    """The element id a criterion id belongs to (`access_3` → `access`)."""
    match = _ELEMENT_OF.match(criterion_id)
    if match is None:
        raise ValueError(f"not a criterion id: {criterion_id!r}")
    return match["element"]

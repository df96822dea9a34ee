"""The Jinja2 templates of the web page and report, autoescaped, with the few filters they use."""

from __future__ import annotations

from typing import Any

import jinja2

from survey.actions import encode
from survey.numbers import format_date, format_number
from survey.texts import say


def paragraphs(text: str) -> list[list[str]]:
    """A chat text as paragraphs of lines (the template joins them: no HTML built here)."""
    return [block.split("\n") for block in text.split("\n\n") if block.strip()]


def templates() -> jinja2.Environment:
    """The environment every page renders with; autoescaping is on for every template."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["paragraphs"] = paragraphs
    environment.globals.update(
        say=say, encode=encode, format_number=format_number, format_date=format_date
    )
    return environment


def render(environment: jinja2.Environment, name: str, **values: Any) -> str:
    return environment.get_template(name).render(**values)

"""Questionnaires: the built-in forms, an operator's own file, and broken files refused clearly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.questionnaires import load_catalogue
from survey.catalogue import QuestionnaireError
from survey.models import ELEMENT_IDS, Questionnaire, Text
from tests.cli_support import run_cli

BUILT_IN = {
    "sipas-2023": (4, 4, 5, 3, 3),
    "sipas-2017": (4, 5, 6, 3, 4),
    "counter-5": (1, 1, 1, 1, 1),
}
COUNTER_5 = (resources.files("survey") / "questionnaires" / "counter-5.toml").read_text("utf-8")


def _texts(node: object, path: str) -> Iterator[tuple[str, Text]]:
    """Every user-facing text in a questionnaire, with where it sits."""
    if isinstance(node, Text):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, tuple):
        for index, item in enumerate(node):
            yield from _texts(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _texts(item, f"{path}[{key}]")


def _write(tmp_path: Path, text: str, name: str = "form.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def catalogue_forms() -> dict[str, Questionnaire]:
    catalogue = load_catalogue()
    return {qid: catalogue[qid] for qid in catalogue.ids}


def test_the_three_built_in_questionnaires_load(catalogue_forms: dict[str, Questionnaire]) -> None:
    assert sorted(catalogue_forms) == sorted(BUILT_IN)


@pytest.mark.parametrize(("questionnaire_id", "per_element"), BUILT_IN.items())
def test_built_in_questionnaires_have_the_official_statement_counts(
    catalogue_forms: dict[str, Questionnaire], questionnaire_id: str, per_element: tuple[int, ...]
) -> None:
    questionnaire = catalogue_forms[questionnaire_id]
    assert tuple(element.id for element in questionnaire.elements) == ELEMENT_IDS
    assert tuple(len(element.criteria) for element in questionnaire.elements) == per_element
    assert len(questionnaire.criteria) == sum(per_element)


@pytest.mark.parametrize(
    ("questionnaire_id", "reconstructed"),
    [("sipas-2023", False), ("sipas-2017", True), ("counter-5", False)],
)
def test_only_the_2017_form_is_marked_reconstructed(
    catalogue_forms: dict[str, Questionnaire], questionnaire_id: str, reconstructed: bool
) -> None:
    assert catalogue_forms[questionnaire_id].reconstructed is reconstructed


@pytest.mark.parametrize("questionnaire_id", BUILT_IN)
def test_criterion_ids_are_element_and_number(
    catalogue_forms: dict[str, Questionnaire], questionnaire_id: str
) -> None:
    for element in catalogue_forms[questionnaire_id].elements:
        ids = [criterion.id for criterion in element.criteria]
        assert ids == [f"{element.id}_{n}" for n in range(1, len(ids) + 1)]


@pytest.mark.parametrize("questionnaire_id", BUILT_IN)
def test_every_text_is_in_vietnamese_and_english(
    catalogue_forms: dict[str, Questionnaire], questionnaire_id: str
) -> None:
    texts = list(_texts(catalogue_forms[questionnaire_id], questionnaire_id))
    assert len(texts) > 10
    for path, text in texts:
        assert text.vi.strip(), f"{path} has no Vietnamese text"
        assert text.en.strip(), f"{path} has no English text"
        if not path.split(".")[-1].startswith(("title", "scale")):
            assert text.vi != text.en, f"{path} is not translated"


@pytest.mark.parametrize("questionnaire_id", BUILT_IN)
def test_only_scale_labels_begin_with_a_digit(
    catalogue_forms: dict[str, Questionnaire], questionnaire_id: str
) -> None:
    questionnaire = catalogue_forms[questionnaire_id]
    for path, text in _texts(questionnaire, questionnaire_id):
        if path.startswith(f"{questionnaire_id}.scale"):
            continue
        for language in ("vi", "en"):
            label = text.vi if language == "vi" else text.en
            assert not re.match(r"\d", label), f"{path}.{language} begins with a digit: {label!r}"


def test_an_operators_own_questionnaire_loads_beside_the_built_ins(tmp_path: Path) -> None:
    path = _write(tmp_path, COUNTER_5.replace('id = "counter-5"', 'id = "my-counter"'))
    catalogue = load_catalogue((path,))
    assert "my-counter" in catalogue
    assert set(BUILT_IN) <= set(catalogue.ids)
    assert len(catalogue["my-counter"].criteria) == 5


def test_an_operators_questionnaire_may_not_shadow_a_built_in(tmp_path: Path) -> None:
    path = _write(tmp_path, COUNTER_5)
    with pytest.raises(QuestionnaireError) as caught:
        load_catalogue((path,))
    assert caught.value.source == str(path)
    assert caught.value.field == "id"
    assert "already exists" in caught.value.reason


def test_a_missing_questionnaire_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(QuestionnaireError) as caught:
        load_catalogue((path,))
    assert str(caught.value).startswith(f"{path}: (file): cannot be read")


MINE = COUNTER_5.replace('id = "counter-5"', 'id = "mine"')
BROKEN = [
    pytest.param(
        MINE.replace('id = "procedures_1"', 'id = "procedures_2"'),
        "elements[1]",
        "must be named 'procedures_1'",
        id="misnumbered-criterion",
    ),
    pytest.param(
        MINE.replace('id = "results"', 'id = "outcomes"'),
        "elements[3] (outcomes).id",
        "unknown element 'outcomes'",
        id="unknown-element",
    ),
    pytest.param(
        MINE.replace('"3" = { vi = "Bình thường", en = "Neutral" }\n', ""),
        "scale",
        "1, 2, 3, 4 and 5",
        id="scale-missing-a-point",
    ),
    pytest.param(
        MINE.replace('source = "', 'source = "unterminated\n', 1),
        "(syntax)",
        "line 11",
        id="bad-toml",
    ),
    pytest.param(
        MINE.replace(', en = "Neutral"', ""),
        "scale.3.en",
        "Field required",
        id="text-without-english",
    ),
]


@pytest.mark.parametrize(("text", "field", "reason"), BROKEN)
def test_a_broken_questionnaire_names_file_field_and_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(QuestionnaireError) as caught:
        load_catalogue((path,))
    error = caught.value
    assert error.source == str(path)
    assert error.field.startswith(field)
    assert reason in error.reason
    assert str(error) == f"{path}: {error.field}: {error.reason}"


def test_check_config_refuses_a_broken_questionnaire_file_in_one_line(tmp_path: Path) -> None:
    _write(tmp_path, MINE.replace('id = "results"', 'id = "outcomes"'), "broken.toml")
    config = _write(tmp_path, '[survey]\nquestionnaire_files = ["broken.toml"]\n', "config.toml")
    result = run_cli("check-config", "--config", str(config), cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(tmp_path / "broken.toml") in lines[0]
    assert "elements[3] (outcomes).id" in lines[0]
    assert "unknown element" in lines[0]

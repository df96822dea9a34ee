"""One cell of a typed-in form read as survey tools write it: a submission time or an answer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo

from survey.models import SCALE_VALUES, Questionnaire

DATE_FORMS = (
    "2026-10-05, 2026-10-05 14:30[:00], 2026-10-05T07:30:00Z, 2026-10-05T14:30:00+07:00, "
    "05/10/2026, 05/10/2026 14:30[:00] (day first), or an Excel date"
)
NOT_APPLICABLE = frozenset({"na", "n/a", "không áp dụng", "not applicable"})

_ISO = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[ T](?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)"
    r"(?P<zone>Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_DAY_FIRST = re.compile(
    r"(?P<day>[0-9]{1,2})/(?P<month>[0-9]{1,2})/(?P<year>[0-9]+)"
    r"(?:,?\s+(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?)?"
)
# Excel counts days from 1899-12-30; five digits cover 1927–2173, so a stray count is no date.
_SERIAL = re.compile(r"[0-9]{5}(?:\.[0-9]+)?")
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC).replace(tzinfo=None)  # a local time
# Whole numbers only; "4.0" is what some spreadsheets write for a cell typed as 4.
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_PLAIN_ANSWERS: dict[str, int | None] = {str(v): v for v in SCALE_VALUES} | {"": None, "NA": None}
_NOT_AN_ANSWER = "{text} is not an answer: write 1 to 5 or the scale's label, or leave empty / NA"
_NUMBER_AND_LABEL = re.compile(r"(?P<number>[0-9]+(?:\.0*)?)\s*[-–—:.)]\s*(?P<label>\S.*)")


def text_key(text: str) -> str:
    """How labels and headers are compared: NFC, case folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def parse_submitted_at(text: str, zone: tzinfo = UTC) -> datetime:
    """The naive local time in `zone` that a cell means; raises ValueError with the reason.

    A time with `Z` or an offset is converted to `zone`; one without is local time already.
    """
    value = text.strip()
    iso = _ISO.fullmatch(value)
    if iso is not None:
        return _from_iso(text, iso, zone)
    day_first = _DAY_FIRST.fullmatch(value)
    if day_first is not None:
        return _local(text, _from_day_first(text, day_first), zone)
    if _SERIAL.fullmatch(value):
        serial = _EXCEL_EPOCH + timedelta(days=float(value))
        return _local(text, _to_second(serial), zone)
    raise ValueError(f"{text!r} is not a date; write {DATE_FORMS}")


def _from_iso(text: str, match: re.Match[str], zone: tzinfo) -> datetime:
    clock = match["time"] or "00:00"  # fromisoformat drops digits past microseconds
    offset = match["zone"] or ""
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{clock}{offset.replace('Z', '+00:00')}")
    except ValueError:
        raise ValueError(f"{text!r} is not a real date or time; write {DATE_FORMS}") from None
    if moment.tzinfo is None:
        return _local(text, moment, zone)
    return moment.astimezone(zone).replace(tzinfo=None)


def _from_day_first(text: str, match: re.Match[str]) -> datetime:
    if len(match["year"]) != 4:
        raise ValueError(f"{text!r}: write the year with four digits; write {DATE_FORMS}")
    parts = [match["year"], match["month"], match["day"]]
    parts += [match["hour"] or "0", match["minute"] or "0", match["second"] or "0"]
    year, month, day, hour, minute, second = map(int, parts)
    try:
        # Naive on purpose: a local time of the configured zone, checked by `_local`.
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).replace(tzinfo=None)
    except ValueError as error:
        hint = " (the day comes first: dd/mm/yyyy)" if month > 12 and day <= 12 else ""
        reason = f"{text!r} is not a real date or time{hint}: {error}"
        raise ValueError(f"{reason}; write {DATE_FORMS}") from None


def _local(text: str, moment: datetime, zone: tzinfo) -> datetime:
    """`moment` as a local time of `zone`, refused when the clocks skipped or repeated it."""
    earlier = moment.replace(tzinfo=zone, fold=0)
    later = moment.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() != later.utcoffset():
        there = earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if there != moment:
            raise ValueError(f"{text!r} did not exist in {zone} (the clocks skipped it)")
        raise ValueError(
            f"{text!r} is ambiguous in {zone} (the clocks passed it twice); "
            "add the offset, e.g. +07:00"
        )
    return moment


def _to_second(moment: datetime) -> datetime:
    """Excel keeps times as fractions of a day: 14:30 may come back as 14:29:59.999."""
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


def scale_labels(questionnaire: Questionnaire) -> dict[str, int]:
    """The questionnaire's scale labels in both languages, as `text_key`s, to their value."""
    return {
        text_key(label): value
        for value, text in questionnaire.scale.items()
        for label in (text.vi, text.en)
    }


def parse_answer(text: str, labels: Mapping[str, int]) -> int | None:
    """A 1–5 answer as a number, a label or both (`4 - Hài lòng`); None = not applicable."""
    if text in _PLAIN_ANSWERS:  # most cells: an import of 100,000 rows reads millions of them
        return _PLAIN_ANSWERS[text]
    value = text.strip()
    if _NUMBER.fullmatch(value):  # the common case first: a sheet of numbers
        if int(float(value)) in SCALE_VALUES:
            return int(float(value))
        raise ValueError(_NOT_AN_ANSWER.format(text=repr(text)))
    key = text_key(value)
    if not key or key in NOT_APPLICABLE:
        return None
    if key in labels:
        return labels[key]
    both = _NUMBER_AND_LABEL.fullmatch(value)
    if both is not None and int(float(both["number"])) in SCALE_VALUES:
        number = int(float(both["number"]))
        if labels.get(text_key(both["label"])) == number:
            return number
        raise ValueError(f"{text!r}: the number and the label disagree")
    raise ValueError(_NOT_AN_ANSWER.format(text=repr(text)))

"""The agencies a deployment serves, and the one registry every part looks them up in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from survey.answers import fold

_GREETINGS = frozenset(
    {"xin chao", "chao", "chao ban", "alo", "hello", "hi", "start", "bat dau", "danh gia"}
)


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    questionnaire: str
    visit_required: bool = False
    group: str | None = None


@dataclass(frozen=True)
class Group:
    """Agencies ranked together, e.g. a province's departments apart from its communes."""

    id: str
    name: str


class Agencies:
    """The configured agencies in config order, looked up by code, and their groups."""

    def __init__(self, agencies: Iterable[Agency], groups: Iterable[Group] = ()) -> None:
        self._by_code = {agency.code: agency for agency in agencies}
        self._groups = {group.id: group for group in groups}

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __getitem__(self, code: str) -> Agency:
        return self._by_code[code]

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    @property
    def codes(self) -> list[str]:
        return list(self._by_code)

    @property
    def groups(self) -> list[Group]:
        """The declared groups in config order; empty when the agencies are not grouped."""
        return list(self._groups.values())

    def find_group(self, typed: str) -> Group | None:
        """The group whose id was typed, whatever its case and the spaces around it."""
        wanted = typed.strip().casefold()
        return next((g for g in self._groups.values() if g.id.casefold() == wanted), None)

    def grouped(self, codes: Sequence[str]) -> list[tuple[Group | None, list[str]]]:
        """``codes`` split by group, groups in config order, each group's codes in config order.

        Groups without any of ``codes`` are left out; agencies without a group come last under
        None. Without declared groups: one entry, (None, every code).
        """
        wanted = set(codes)
        parts: dict[str | None, list[str]] = {group: [] for group in self._groups}
        parts[None] = []
        for agency in self:
            if agency.code in wanted:
                parts[agency.group if agency.group in self._groups else None].append(agency.code)
        return [
            (None if key is None else self._groups[key], found)
            for key, found in parts.items()
            if found
        ]

    def find(self, typed: str) -> Agency | None:
        """The agency whose code was typed, whatever its case and the spaces around it."""
        wanted = typed.strip().casefold()
        return next((a for a in self if a.code.casefold() == wanted), None)

    def name(self, code: str) -> str:
        """Its name, or the code itself for an agency no longer configured."""
        agency = self._by_code.get(code)
        return agency.name if agency else code

    def within(self, scope: Sequence[str] | None) -> list[str]:
        """The codes in `scope` (None: all), in config order."""
        if scope is None:
            return self.codes
        wanted = set(scope)
        return [code for code in self._by_code if code in wanted]

    def search(self, typed: str) -> list[Agency] | None:
        """The agencies whose name holds the typed words (diacritics and case aside); None when
        the text is no search at all ("Xin chào", a number, an emoji) and found nothing."""
        wanted = fold(typed)
        found = [a for a in self if wanted and wanted in fold(a.name)]
        if not found and (wanted in _GREETINGS or not any(ch.isalpha() for ch in wanted)):
            return None
        return found

"""Who may see which agency's figures: officials' roles and scopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ALL = "*"
Role = Literal["admin", "official"]


@dataclass(frozen=True)
class Official:
    """An official known from the config or registered through an invite."""

    channel: str
    user_id: str
    role: Role
    agencies: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_all(self) -> bool:
        return ALL in self.agencies

    def can_see(self, agency: str) -> bool:
        return self.sees_all or agency in self.agencies

    def may_grant(self, agencies: Sequence[str]) -> bool:
        """Whether this official may hand out access (an invite, a visit) to `agencies`."""
        return within_scope(agencies, self.agencies)

    def scope(self, known: Sequence[str]) -> tuple[str, ...]:
        """The agency codes this official may see, in the configured order."""
        return tuple(code for code in known if self.can_see(code))


def within_scope(wanted: Sequence[str], granted: Sequence[str]) -> bool:
    """Whether the agency codes `wanted` lie within the scope `granted`.

    `*` is within `*` only: a limited scope can never hand out "every agency", not even the
    ones configured later.
    """
    if ALL in granted:
        return True
    return ALL not in wanted and all(code in granted for code in wanted)

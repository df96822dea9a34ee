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

    def scope(self, known: Sequence[str]) -> tuple[str, ...]:
        """The agency codes this official may see, in the configured order."""
        return tuple(code for code in known if self.can_see(code))

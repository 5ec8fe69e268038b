"""A viewer's authority: who may see and do what (the levels, scopes and roles are in
:mod:`ocenter.accounts.levels`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ocenter.accounts.levels import Level, Role, ScopeKind, Tier, highest, tier_of
from ocenter.errors import PermissionDenied

__all__ = ["Authority", "Level", "Role", "ScopeKind", "Tier", "highest"]


class Authority(BaseModel):
    """What one viewer may see, re-read from the database on every page run."""

    username: str = Field(description="The viewer's login name.", examples=["kepala"])
    role: Role = Field(description="The viewer's role in the procedure.")
    clearance: Level = Field(description="Highest confidentiality level the viewer may see.")
    scope: ScopeKind = Field(description="How much of BPOM the viewer's authority covers.")
    unit_code: str | None = Field(
        default=None,
        description="The viewer's own unit (central unit, UPT or agency), if any.",
        examples=["DIT-PKON", "UPT-1100"],
    )
    grants: list[str] = Field(
        default_factory=list,
        description="Dashboard ids explicitly granted to this viewer, beyond their scope.",
    )

    @property
    def tier(self) -> Tier:
        """The kind of stakeholder the viewer is (step 7 sets default data per tier)."""
        return tier_of(self.role)

    def may_see_level(self, level: Level) -> bool:
        """True when the viewer's clearance covers ``level``."""
        return self.clearance.allows(level)


def require_role(actor: Authority, *roles: Role) -> None:
    """Refuse unless ``actor`` has one of ``roles``."""
    if actor.role not in roles:
        raise PermissionDenied("auth.forbidden")

"""Authority rules: the four confidentiality levels in their order, clearance covering exactly
the levels at or below it, and the role check every use case starts with."""

from __future__ import annotations

import pytest

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, ScopeKind, highest
from ocenter.errors import PermissionDenied

ORDER = [Level.TERBUKA, Level.TERBATAS, Level.RAHASIA, Level.SANGAT_RAHASIA]


def test_levels_rank_from_terbuka_to_sangat_rahasia():
    assert [level.rank for level in ORDER] == [1, 2, 3, 4]


@pytest.mark.parametrize("clearance", ORDER)
@pytest.mark.parametrize("level", ORDER)
def test_a_clearance_covers_its_own_level_and_those_below_it_only(clearance, level):
    viewer = Authority(username="x", role=Role.KEPALA, clearance=clearance, scope=ScopeKind.BPOM)
    expected = ORDER.index(level) <= ORDER.index(clearance)
    assert clearance.allows(level) is expected
    assert viewer.may_see_level(level) is expected


def test_the_highest_level_decides_and_nothing_means_terbuka():
    assert highest([]) == Level.TERBUKA
    assert highest([Level.TERBATAS, Level.SANGAT_RAHASIA, Level.RAHASIA]) == Level.SANGAT_RAHASIA
    assert highest([Level.RAHASIA, Level.TERBUKA, Level.TERBATAS]) == Level.RAHASIA


def test_a_role_check_lets_the_named_roles_through_and_refuses_the_rest():
    analis = Authority(username="analis", role=Role.ANALIS, clearance=Level.RAHASIA, scope=ScopeKind.BPOM)
    require_role(analis, Role.ANALIS)
    require_role(analis, Role.VERIFIKATOR, Role.ANALIS)
    for roles in [(Role.VERIFIKATOR,), (Role.ADMIN, Role.KEPALA), ()]:
        with pytest.raises(PermissionDenied) as refused:
            require_role(analis, *roles)
        assert refused.value.key == "auth.forbidden"


def test_a_viewer_without_grants_has_none():
    viewer = Authority(username="deputi", role=Role.DEPUTI, clearance=Level.RAHASIA, scope=ScopeKind.BPOM)
    assert viewer.grants == [] and viewer.unit_code is None

"""The roster's columns: points kept in metres move together when the projection does."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from dispatch_server.domain.roster import Fix, Roster

F64 = npt.NDArray[np.float64]


def shifted(x: F64, y: F64) -> tuple[F64, F64]:
    return x + 100.0, y - 50.0


def test_reproject_moves_fixes_and_homes_and_keeps_no_fix_as_none() -> None:
    roster = Roster(capacity=2)
    roster.add(1, "甲", "G01", 0, (10.0, 20.0))
    roster.add(2, "乙", "G02", 0, (30.0, 40.0))
    roster.add(3, "丙", "G02", 0, (50.0, 60.0))  # grows the columns past their capacity
    roster.set_fix(1, Fix(1.0, 2.0, 5.0, 100.0))
    roster.reproject(shifted)
    assert roster.fix(1) == Fix(101.0, -48.0, 5.0, 100.0)
    assert roster.fix(2) is None and roster.fix(3) is None
    assert math.isnan(roster.fix_x[1]) and math.isnan(roster.fix_y[1])
    homes = list(zip(roster.home_x[:3].tolist(), roster.home_y[:3].tolist(), strict=True))
    assert homes == [(110.0, -30.0), (130.0, -10.0), (150.0, 10.0)]

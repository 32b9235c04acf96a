"""Live state of every member, kept column-wise so ranking reads it in one vectorised pass.

PERFORMANCE-FACTS: for moving responders numpy brute force beats an STRtree up
to a few thousand points (an STRtree is immutable and costly to rebuild), and a
per-member Python loop costs about a microsecond a member. Columns make a
position update O(1) and a ranking over 1,000 members tens of microseconds.
This module holds state only; `responders.rank` decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fix:
    x: float
    y: float
    accuracy_m: float | None
    at: float


class Roster:
    """Who is on shift, connected, busy and where: one row per member, rows never removed."""

    # column name -> (value of an empty row, dtype)
    COLUMNS: ClassVar[dict[str, tuple[object, type]]] = {
        "home_x": (np.nan, np.float64),
        "home_y": (np.nan, np.float64),
        "fix_x": (np.nan, np.float64),
        "fix_y": (np.nan, np.float64),
        "fix_acc": (np.nan, np.float64),
        "fix_at": (-np.inf, np.float64),
        "last_seen": (-np.inf, np.float64),
        "skills": (0, np.int64),
        "on_shift": (False, np.bool_),
        # When the current shift started (NaN: off shift, or not known).
        "shift_since": (np.nan, np.float64),
        "connected": (False, np.bool_),
        "busy": (False, np.bool_),
        # Reporting an open alarm of their own: they need help, they are not asked to give it.
        "in_need": (False, np.bool_),
        "marked_offline": (False, np.bool_),
        # Lone-worker check-ins: the member's rule (NaN: none), last check-in, state.
        "check_in_period": (np.nan, np.float64),
        "check_in_overdue_after": (np.nan, np.float64),
        "last_check_in": (-np.inf, np.float64),
        "check_in_state": (0, np.int64),
    }
    home_x: F64
    home_y: F64
    fix_x: F64
    fix_y: F64
    fix_acc: F64
    fix_at: F64
    last_seen: F64
    skills: npt.NDArray[np.int64]
    on_shift: npt.NDArray[np.bool_]
    shift_since: F64
    connected: npt.NDArray[np.bool_]
    busy: npt.NDArray[np.bool_]
    in_need: npt.NDArray[np.bool_]
    marked_offline: npt.NDArray[np.bool_]  # what the log says (member_offline/online events)
    check_in_period: F64
    check_in_overdue_after: F64
    last_check_in: F64
    check_in_state: npt.NDArray[np.int64]

    def __init__(self, capacity: int = 64) -> None:
        self.ids: list[int] = []
        self.names: list[str] = []
        self.grids: list[str] = []
        self.row: dict[int, int] = {}
        self._capacity = 0
        self._resize(capacity)

    def _resize(self, capacity: int) -> None:
        """Grow every column, keeping the rows there are (amortised O(1) per added member)."""
        for name, (empty, dtype) in self.COLUMNS.items():
            column: npt.NDArray[np.generic] = np.full(capacity, empty, dtype=dtype)
            if self._capacity:
                column[: self._capacity] = getattr(self, name)
            setattr(self, name, column)
        self._capacity = capacity

    def name(self, member_id: int) -> str:
        return self.names[self.row[member_id]] if member_id in self.row else ""

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, member_id: int) -> bool:
        return member_id in self.row

    def add(
        self, member_id: int, name: str, grid_id: str, skills: int, home: tuple[float, float]
    ) -> None:
        if member_id in self.row:
            return
        n = len(self.ids)
        if n == self._capacity:
            self._resize(2 * n)
        self.row[member_id] = n
        self.ids.append(member_id)
        self.names.append(name)
        self.grids.append(grid_id)
        self.home_x[n], self.home_y[n] = home
        self.skills[n] = skills

    def update(
        self, member_id: int, name: str, grid_id: str, skills: int, home: tuple[float, float]
    ) -> None:
        """An administrator changed the member's name, grid or skills (decision 44): the row
        stays where it is, with what ranking and supervision read from it."""
        i = self.row[member_id]
        self.names[i] = name
        self.grids[i] = grid_id
        self.home_x[i], self.home_y[i] = home
        self.skills[i] = skills

    def set_shift(self, member_id: int, on: bool, since: float = np.nan) -> None:
        """On or off shift; `since`: when the shift started (off shift it is forgotten)."""
        i = self.row[member_id]
        self.on_shift[i] = on
        self.shift_since[i] = since if on else np.nan

    def shift_start(self, member_id: int) -> float | None:
        """When the member's current shift started; None off shift or when not known."""
        i = self.row[member_id]
        since = float(self.shift_since[i])
        return since if self.on_shift[i] and not np.isnan(since) else None

    def set_busy(self, member_id: int, busy: bool) -> None:
        self.busy[self.row[member_id]] = busy

    def set_in_need(self, member_id: int, in_need: bool) -> None:
        self.in_need[self.row[member_id]] = in_need

    def link_up(self, member_id: int, now: float) -> None:
        """A frame (or a new connection) from the member: the link is alive now."""
        i = self.row[member_id]
        self.connected[i] = True
        self.last_seen[i] = now

    def link_down(self, member_id: int, now: float) -> None:
        i = self.row[member_id]
        self.connected[i] = False
        self.last_seen[i] = now

    def socket_closed(self, member_id: int, now: float) -> None:
        """The member's socket closed at `now` (the handheld hung up, the link dropped, or
        this server closed it). A closing socket is not a frame heard: a live link gets the
        grace time from the drop (a drop shorter than it changes nothing), but a member
        already marked offline stays as silent as they were. (Resetting their silence made
        supervision mark a mute handheld "back online" the moment its socket closed, by a
        server shutdown in the duty-day soak.)"""
        i = self.row[member_id]
        if self.marked_offline[i]:
            self.connected[i] = False
        else:
            self.link_down(member_id, now)

    def set_marked_offline(self, member_id: int, offline: bool) -> None:
        self.marked_offline[self.row[member_id]] = offline

    def set_fix(self, member_id: int, fix: Fix) -> None:
        i = self.row[member_id]
        self.fix_x[i], self.fix_y[i], self.fix_at[i] = fix.x, fix.y, fix.at
        self.fix_acc[i] = np.nan if fix.accuracy_m is None else fix.accuracy_m

    def reproject(self, move: Callable[[F64, F64], tuple[F64, F64]]) -> None:
        """Every point kept in metres (fixes, home points) moved by `move(x, y)`, column-wise:
        a new grid set may centre the projection elsewhere (decision 45). No fix (NaN)
        stays no fix."""
        n = len(self.ids)
        self.fix_x[:n], self.fix_y[:n] = move(self.fix_x[:n], self.fix_y[:n])
        self.home_x[:n], self.home_y[:n] = move(self.home_x[:n], self.home_y[:n])

    def fix(self, member_id: int) -> Fix | None:
        i = self.row[member_id]
        if not np.isfinite(self.fix_at[i]):
            return None
        acc = float(self.fix_acc[i])
        return Fix(
            float(self.fix_x[i]),
            float(self.fix_y[i]),
            None if np.isnan(acc) else acc,
            float(self.fix_at[i]),
        )

    def offline(self, now: float, offline_after_s: float) -> npt.NDArray[np.bool_]:
        """On shift and silent longer than the grace time: nothing heard, whether the socket
        closed or hangs half-open. A brief drop is not offline."""
        n = len(self.ids)
        return self.on_shift[:n] & (now - self.last_seen[:n] > offline_after_s)

"""Grid sets: checking an uploaded grid file, applying it, and putting the map it makes into
service on every instance (decision 45).

An apply is one writer transaction (the `grid_set` row, the grid rows, the
`grids_applied` event); then this instance swaps its spatial index and asks the others to
do the same (`cluster.reload(ctx, "grids")`: each reads the newest grid set). The
projection is centred on the grids, so a new set may move its origin: every position the
roster keeps in metres is carried over to the new projection, so no member jumps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.domain.grid_sets import Current, Diff, canonical_sha256, diff, report
from dispatch_server.domain.incidents import Status
from dispatch_server.geo.check import CollectionCheck, check_collection
from dispatch_server.geo.grids import Grid, GridLoadError, grids_from_collection, load_grids
from dispatch_server.geo.index import GridIndex
from dispatch_server.services import cluster
from dispatch_server.services.context import Context
from dispatch_server.settings import Settings
from dispatch_server.store.engine import make_engine
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import (
    CHECK_IN_RULE,
    ESCALATION_RULE,
    GRID,
    GRID_SET,
    INCIDENT,
    MEMBER,
    PARTNER,
    ROSTER_SLOT,
)

log = logging.getLogger(__name__)

GRIDS = "grids"  # the reload's name (ctx.reloads, cluster notices)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Applied:
    """What a PUT did: `applied` False when nothing was written (refused, or nothing new);
    `grid_set_id` the set now in service (None: the map still comes from the file)."""

    grid_set_id: int | None
    report: dict[str, Any]
    applied: bool


@dataclass(frozen=True)
class GridSet:
    """An applied grid set as stored (geojson left out where only the head is read)."""

    grid_set_id: int
    sha256: str
    applied_at: float
    applied_by: str


# Reading what is in service and what needs it


def current_grids(conn: Connection) -> dict[str, Current]:
    """The grids in service, as the grid table keeps them (retired ones left out)."""
    rows = conn.execute(
        select(GRID.c.id, GRID.c.feature, GRID.c.name_zh, GRID.c.name_en)
        .where(GRID.c.retired_at.is_(None))
        .order_by(GRID.c.id)
    )
    return {r.id: Current(r.feature, r.name_zh, r.name_en) for r in rows}


# What can keep a grid from being removed, each as (kind, the grid's column, the id
# column, and which rows count); partners are read apart (their grids are a JSON list).
NEEDS: tuple[tuple[str, Any, Any, Any], ...] = (
    ("members", MEMBER.c.grid_id, MEMBER.c.id, MEMBER.c.deactivated_at.is_(None)),
    (
        "open_incidents",
        INCIDENT.c.grid_id,
        INCIDENT.c.id,
        INCIDENT.c.status != Status.RESOLVED.value,
    ),
    ("roster", ROSTER_SLOT.c.grid_id, ROSTER_SLOT.c.member_id, None),
    ("check_in_rules", CHECK_IN_RULE.c.grid_id, CHECK_IN_RULE.c.id, None),
    ("escalation_rules", ESCALATION_RULE.c.grid_id, ESCALATION_RULE.c.id, None),
)


def needs(conn: Connection, grid_ids: list[str]) -> dict[str, dict[str, list[Any]]]:
    """For each grid: what still needs it, by kind (decision 45), as ids."""
    found: dict[str, dict[str, list[Any]]] = {g: {} for g in grid_ids}
    if not grid_ids:
        return found
    for kind, grid_col, id_col, counts in NEEDS:
        query = select(grid_col, id_col).where(grid_col.in_(grid_ids)).order_by(id_col)
        if counts is not None:
            query = query.where(counts)
        _add(found, kind, [(row[0], row[1]) for row in conn.execute(query)])
    _add(found, "partners", _partners(conn, grid_ids))
    return found


def _add(found: dict[str, dict[str, list[Any]]], kind: str, pairs: list[tuple[str, Any]]) -> None:
    for grid_id, ident in pairs:
        ids = found[grid_id].setdefault(kind, [])
        if ident not in ids:  # a member planned for both shifts is named once
            ids.append(ident)


def _partners(conn: Connection, grid_ids: list[str]) -> list[tuple[str, int]]:
    """Active partners covering the grids (their grids are a JSON list: read and filtered
    here, there are a handful of partners)."""
    rows = conn.execute(
        select(PARTNER.c.id, PARTNER.c.grids)
        .where(PARTNER.c.deactivated_at.is_(None))
        .order_by(PARTNER.c.id)
    )
    wanted = set(grid_ids)
    return [(g, r.id) for r in rows for g in r.grids if g in wanted]


def newest(conn: Connection) -> GridSet | None:
    row = conn.execute(
        select(GRID_SET.c.id, GRID_SET.c.sha256, GRID_SET.c.applied_at, GRID_SET.c.applied_by)
        .order_by(GRID_SET.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else GridSet(row.id, row.sha256, row.applied_at, row.applied_by)


def geojson_of(conn: Connection, grid_set_id: int) -> Any:
    return conn.execute(select(GRID_SET.c.geojson).where(GRID_SET.c.id == grid_set_id)).scalar_one()


def _survey(
    conn: Connection, checked: CollectionCheck
) -> tuple[dict[str, Current], Diff, dict[str, dict[str, list[Any]]]]:
    current = current_grids(conn)
    changes = diff(current, checked)
    return current, changes, needs(conn, changes.removed)


# Checking and applying


async def check(ctx: Context, document: dict[str, Any]) -> dict[str, Any]:
    """The report on an upload; nothing written."""
    checked = await _checked(ctx, document)
    current, changes, needed = await ctx.read(_survey, checked)
    return report(checked, changes, current, needed)


async def _checked(ctx: Context, document: dict[str, Any]) -> CollectionCheck:
    # Off the event loop: a 5 MB file is a few hundred milliseconds of geometry.
    tolerance = ctx.settings.grid_overlap_tolerance_m2
    return await asyncio.to_thread(check_collection, document, tolerance)


async def apply(ctx: Context, document: dict[str, Any], actor: str) -> Applied:
    """Check and apply in one writer transaction (what needs a grid is read again there,
    so nothing registered since the check slips through); then put the new map into
    service here and on every other instance."""
    checked = await _checked(ctx, document)
    sha = canonical_sha256(document)
    done = await ctx.writer.run(lambda tx: _apply(tx, document, sha, checked, actor))
    if done.applied:
        await reload_grids(ctx)
        cluster.reload(ctx, GRIDS)
    return done


def _apply(
    tx: Tx, document: dict[str, Any], sha: str, checked: CollectionCheck, actor: str
) -> Applied:
    current, changes, needed = _survey(tx.conn, checked)
    answer = report(checked, changes, current, needed)
    head = newest(tx.conn)
    if not answer["ok"]:
        return Applied(None, answer, False)
    in_service = head.grid_set_id if head else None
    if changes.empty or (head is not None and head.sha256 == sha):
        return Applied(in_service, answer, False)  # "an identical upload ... nothing written"
    grid_set_id = tx.conn.execute(
        insert(GRID_SET).returning(GRID_SET.c.id),
        {"geojson": document, "sha256": sha, "applied_at": tx.now, "applied_by": actor},
    ).scalar_one()
    keep_grids(tx.conn, checked.grids, tx.now)
    data = {
        "grid_set_id": grid_set_id,
        "sha256": sha,
        "added": changes.added,
        "changed": changes.changed,
        "removed": changes.removed,
    }
    tx.append(NewEvent(EventType.GRIDS_APPLIED, actor, None, data))
    return Applied(grid_set_id, answer, True)


def keep_grids(conn: Connection, grids: Sequence[Grid], now: float) -> None:
    """The grid table in step with a map: its grids upserted (and no longer retired), the
    others retired. Rows are never deleted: incidents and the log name them."""
    have = set(conn.execute(select(GRID.c.id)).scalars())
    for grid in grids:
        row = {
            "name_zh": grid.name_zh,
            "name_en": grid.name_en,
            "kind": grid.kind,
            "feature": grid.feature,
            "retired_at": None,
        }
        if grid.grid_id in have:
            conn.execute(update(GRID).where(GRID.c.id == grid.grid_id), row)
        else:
            conn.execute(insert(GRID), {"id": grid.grid_id, **row})
    ids = [g.grid_id for g in grids]
    conn.execute(
        update(GRID)
        .where(GRID.c.id.not_in(ids), GRID.c.retired_at.is_(None))
        .values(retired_at=now)
    )


# Putting a map into service


def describe(grid_set: GridSet) -> str:
    """How the log line at start and a refusal name a grid set: which, when, by whom."""
    when = iso(grid_set.applied_at)
    return f"grid set {grid_set.grid_set_id} (applied {when} by {grid_set.applied_by})"


def index_of(document: Any, grid_set: GridSet, tolerance_m2: float) -> GridIndex:
    """The spatial index of a stored grid set; GridLoadError naming it when it is broken
    (it was checked when applied: this guards a database edited by hand)."""
    source = describe(grid_set)
    grids = grids_from_collection(document, source)  # names the set and the feature
    try:
        return GridIndex(grids, tolerance_m2)
    except (GridLoadError, ValueError) as err:  # overlaps; a centre too near a pole
        raise GridLoadError(f"{source}: {err}") from None


async def reload_grids(ctx: Context) -> None:
    """Put the newest grid set into service here, if it is newer than the one in service
    (cheap when it is not: the periodic reload calls this every 30 s)."""
    head = await ctx.read(newest)
    if head is None or (ctx.grid_set_id is not None and head.grid_set_id <= ctx.grid_set_id):
        return
    document = await ctx.read(geojson_of, head.grid_set_id)
    tolerance = ctx.settings.grid_overlap_tolerance_m2
    index = await asyncio.to_thread(index_of, document, head, tolerance)
    if ctx.grid_set_id is not None and head.grid_set_id <= ctx.grid_set_id:
        return  # another reload put it (or a newer one) in service meanwhile
    swap(ctx, index, head.grid_set_id)
    log.info("grid set %d is the map now (%d grids)", head.grid_set_id, len(index.grid_ids))


def swap(ctx: Context, index: GridIndex, grid_set_id: int) -> None:
    """The new map in service, at once (no await): the roster's fixes carried over to the
    new projection, home points to the new grids; then every open console is told."""
    old = ctx.grids.projection
    new = index.projection
    roster = ctx.roster
    n = len(roster)

    def move(x: Any, y: Any) -> tuple[Any, Any]:
        lon, lat = old.to_lonlat(x, y)
        return new.to_xy(lon, lat)

    roster.reproject(move)
    for i, grid_id in enumerate(roster.grids[:n]):
        if grid_id in index.grids:
            roster.home_x[i], roster.home_y[i] = index.representative_xy(grid_id)
    ctx.grids = index
    ctx.grid_set_id = grid_set_id
    tell_consoles(ctx, {"type": "grids_changed", "grid_set_id": grid_set_id})


def tell_consoles(ctx: Context, frame: dict[str, Any]) -> None:
    """A notice for every console open here; one whose queue is full misses it (it is far
    behind anyway, and rereads the grids when it reconnects)."""
    for queue in list(ctx.console_notices):
        if not queue.full():
            queue.put_nowait(frame)


@dataclass(frozen=True)
class Map:
    """The map a start serves: the newest applied grid set, else the grid file (decision 45)."""

    grids: GridIndex
    grid_set_id: int | None
    source: str  # for the log line and the CLI: which set (when, by whom), or which file


def choose_grids(engine: Engine, settings: Settings) -> Map:
    """The newest applied grid set when the database has one (DISPATCH_GRIDS is then ignored,
    and the log says so), else the grid file as always. A broken set (it was checked when
    applied, so only a hand-edited database has one) raises GridLoadError naming it."""
    tolerance = settings.grid_overlap_tolerance_m2
    with engine.connect() as conn:
        head = newest(conn)
        document = None if head is None else geojson_of(conn, head.grid_set_id)
    if head is None:
        grids = GridIndex(load_grids(settings.grids), tolerance)
        return Map(grids, None, str(settings.grids))
    source = describe(head)
    log.info(
        "grids: %s is the map; DISPATCH_GRIDS (%s) is ignored while the database has an "
        "applied grid set (upload the file again to go back to it)",
        source,
        settings.grids,
    )
    return Map(index_of(document, head, tolerance), head.grid_set_id, source)


def choose_grids_at(settings: Settings) -> Map:
    """`choose_grids` on an engine of its own (the CLI's check before it serves)."""
    engine = make_engine(settings.database_url)
    try:
        return choose_grids(engine, settings)
    finally:
        engine.dispose()

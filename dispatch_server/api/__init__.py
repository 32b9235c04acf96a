"""The REST API: one router per resource. A new resource's router goes in ROUTERS."""

from __future__ import annotations

from dispatch_server.api import (
    admin,
    alarms,
    cards,
    check_ins,
    console,
    devices,
    grids,
    health,
    incidents,
    media,
    members,
    metrics,
    partners,
    roll_calls,
    shifts,
    watch,
)

ROUTERS = tuple(
    module.router
    for module in (
        admin,
        alarms,
        cards,
        check_ins,
        console,
        devices,
        grids,
        health,
        incidents,
        media,
        members,
        metrics,
        partners,
        roll_calls,
        shifts,
        watch,
    )
)

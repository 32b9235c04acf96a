"""The REST API: one router per resource. A new resource's router goes in ROUTERS."""

from __future__ import annotations

from dispatch_server.api import (
    accounts,
    admin,
    administrators,
    alarms,
    audit,
    cards,
    check_ins,
    console,
    devices,
    drills,
    grids,
    health,
    incidents,
    kpis,
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
        accounts,
        admin,
        administrators,
        alarms,
        audit,
        cards,
        check_ins,
        console,
        devices,
        drills,
        grids,
        health,
        incidents,
        kpis,
        media,
        members,
        metrics,
        partners,
        roll_calls,
        shifts,
        watch,
    )
)

"""The shift roster: planned slots with each member's live status."""

from __future__ import annotations

from tests.support.servers import Running


async def test_plan_and_see_who_is_on(server: Running) -> None:
    a = await server.api.member("早班甲", "G04")
    b = await server.api.member("早班乙", "G04")
    c = await server.api.member("晚班丙", "G04")
    d = await server.api.dispatcher()
    async with server.api.client(server.api.admin_token) as api:
        assert (
            await api.put(
                "/api/roster/G04/morning", json={"member_ids": [a["member_id"], b["member_id"]]}
            )
        ).status_code == 200
        assert (
            await api.put("/api/roster/G04/evening", json={"member_ids": [c["member_id"]]})
        ).status_code == 200
        assert (
            await api.put("/api/roster/G99/morning", json={"member_ids": []})
        ).status_code == 404
        assert (await api.put("/api/roster/G04/night", json={"member_ids": []})).status_code == 422
        assert (
            await api.put("/api/roster/G04/morning", json={"member_ids": [999]})
        ).status_code == 404
    on = await server.handheld(a["token"]).connect()
    await on.start_shift()
    roster = await server.api.get("/api/roster", d["token"])
    assert len(roster) == 20  # ten grids, two shifts
    slot = {(s["grid_id"], s["shift"]): s["members"] for s in roster}
    morning = {m["name"]: m for m in slot[("G04", "morning")]}
    assert set(morning) == {"早班甲", "早班乙"}
    assert morning["早班甲"]["on_shift"] and morning["早班甲"]["connected"]
    assert not morning["早班乙"]["on_shift"] and not morning["早班乙"]["connected"]
    assert [m["name"] for m in slot[("G04", "evening")]] == ["晚班丙"]
    assert slot[("G05", "morning")] == []
    async with server.api.client(d["token"]) as api:  # a dispatcher reads but does not plan
        assert (
            await api.put("/api/roster/G04/morning", json={"member_ids": []})
        ).status_code == 403
    async with server.api.client(a["token"]) as api:
        assert (await api.get("/api/roster")).status_code == 403

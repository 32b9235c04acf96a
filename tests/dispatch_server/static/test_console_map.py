"""The console's map in real Chromium (issue 12, "a map that stays the main thing").

The map keeps half the page with an incident open; no two words on it cover each other at
the default zoom (the sample grids and a crowded fixture, 1280×800 and 1920×1080, Chinese and
English); zoom and pan; the open incident's responders are marked with a line and the
distance; a category has one colour and symbol on the card, the panel and the map; tiles in
GCJ-02 are moved under the WGS-84 grids. Screenshots: test-artifacts/screenshots/map-*.png.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tests.support.browser import ConsolePage, console_page
from tests.support.servers import Running, free_port, in_process, settings_for

CROWDED = Path(__file__).with_name("crowded_grids.geojson")
SIZES = ((1280, 800), (1920, 1080))

# Everything written on the map and every mark, in CSS pixels, as the browser laid them out.
LAYOUT = """() => {
  const svg = document.getElementById('map');
  const at = (e) => { const r = e.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const all = (sel, kind) => [...svg.querySelectorAll(sel)].map((e) => ({kind, text: e.textContent,
    id: e.dataset.grid ?? e.dataset.member ?? e.closest('[data-incident]')?.dataset.incident,
    ...at(e)}));
  const m = window.dispatchConsole.map;
  return {
    svg: at(svg), tools: at(document.querySelector('.map-tools')),
    words: [...all('.grid-label', 'grid'), ...all('.member-name', 'name'),
      ...all('.inc-tag', 'tag')],
    marks: [...all('.incident .dot', 'incident'), ...all('circle.member', 'member')],
    view: {...m.view}, fitted: m.fitted, page: window.innerWidth,
  };
}"""


def _overlap(a: dict[str, Any], b: dict[str, Any], slack: float = 0.5) -> bool:
    return (
        a["x"] + slack < b["x"] + b["w"]
        and b["x"] + slack < a["x"] + a["w"]
        and a["y"] + slack < b["y"] + b["h"]
        and b["y"] + slack < a["y"] + a["h"]
    )


def _within(inner: dict[str, Any], outer: dict[str, Any], slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
        and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack
    )


async def settled(page: ConsolePage) -> None:
    """The map has drawn at its present size (after a resize, a language switch, a click)."""
    await page.wait_js(
        "(() => { const m = window.dispatchConsole.map, s = document.getElementById('map');"
        " return m && m.size && m.size[0] === s.clientWidth && m.size[1] === s.clientHeight; })()"
    )
    await page.js("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def layout(page: ConsolePage) -> dict[str, Any]:
    await settled(page)
    return dict(await page.js(LAYOUT))


def assert_nothing_covered(shown: dict[str, Any], where: str) -> None:
    words, marks = shown["words"], shown["marks"]
    for a, b in itertools.combinations(words, 2):
        assert not _overlap(a, b), f"{where}: {a} overlaps {b}"
    for w in words:
        assert _within(w, shown["svg"]), f"{where}: {w} is cut off by the map's edge"
        assert not _overlap(w, shown["tools"]), f"{where}: {w} is under the zoom buttons"
        for m in marks:
            if m["kind"] == "incident" and w["kind"] != "tag":
                assert not _overlap(w, m), f"{where}: {w} covers the mark {m}"
    for m in marks:
        if m["kind"] == "incident":
            for w in words:
                if w["kind"] == "grid":
                    assert not _overlap(w, m), f"{where}: {w} is under the incident {m}"


async def to_lang(page: ConsolePage, lang: str) -> None:
    if await page.js("document.documentElement.lang") != ("zh-CN" if lang == "zh" else "en"):
        await page.page.click("#lang")
    await page.wait_js(f"document.documentElement.lang === '{'zh-CN' if lang == 'zh' else 'en'}'")


async def open_incident(page: ConsolePage, incident_id: int) -> None:
    await page.page.click(f'#queue .card[data-incident="{incident_id}"]')
    await page.page.locator(f'#panel h2:has-text("#{incident_id} ")').wait_for()


async def close_panel(page: ConsolePage) -> None:
    await page.page.click("#panel-close")
    await page.page.locator("#panel").wait_for(state="hidden")


async def check_labels(page: ConsolePage, incident_id: int, name: str) -> dict[str, int]:
    """Every size and language, panel closed and open: nothing covers anything. Returns the
    number of grid labels shown in each case."""
    counts = {}
    for (width, height), lang in itertools.product(SIZES, ("zh", "en")):
        await page.page.set_viewport_size({"width": width, "height": height})
        await to_lang(page, lang)
        for panel in (False, True):
            if panel:
                await open_incident(page, incident_id)
            where = f"{name} {width}x{height} {lang} panel={'open' if panel else 'closed'}"
            shown = await layout(page)
            assert shown["fitted"], where  # the default zoom: the whole area
            assert_nothing_covered(shown, where)
            counts[where] = sum(1 for w in shown["words"] if w["kind"] == "grid")
            if panel:
                assert shown["svg"]["w"] >= shown["page"] / 2, (where, shown["svg"])
                await close_panel(page)
    return counts


async def test_labels_never_cover_each_other_on_the_sample_grids(server: Running) -> None:
    """At 1280×800 G09's and G10's names were drawn over each other, incident marks covered
    grid names, and English names ran off the map at 1920×1080."""
    duty = await server.api.dispatcher("张阿姨")
    grids = {f["id"]: f for f in (await server.api.get("/api/grids", duty["token"]))["features"]}
    reporter = await server.handheld((await server.api.member("王大爷", "G09"))["token"]).connect()
    walker = await server.handheld((await server.api.member("李医生", "G10"))["token"]).connect()
    lon, lat = grids["G09"]["properties"]["label_point"]
    await walker.start_shift(*grids["G10"]["properties"]["label_point"])
    # Raised right on G09's label point: the mark and the name must make room for each other.
    incident_id = (await reporter.alarm(category="fire", lon=lon, lat=lat))["incident_id"]
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        await page.page.locator(f'#map .incident[data-incident="{incident_id}"]').wait_for()
        counts = await check_labels(page, incident_id, "sample")
    # The sample's ten grids all keep at least their id at every size.
    assert all(n == 10 for n in counts.values()), counts


async def test_crowded_small_grids_shorten_or_hide_labels_and_zoom_brings_them_back(
    tmp_path: Path, database_url: str
) -> None:
    """24 courtyards of 50 × 45 m beside a park: at the default zoom their names cannot all
    fit. Labels shrink to the grid id, then give way by priority; zooming in brings them back."""
    settings = settings_for(database_url, grids=CROWDED)
    async with in_process(settings) as server:
        duty = await server.api.dispatcher()
        grids = {
            f["id"]: f for f in (await server.api.get("/api/grids", duty["token"]))["features"]
        }
        reporter = await server.handheld(
            (await server.api.member("Wang", "C08"))["token"]
        ).connect()
        lon, lat = grids["C08"]["properties"]["label_point"]
        incident_id = (await reporter.alarm(category="theft", lon=lon, lat=lat))["incident_id"]
        for i, grid in enumerate(("C01", "C02", "C09", "P1")):
            h = await server.handheld(
                (await server.api.member(f"巡逻{i}", grid))["token"]
            ).connect()
            glon, glat = grids[grid]["properties"]["label_point"]
            await h.start_shift(glon + 0.00005 * i, glat)
        async with console_page(server.base) as page:
            await page.sign_in(duty["token"])
            await page.page.locator(f'#map .incident[data-incident="{incident_id}"]').wait_for()
            counts = await check_labels(page, incident_id, "crowded")
            assert min(counts.values()) >= 4, counts  # the big grids at least
            await page.screenshot("map-crowded-1920x1080-en")

            # Zoom and pan: the wheel (about the pointer), the big buttons, a drag; "fit all".
            await page.page.set_viewport_size({"width": 1280, "height": 800})
            await open_incident(page, incident_id)
            before = await layout(page)
            mark = next(m for m in before["marks"] if m["kind"] == "incident")
            at = (mark["x"] + mark["w"] / 2, mark["y"] + mark["h"] / 2)
            await page.page.mouse.move(*at)
            for _ in range(3):
                await page.page.mouse.wheel(0, -200)  # in
                await settled(page)
            zoomed = await layout(page)
            assert zoomed["view"]["s"] > 3 * before["view"]["s"] and not zoomed["fitted"]
            assert_nothing_covered(zoomed, "crowded zoomed in")
            mark = next(m for m in zoomed["marks"] if m["kind"] == "incident")
            assert abs(mark["x"] + mark["w"] / 2 - at[0]) < 3, "it zooms about the pointer"

            def courtyards(shown: dict[str, Any]) -> list[str]:
                return [
                    w["text"] for w in shown["words"] if w["kind"] == "grid" and w["id"][0] == "C"
                ]

            assert len(courtyards(zoomed)) > len(courtyards(before)), (zoomed, before)
            assert any("Courtyard" in w for w in courtyards(zoomed)), "names come back near"
            s = zoomed["view"]["s"]
            await page.page.click(".map-tools .zoom-out")
            assert abs((await layout(page))["view"]["s"] * 1.6 - s) < 1e-6 * s
            await page.page.click(".map-tools .zoom-in")
            assert abs((await layout(page))["view"]["s"] - s) < 1e-6 * s
            start = await layout(page)
            await page.page.mouse.move(at[0], at[1] + 40)
            await page.page.mouse.down()
            await page.page.mouse.move(at[0] + 120, at[1] + 100, steps=5)
            await page.page.mouse.up()
            moved = await layout(page)
            assert abs((start["view"]["cx"] - moved["view"]["cx"]) * moved["view"]["s"] - 120) < 2
            assert abs((start["view"]["cy"] - moved["view"]["cy"]) * moved["view"]["s"] - 60) < 2
            await page.screenshot("map-crowded-zoomed-1280x800-en")
            await page.page.click(".map-tools .zoom-fit")
            assert (await layout(page))["fitted"]
            # The buttons are big enough for an unsteady hand.
            sizes = await page.page.locator(".map-tools button").evaluate_all(
                "bs => bs.map(b => b.getBoundingClientRect()).map(r => [r.width, r.height])"
            )
            assert all(w >= 44 and h >= 44 for w, h in sizes), sizes


COLOURS = """(id) => {
  const paint = (e) => e
    && getComputedStyle(e)[e instanceof SVGElement ? 'fill' : 'backgroundColor'];
  const mark = document.querySelector(`#map .incident[data-incident="${id}"]`);
  return {
    card: paint(document.querySelector(`#queue .card[data-incident="${id}"] .cat-icon`)),
    panel: paint(document.querySelector('#panel h2 .cat-icon')),
    map: paint(mark?.querySelector('.dot')),
    tag: mark?.querySelector('.inc-tag text')?.textContent,
    symbols: [
      document.querySelector(`#queue .card[data-incident="${id}"] .cat-icon svg`)?.innerHTML,
      document.querySelector('#panel h2 .cat-icon svg')?.innerHTML,
      [...(mark?.querySelectorAll('.cat-glyph path') ?? [])]
        .map((p) => p.getAttribute('d')).join('|'),
    ],
  };
}"""


async def test_responders_marked_numbers_and_category_colours_match_with_screenshots(
    server: Running,
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    token = duty["token"]
    grids = {f["id"]: f for f in (await server.api.get("/api/grids", token))["features"]}

    def near(grid: str, dlon: float = 0.0, dlat: float = 0.0) -> tuple[float, float]:
        lon, lat = grids[grid]["properties"]["label_point"]
        return lon + dlon, lat + dlat

    people = [
        ("李医生", "G03", ["medical"], near("G03", 0.0009, -0.0003)),
        ("赵保安", "G04", ["security"], near("G04", -0.0004, 0.0004)),
        ("王阿姨", "G02", [], near("G02", 0.0006, 0.0002)),
        ("陈师傅", "G08", [], near("G08", 0.0003, 0.0003)),
        ("Tom Li", "G05", [], near("G05", -0.0004, -0.0002)),
        ("刘大姐", "G07", [], near("G07")),
        ("周老师", "G10", [], near("G10", 0.0002, 0.0002)),
    ]
    members = {}
    for person, grid, skills, at in people:
        m = await server.api.member(person, grid, skills)
        h = await server.handheld(m["token"]).connect()
        await h.start_shift(*at)
        members[person] = m
    await server.handheld((await server.api.member("孙阿姨", "G06"))["token"]).connect()  # no fix
    alarms = [
        ("medical", "G03", near("G03", 0.0004, 0.0001)),
        ("fire", "G05", near("G05")),
        ("theft", "G08", near("G08", -0.0005)),
        ("other", "G01", near("G01")),
        ("violence", "G09", near("G09")),
    ]
    ids = {}
    for category, grid, (lon, lat) in alarms:
        r = await server.handheld(
            (await server.api.member(f"报警人{grid}", grid))["token"]
        ).connect()
        ids[category] = (await r.alarm(category=category, lon=lon, lat=lat))["incident_id"]

    async with console_page(server.base) as page:
        await page.sign_in(token)
        await page.wait_js(f"document.querySelectorAll('#map .incident').length === {len(alarms)}")
        seen = {}
        for category, incident_id in ids.items():
            await open_incident(page, incident_id)
            await settled(page)
            c = await page.js(f"({COLOURS})({incident_id})")
            assert c["card"] == c["panel"] == c["map"] and c["card"], (category, c)
            assert c["symbols"][0] == c["symbols"][1] and c["symbols"][2], (category, c)
            assert c["tag"] == f"#{incident_id}", c
            seen[category] = c["card"]
        assert len(set(seen.values())) == len(seen), seen  # a fire never looks like "other"

        # The medical alarm: its suggested responders are ringed and joined to it with the
        # distance; once dispatched, the ring and line say so.
        medical = ids["medical"]
        await open_incident(page, medical)
        doctor = members["李医生"]["member_id"]
        await page.page.locator(f'#map .halo.suggested[data-member="{doctor}"]').wait_for()
        suggested = await page.js(
            "window.dispatchConsole.detail.suggested"
            ".map((r) => [r.member_id, Math.round(r.distance_m)])"
        )
        assert suggested and suggested[0][0] == doctor, suggested
        for member_id, _ in suggested:
            await page.page.locator(
                f'#map line.link.suggested[data-member="{member_id}"]'
            ).wait_for()
        for member_id, metres in suggested:
            said = page.page.locator(f'#map .member-name[data-member="{member_id}"]')
            assert await said.locator(".distance").text_content() == f" {metres} 米"
        doctor_said = page.page.locator(f'#map .member-name[data-member="{doctor}"]')
        assert await doctor_said.text_content() == f"李医生 {suggested[0][1]} 米"
        await page.page.locator(f'#panel input[data-member="{doctor}"]').check()
        await page.page.locator("#panel #dispatch").click()
        await page.page.locator(
            f'#map .halo.dispatched.reply-pending[data-member="{doctor}"]'
        ).wait_for()
        await page.page.locator(f'#map line.link.dispatched[data-member="{doctor}"]').wait_for()

        for (width, height), lang in itertools.product(SIZES, ("zh", "en")):
            await page.page.set_viewport_size({"width": width, "height": height})
            await to_lang(page, lang)
            await page.js("document.getElementById('panel').scrollTop = 0")
            shown = await layout(page)
            assert_nothing_covered(shown, f"{width}x{height} {lang}")
            assert shown["svg"]["w"] >= width / 2, shown["svg"]
            if lang == "en":
                assert await doctor_said.text_content() == f"李医生 {suggested[0][1]} m"
            await page.screenshot(f"map-{width}x{height}-{lang}")


GCJ_VECTORS = """async () => {
  const g = await import('/static/js/gcj02.js');
  // Published WGS-84 → GCJ-02 pairs (eviltransform's test vectors), as [lon, lat].
  const pairs = [
    [[121.5272106, 31.1774276], [121.531541859215, 31.17530398364597]],   // Shanghai
    [[113.912316, 22.543847], [113.9171764808363, 22.540796131694766]],    // Shenzhen
    [[116.377817, 39.911954], [116.38404722455657, 39.91334545536069]],    // Beijing
  ];
  const off = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  const forward = pairs.map(([w, c]) => off(g.wgsToGcj(...w), c));
  const back = pairs.map(([w, c]) => off(g.gcjToWgs(...c), w));
  const paris = [2.3522, 48.8566];
  return {forward, back, paris: g.wgsToGcj(...paris), paris_back: g.gcjToWgs(...paris)};
}"""

# Where the tile showing point P (its pixel for GCJ(P)) is drawn, against P's own place.
TILE_UNDER = """async ([lon, lat]) => {
  const g = await import('/static/js/gcj02.js');
  const {project} = await import('/static/js/map.js');
  const m = window.dispatchConsole.map;
  const image = document.querySelector('#map image');
  const z = Number(image.dataset.tile.split('/')[0]);
  const size = 256 * 2 ** (18 - z);
  const datum = m.tileDatum === 'gcj02' ? g.wgsToGcj : (x, y) => [x, y];
  const [gx, gy] = project(...datum(lon, lat));
  const [tx, ty] = [Math.floor(gx / size), Math.floor(gy / size)];
  const tile = document.querySelector(`#map image[data-tile="${z}/${tx}/${ty}"]`);
  const box = ['x', 'y', 'width', 'height'].map((k) => Number(tile.getAttribute(k)));
  const shown = [box[0] + (gx / size - tx) * box[2], box[1] + (gy / size - ty) * box[3]];
  const [wx, wy] = project(lon, lat);
  const [gx0, gy0] = m.toScreen([wx, wy]);
  return {shown, expected: [gx0, gy0], shift: [(gx - wx) * m.view.s, (gy - wy) * m.view.s]};
}"""


async def test_gcj02_conversion_and_tiles_moved_under_the_grids(
    tmp_path: Path, database_url: str
) -> None:
    """The conversion, unit-tested in the page against published vectors; and with
    DISPATCH_MAP_TILE_DATUM=gcj02 the tile pixel that shows a place is drawn where the grids
    put that place (with wgs84, the default, tiles are not moved)."""
    tiles_at = free_port()  # nobody listens: the tiles are only placed
    url = f"http://127.0.0.1:{tiles_at}/t/{{z}}/{{x}}/{{y}}.png"
    for datum in ("gcj02", "wgs84"):
        settings = settings_for(database_url, map_tile_url=url, map_tile_datum=datum)
        async with in_process(settings) as srv:
            duty = await srv.api.dispatcher()
            assert (await srv.api.get("/api/console-config", duty["token"]))["tile_datum"] == datum
            async with console_page(srv.base) as page:
                if datum == "gcj02":
                    v = await page.js(GCJ_VECTORS)
                    assert max(v["forward"]) < 1e-9 and max(v["back"]) < 1e-8, v
                    assert v["paris"] == [2.3522, 48.8566] == v["paris_back"], v  # not in China
                await page.sign_in(duty["token"])
                await settled(page)
                placed = await page.js(f"({TILE_UNDER})([113.041186, 28.1332667])")
                if datum == "gcj02":
                    # In Changsha GCJ-02 is some hundreds of metres off: many pixels.
                    assert abs(placed["shift"][0]) + abs(placed["shift"][1]) > 50, placed
                else:
                    assert placed["shift"] == [0, 0], placed
                for shown, expected in zip(placed["shown"], placed["expected"], strict=True):
                    assert abs(shown - expected) < 1.0, (datum, placed)

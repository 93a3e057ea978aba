"""In-process measurements: the reader under the pilot, search, the store, and kiosk memory.

Latency of a key is defined the same way everywhere: from the moment the key event is handed to the driver
(as a terminal driver hands over a key it read) to the end of the first frame that shows the result, that
frame included: composed by Textual and encoded to terminal bytes (headless Textual skips the encoding, so
`FrameProbe` does it and throws the bytes away). Nothing waits for idle or sleeps inside a measurement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.pilot import Pilot

from kreader.content import load_library
from kreader.factory import make_app
from kreader.layout import SectionLayout
from kreader.screens.reader import ReaderScreen
from kreader.settings import Settings
from kreader.store import Store, open_store
from kreader.widgets.section_view import SectionView

SIZE = (100, 40)
KEY_TIMEOUT = 30.0


class FrameProbe:
    """Watches the frames an app paints: which layout and scroll position the section pane drew in each."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.drawn: list[tuple[SectionLayout | None, int]] = []
        """(layout, scroll y) of every `SectionView.render_line` call since the last frame."""
        self.frames = 0
        self.frame_bytes = 0
        self._want: Callable[[list[tuple[SectionLayout | None, int]]], bool] | None = None
        self._hit: asyncio.Future[float] | None = None
        self.cpu: list[float] = []
        """CPU seconds (all threads) of each measured key, beside its wall time: steadier on a busy machine."""
        self._cpu_hit = 0.0
        display = app._display

        def _display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                self.frame_bytes += len(renderable.render_segments(app.console))
            now = time.perf_counter()
            self.frames += 1
            drawn, self.drawn = self.drawn, []
            if (
                self._want is not None
                and self._hit is not None
                and not self._hit.done()
                and self._want(drawn)
            ):
                self._cpu_hit = time.process_time()
                self._hit.set_result(now)

        app._display = _display  # type: ignore[method-assign]

    def watch(self, view: SectionView) -> None:
        """Record what ``view`` draws."""
        render_line = view.render_line

        def _render_line(y: int) -> Any:
            self.drawn.append((view.layout_, round(view.scroll_y)))
            return render_line(y)

        view.render_line = _render_line  # type: ignore[method-assign]

    async def call(
        self,
        action: Callable[[], object],
        want: Callable[[list[tuple[SectionLayout | None, int]]], bool],
    ) -> float:
        """Seconds from scheduling ``action`` on the app's loop (as a key's handler would run) to the end of
        the first frame for which ``want`` holds."""
        loop = asyncio.get_running_loop()
        self._hit = loop.create_future()
        self._want = want
        cpu = time.process_time()
        start = time.perf_counter()
        self.app.call_next(action)
        try:
            end = await asyncio.wait_for(self._hit, KEY_TIMEOUT)
        finally:
            self._want = None
        self.cpu.append(self._cpu_hit - cpu)
        return end - start

    async def key(
        self, key: str, want: Callable[[list[tuple[SectionLayout | None, int]]], bool]
    ) -> float:
        """Seconds from handing ``key`` to the driver to the end of the first frame for which ``want`` holds."""
        loop = asyncio.get_running_loop()
        self._hit = loop.create_future()
        self._want = want
        driver = self.app._driver
        assert driver is not None
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(self.app)
        cpu = time.process_time()
        start = time.perf_counter()
        driver.send_message(event)
        try:
            end = await asyncio.wait_for(self._hit, KEY_TIMEOUT)
        finally:
            self._want = None
        self.cpu.append(self._cpu_hit - cpu)
        return end - start


async def _settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _frame(pilot: Pilot[Any]) -> None:
    """Let the app handle what is pending, finish its animations and paint, without idle waits."""
    app: Any = pilot.app
    await pilot._wait_for_screen()
    await app.animator.wait_until_complete()
    await pilot._wait_for_screen()
    app.screen._on_timer_update()


async def _index_ready(app: Any, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while app.search_index is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the search index was not built")
        await asyncio.sleep(0.02)


@dataclass
class SwitchResult:
    cold: dict[str, list[float]]
    """Section size label -> seconds per switch with the layout cache emptied first."""
    warm: dict[str, list[float]]
    """... with the section's layout already cached."""
    cold_cpu: dict[str, list[float]]
    warm_cpu: dict[str, list[float]]
    routes: dict[str, dict[str, list[float]]] = dataclasses.field(default_factory=dict)
    """Route (contents, link, search result, bookmark) -> size label -> seconds per first visit."""
    routes_cpu: dict[str, dict[str, list[float]]] = dataclasses.field(default_factory=dict)


ROUTES = ("contents", "link", "search result", "bookmark")
"""The other ways into a section: its contents entry (its top), a link to a subsection in its middle, a
search result in its middle, a bookmark half-way down."""


def _route(reader: Any, article: Any, section: Any, route: str) -> Callable[[], object]:
    """What the reader's handler for ``route`` does once the key that chose it arrives."""
    from kreader.store import Bookmark
    from kreader.widgets.contents import Place

    subs = section.subsections
    middle = subs[len(subs) // 2] if subs else None
    if route == "contents":

        def go() -> None:
            reader.remember()
            reader.open_place(Place(article.id, section.id, ""))

        return go
    if route == "link":
        href = f"#{middle.id if middle else section.id}"

        def follow() -> None:
            reader.remember()
            reader.follow_link(href)

        return follow
    if route == "search result":
        count = section.source.lower().count(" the ")
        return lambda: reader.show_match(article.id, section.id, "the", count // 2, 0.0)
    bookmark = Bookmark(0, article.id, section.id, "", 0.5, article.title, section.title, "", 0.0)
    return lambda: reader.open_bookmark(bookmark)


def sized_sections(article: Any, count: int) -> list[Any]:
    """The sections of the sized-sections article in order, after its opening one: for a section kreader
    cuts into parts (over `kreader.content.MAX_PART_CHARS`), its first part, the one a visit opens."""
    whole = [section for section in article.sections if section.part <= 1]
    return whole[len(whole) - count :]


async def section_switch(
    folder: Path, sizes: tuple[int, ...], runs: int, labels: Callable[[int], str]
) -> SwitchResult:
    """``n`` into each section of the sections article, cold (layout cache emptied) and warm."""
    library = load_library(folder)
    article = library.articles[0]
    sections = article.sections
    sized = sized_sections(article, len(sizes))
    cold: dict[str, list[float]] = {}
    warm: dict[str, list[float]] = {}
    cold_cpu: dict[str, list[float]] = {}
    warm_cpu: dict[str, list[float]] = {}
    routes: dict[str, dict[str, list[float]]] = {}
    routes_cpu: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="kbench-store-") as data:
        store = open_store(Path(data))
        app: Any = make_app(library, store, Settings())
        async with app.run_test(size=SIZE) as pilot:
            await _index_ready(app)
            await _settle(pilot)
            probe = FrameProbe(app)
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            view = reader.query_one(SectionView)
            probe.watch(view)
            for n, size in enumerate(sizes):
                target = sized[n]
                previous = sections[sections.index(target) - 1]

                def shows_target(
                    drawn: list[tuple[SectionLayout | None, int]], target: Any = target
                ) -> bool:
                    layout = view.layout_
                    return (
                        reader.section is target
                        and layout is not None
                        and layout.width == view.text_width
                        and any(item[0] is layout for item in drawn)
                    )

                for cached, into, cpu in ((False, cold, cold_cpu), (True, warm, warm_cpu)):
                    for _ in range(runs):
                        if reader.section is not previous:
                            reader.open(article, previous)
                        if cached:
                            app.layouts.get(target, view.text_width, app.palette)
                        await _settle(pilot)
                        gc.collect()
                        if not cached:
                            # Nothing laid out, and no idle-time layout of the neighbours (the reader
                            # may do that) pending: a first visit, as a jump from the contents makes.
                            app.layouts.clear()
                            timer = getattr(reader, "_prefetch_timer", None)
                            if timer is not None:
                                timer.stop()
                        took = await probe.key("n", shows_target)
                        into.setdefault(labels(size), []).append(took)
                        cpu.setdefault(labels(size), []).append(probe.cpu[-1])
                        await _settle(pilot)
                for route in ROUTES:
                    for _ in range(runs):
                        if reader.section is not previous:
                            reader.open(article, previous)
                        await _settle(pilot)
                        gc.collect()
                        app.layouts.clear()
                        timer = getattr(reader, "_prefetch_timer", None)
                        if timer is not None:
                            timer.stop()
                        took = await probe.call(
                            _route(reader, article, target, route), shows_target
                        )
                        routes.setdefault(route, {}).setdefault(labels(size), []).append(took)
                        routes_cpu.setdefault(route, {}).setdefault(labels(size), []).append(
                            probe.cpu[-1]
                        )
                        await _settle(pilot)
        store.close()
    return SwitchResult(cold, warm, cold_cpu, warm_cpu, routes, routes_cpu)


@dataclass
class PageResult:
    first_frame: list[float]
    """Textual's default animation level (as the reader runs): key to the frame showing the whole next page."""
    whole_page: list[float]
    """Animations off (``TEXTUAL_ANIMATIONS=none``): key to the frame showing the whole next page."""
    first_frame_cpu: list[float]
    whole_page_cpu: list[float]
    lines: int


async def page_down(folder: Path, size_index: int, sizes: int, runs: int) -> PageResult:
    """``pagedown`` in a long section, from near its top, at Textual's default animation level and with
    animations off: key to the frame that shows the whole next page.

    ``size_index`` counts the sized sections (``sizes`` of them, after the article's opening section)."""
    library = load_library(folder)
    article = library.articles[0]
    section = sized_sections(article, sizes)[size_index]
    first: list[float] = []
    whole: list[float] = []
    first_cpu: list[float] = []
    whole_cpu: list[float] = []
    lines = 0
    app: Any = make_app(library, Store.in_memory(), Settings())
    async with app.run_test(size=SIZE) as pilot:
        await _index_ready(app)
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        reader.open(article, section)
        await _settle(pilot)
        view = reader.query_one(SectionView)
        assert view.layout_ is not None
        lines = len(view.layout_.lines)
        probe = FrameProbe(app)
        probe.watch(view)
        for level, into, cpu in (("full", first, first_cpu), ("none", whole, whole_cpu)):
            app.animation_level = level
            for run in range(runs):
                view.scroll_to(y=5 + run * 3, animate=False, force=True)
                await _settle(pilot)
                gc.collect()
                start_y = round(view.scroll_y)
                page = view.scrollable_content_region.height

                def paged(
                    drawn: list[tuple[SectionLayout | None, int]],
                    start_y: int = start_y,
                    page: int = page,
                ) -> bool:
                    return any(y >= start_y + page for _, y in drawn)

                into.append(await probe.key("pagedown", paged))
                cpu.append(probe.cpu[-1])
                await _settle(pilot)
    return PageResult(first, whole, first_cpu, whole_cpu, lines)


@dataclass
class SearchResult:
    build: list[float]
    """Seconds to open the index with an empty cache folder (a first start: every file indexed)."""
    build_cpu: list[float]
    build_memory: list[float]
    """Seconds to build the index in memory (the kiosk)."""
    ready: list[float]
    """Seconds to open the index again with nothing changed (a restart), the library just loaded."""
    ready_cpu: list[float]
    queries: dict[str, list[float]]
    sections: int
    hits: dict[str, int]
    cache_bytes: int


QUERIES = (
    "the",  # the most common word
    "ketamine",  # a real word, fairly common
    "k",  # one-letter prefix
    "a",  # one-letter prefix, and a common word
    "t",  # one-letter prefix of the commonest words
    "tra",  # a common syllable prefix
    "receptor dose",  # two words, AND
    '"the treatment"',  # a phrase
    "café",  # accented
    "zzzzqx",  # no match
    "brain memory sleep",  # three words
    "ment",  # prefix of many made-up words
)


def search(folder: Path, build_runs: int, query_runs: int) -> SearchResult:
    """Index build (splitting included, as the app's thread does it: a first start, in a fresh cache
    folder, and in memory), index ready on a restart with nothing changed, and query times."""
    from kreader.search import SearchIndex

    builds: list[float] = []
    builds_cpu: list[float] = []
    memory: list[float] = []
    ready: list[float] = []
    ready_cpu: list[float] = []
    cache_bytes = 0
    index = None
    with tempfile.TemporaryDirectory(prefix="kbench-cache-") as scratch:
        for run in range(build_runs):
            cache = Path(scratch) / f"cache-{run}"
            library = load_library(folder)
            gc.collect()
            cpu = time.process_time()
            start = time.perf_counter()
            index = SearchIndex.open(library, cache)
            builds.append(time.perf_counter() - start)
            builds_cpu.append(time.process_time() - cpu)
            assert index.path is not None, index.messages
            index.close()
            cache_bytes = sum(p.stat().st_size for p in cache.iterdir())
            library = load_library(folder)
            gc.collect()
            start = time.perf_counter()
            SearchIndex.build(library).close()
            memory.append(time.perf_counter() - start)
        cache = Path(scratch) / "cache-0"
        for _ in range(max(build_runs, 5)):
            library = load_library(folder)
            gc.collect()
            cpu = time.process_time()
            start = time.perf_counter()
            index = SearchIndex.open(library, cache)
            ready.append(time.perf_counter() - start)
            ready_cpu.append(time.process_time() - cpu)
            assert index.stats["reindexed"] == 0, index.stats
            index.close()
        index = SearchIndex.open(load_library(folder), cache)
        queries: dict[str, list[float]] = {}
        hits: dict[str, int] = {}
        for query in QUERIES:
            hits[query] = len(index.search(query))  # first use: nothing cached
            for _ in range(query_runs):
                start = time.perf_counter()
                index.search(query)
                queries.setdefault(query, []).append(time.perf_counter() - start)
        sections = len(index)
        index.close()
    return SearchResult(
        builds, builds_cpu, memory, ready, ready_cpu, queries, sections, hits, cache_bytes
    )


def bookmark_add(count: int) -> list[float]:
    """``Store.add`` (commit included) into a real file, one new bookmark each time."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="kbench-store-") as data:
        store = open_store(Path(data))
        assert store.persistent, store.messages
        for n in range(count):
            start = time.perf_counter()
            store.add(
                "article", f"section-{n % 20}", f"anchor-{n}", (n % 97) / 97, "Article", "Section"
            )
            times.append(time.perf_counter() - start)
        store.close()
    return times


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class KioskResult:
    checkpoints: list[tuple[int, int, int, int]]
    """(rotations done, RSS bytes after gc, live objects after gc, layouts cached)."""
    seconds: float
    sections_seen: int


async def kiosk_memory(folder: Path, low: int, high: int) -> KioskResult:
    """Run the attract loop by its own clock: go idle, then ``high`` rotations, measuring after ``low``."""
    library = load_library(folder)
    now = [1000.0]

    def clock() -> float:
        return now[0]

    app: Any = make_app(library, Store.in_memory(), Settings(), kiosk=True, clock=clock)
    checkpoints: list[tuple[int, int, int, int]] = []
    seen: set[str] = set()
    async with app.run_test(size=SIZE) as pilot:
        app.animation_level = "none"  # a 1.2 s scroll per page would need real time to pass
        await _index_ready(app)
        await _settle(pilot)
        now[0] += app.policy.idle_seconds + 1
        app.tick()
        await _settle(pilot)
        assert app.policy.in_attract, "the kiosk did not enter its attract loop"
        started = time.perf_counter()
        for rotation in range(1, high + 1):
            now[0] += app.policy.rotate_seconds
            app.tick()
            await _frame(pilot)
            reader = app.reader()
            if reader.section is not None:
                seen.add(reader.section.id)
            if rotation in (low, high):
                await _settle(pilot)
                gc.collect()
                checkpoints.append(
                    (rotation, _rss(), len(gc.get_objects()), len(app.layouts._cache))
                )
        seconds = time.perf_counter() - started
    return KioskResult(checkpoints, seconds, len(seen))


def _main(argv: list[str]) -> int:
    """``python -m bench.inproc kiosk FOLDER LOW HIGH``: `kiosk_memory` in a process of its own, as JSON.

    Memory is only meaningful in a fresh process: in one that built a 5 MB search index just before, freed
    memory is reused and the RSS would not grow whatever the kiosk kept.
    """
    import json

    if len(argv) != 4 or argv[0] != "kiosk":
        print("usage: python -m bench.inproc kiosk FOLDER LOW HIGH", file=sys.stderr)
        return 2
    result = asyncio.run(kiosk_memory(Path(argv[1]), int(argv[2]), int(argv[3])))
    print(json.dumps(dataclasses.asdict(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

"""``python -m bench``: generate the documents, run every measurement, print the table, write the JSON."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import corpus, inproc, procs
from bench import serve as serve_load
from bench.corpus import KB, MB
from bench.report import Figure, MiB, fmt_value, loadavg, machine, median, notes, table, write_json

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions: the full suite, or the quick one CI runs to prove the suite works."""

    quick: bool
    runs: int
    singles: tuple[int, ...]
    library_size: int
    library_articles: int
    section_sizes: tuple[int, ...]
    anchor_sizes: tuple[int, ...]
    build_runs: int
    query_runs: int
    bookmarks: int
    kiosk: tuple[int, int]
    serve_sessions: int
    """Browsers connecting to `kreader serve` at once (it is started with this many as its maximum)."""
    big_library: tuple[int, int] = (12 * MB, 150)
    """The large library: (bytes, files)."""
    many_sections: tuple[int, int] = (900 * KB, 700)
    """The article of many sections: (bytes, sections)."""

    @property
    def big(self) -> int:
        """The largest single article (1 MB in the full suite)."""
        return self.singles[-1]


FULL = Plan(
    quick=False,
    runs=5,
    singles=(6 * KB, 100 * KB, MB),
    library_size=5 * MB,
    library_articles=50,
    section_sizes=(5 * KB, 25 * KB, 100 * KB),
    anchor_sizes=(6 * KB, 100 * KB),
    build_runs=5,
    query_runs=20,
    bookmarks=200,
    kiosk=(50, 5000),
    serve_sessions=20,
)
QUICK = Plan(
    quick=True,
    runs=1,
    singles=(6 * KB, 100 * KB),
    library_size=500 * KB,
    library_articles=10,
    section_sizes=(5 * KB, 25 * KB),
    anchor_sizes=(6 * KB,),
    build_runs=1,
    query_runs=3,
    bookmarks=50,
    kiosk=(10, 200),
    serve_sessions=3,
    big_library=(MB, 15),
    many_sections=(90 * KB, 70),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="kreader's benchmarks: start-up and memory against the floor (an empty Textual "
        "app) and Textual's MarkdownViewer, key latency, search, bookmarks and kiosk memory.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one run each (CI: proves it works)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="JSON results (default: bench/results.json)"
    )
    parser.add_argument("--runs", type=int, help="runs per timing (default: 5, quick: 1)")
    parser.add_argument(
        "--with-1mb-markdownviewer",
        action="store_true",
        help="also time MarkdownViewer on the 1 MB article (one run; takes minutes)",
    )
    parser.add_argument(
        "--keep", type=Path, help="write the generated documents here and keep them"
    )
    parser.add_argument(
        "--only",
        choices=("start", "keys", "search", "store", "kiosk", "serve"),
        action="append",
        help="run only these groups (repeatable); the floor always runs",
    )
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Config:
    """One kind of child process."""

    script: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    fresh_home: bool = False
    """A new home (data and cache folders) for every run: the search index is built each time."""


class Suite:
    def __init__(self, plan: Plan, args: argparse.Namespace, root: Path) -> None:
        self.plan = plan
        self.args = args
        self.root = root
        self.figures: list[Figure] = []
        self.raw: dict[str, Any] = {}
        self.floor_paint = float("nan")
        self.floor_cpu = float("nan")
        self.floor_rss = float("nan")
        self.anchor: dict[str, float] = {}
        self.anchor_rss: dict[str, float] = {}

    def wants(self, group: str) -> bool:
        return not self.args.only or group in self.args.only

    def add(self, fig: Figure) -> None:
        self.figures.append(fig)
        say(f"{fig.name}: {fmt_value(fig.value, fig.unit)}")

    def timing(
        self,
        group: str,
        name: str,
        samples: list[float],
        cpu: list[float] | None = None,
        *,
        limit: float | None = None,
        note: str = "",
    ) -> Figure:
        """A figure for a time in seconds, with its ratios to the floor and, given ``limit``, a verdict."""
        value = median(samples)
        cpu_value = median(cpu) if cpu else None
        fig = Figure(
            group,
            name,
            value,
            "s",
            samples,
            value / self.floor_paint,
            target=f"<= {limit * 1000:g} ms" if limit is not None else "",
            met=value <= limit if limit is not None else None,
            note=note,
            cpu=cpu_value,
            cpu_floor_ratio=cpu_value / self.floor_cpu if cpu_value is not None else None,
        )
        self.add(fig)
        return fig

    def memory(
        self,
        name: str,
        samples: list[float],
        limit: float,
        note: str,
        anchor_rss: float | None = None,
    ) -> Figure:
        """A figure for peak memory in bytes, with its ratio to the floor's and a verdict against ``limit``."""
        value = median(samples)
        ratio = value / self.floor_rss
        fig = Figure(
            "start",
            name,
            value,
            "bytes",
            samples,
            ratio,
            value / anchor_rss if anchor_rss else None,
            f"<= {limit:g} x floor",
            ratio <= limit,
            note=note,
        )
        self.add(fig)
        return fig

    # -- whole processes -------------------------------------------------------------------------

    def processes(self, docs: corpus.Corpus) -> None:
        plan = self.plan
        big = corpus.label(plan.big)
        lib = docs.library_label
        biglib = docs.big_library_label
        many = docs.many_sections_label
        configs: dict[str, Config] = {"floor": Config("floor.py")}
        if self.wants("start"):
            configs["widgets"] = Config("widgets.py")
            for size in plan.anchor_sizes:
                path = str(docs.single[corpus.label(size)] / "article.md")
                configs[f"MarkdownViewer {corpus.label(size)}"] = Config("mdviewer.py", (path,))
            configs["kreader bundled"] = Config("kreader_start.py")
            for size in plan.singles:
                path = str(docs.single[corpus.label(size)])
                configs[f"kreader {corpus.label(size)}"] = Config(
                    "kreader_start.py", ("--content", path)
                )
            configs[f"kreader {big} settled"] = Config(
                "kreader_start.py",
                ("--content", str(docs.single[big])),
                (("BENCH_WAIT_INDEX", "1"),),
            )
            configs[f"kreader {big} settled, first start"] = Config(
                "kreader_start.py",
                ("--content", str(docs.single[big])),
                (("BENCH_WAIT_INDEX", "1"),),
                fresh_home=True,
            )
            configs[f"kreader {big} visit all"] = Config(
                "kreader_start.py",
                ("--content", str(docs.single[big])),
                (("BENCH_VISIT_ALL", "1"),),
            )
            configs[f"kreader {many}"] = Config(
                "kreader_start.py", ("--content", str(docs.many_sections))
            )
            configs[f"kreader library {biglib}"] = Config(
                "kreader_start.py", ("--content", str(docs.big_library))
            )
            configs[f"kreader library {biglib} settled"] = Config(
                "kreader_start.py",
                ("--content", str(docs.big_library)),
                (("BENCH_WAIT_INDEX", "1"),),
                fresh_home=True,
            )
            configs[f"kreader library {lib}"] = Config(
                "kreader_start.py", ("--content", str(docs.library))
            )
            configs[f"kreader library {lib} settled"] = Config(
                "kreader_start.py",
                ("--content", str(docs.library)),
                (("BENCH_WAIT_INDEX", "1"),),
            )
            configs[f"kreader library {lib}, no index"] = Config(
                "kreader_start.py", ("--content", str(docs.library)), (("BENCH_NO_INDEX", "1"),)
            )
            configs[f"kreader library {lib}, quit while indexing"] = Config(
                "kreader_start.py",
                ("--content", str(docs.library)),
                (("BENCH_QUIT_DURING_INDEX", "1"),),
            )
        results: dict[str, list[procs.ProcRun]] = {name: [] for name in configs}
        say(f"processes: {len(configs)} kinds x {plan.runs} runs, after one warm-up round")
        # Runs are interleaved, so a burst of load from elsewhere hits every kind alike. The full suite
        # starts with an unmeasured round: it warms the file cache and creates each data folder.
        warm_up = 0 if plan.quick else 1
        for n in range(plan.runs + warm_up):
            for name, config in configs.items():
                home = self.root / "homes" / name.replace(" ", "-").replace(",", "")
                if config.fresh_home:
                    home = home / f"run-{n}"
                home.mkdir(parents=True, exist_ok=True)
                run = procs.run_driver(config.script, list(config.args), home, dict(config.env))
                if n >= warm_up:
                    results[name].append(run)
        if self.args.with_1mb_markdownviewer and self.wants("start"):
            name = f"MarkdownViewer {big}"
            say(f"{name}: one run (minutes)")
            path = str(docs.single[big] / "article.md")
            results[name] = [procs.run_driver("mdviewer.py", [path], self.root / "homes" / "md")]
        self.raw["processes"] = {
            name: [
                {
                    "paint": r.paint,
                    "exit": r.exit,
                    "peak_rss": r.peak_rss,
                    "paint_rss": r.paint_rss,
                    "cpu": r.cpu,
                    "paint_cpu": r.paint_cpu,
                    "marks": r.marks,
                    "marks_cpu": r.marks_cpu,
                }
                for r in runs
            ]
            for name, runs in results.items()
        }

        def paint(name: str) -> list[float]:
            return [r.paint for r in results[name]]

        def paint_cpu(name: str) -> list[float]:
            return [r.paint_cpu for r in results[name]]

        def rss(name: str) -> list[float]:
            return [float(r.peak_rss) for r in results[name]]

        def paint_rss(name: str) -> list[float]:
            return [float(r.paint_rss) for r in results[name]]

        def exit_note(name: str) -> str:
            return f"process exits {median([r.exit for r in results[name]]):.2f} s after spawn"

        self.floor_paint = median(paint("floor"))
        self.floor_rss = median(rss("floor"))
        self.floor_cpu = median(paint_cpu("floor"))
        self.timing(
            "start",
            "floor (empty Textual app): spawn to first frame",
            paint("floor"),
            paint_cpu("floor"),
            note="the baseline of every 'x floor'; " + exit_note("floor"),
        )
        self.add(Figure("start", "floor: peak memory", self.floor_rss, "bytes", rss("floor"), 1.0))
        if not self.wants("start"):
            return

        self.timing(
            "start",
            "kreader's widgets, no kreader code: spawn to first frame",
            paint("widgets"),
            paint_cpu("widgets"),
            note="diagnostic: Header, Tree, a line-drawing ScrollView and Footer with a dozen "
            "lines (bench/drivers/widgets.py); what those Textual widgets cost over the floor",
        )
        for name in results:
            if not name.startswith("MarkdownViewer"):
                continue
            label = name.removeprefix("MarkdownViewer ")
            fig = self.timing(
                "start",
                f"{name}: spawn to document painted",
                paint(name),
                paint_cpu(name),
                note="the anchor; every block mounted, laid out and painted",
            )
            self.anchor[label] = fig.value
            self.anchor_rss[label] = median(rss(name))
            self.add(
                Figure(
                    "start",
                    f"{name}: peak memory",
                    median(rss(name)),
                    "bytes",
                    rss(name),
                    median(rss(name)) / self.floor_rss,
                )
            )

        def start(name: str, label: str, target: float | None, anchor: str = "") -> Figure:
            fig = self.timing("start", label, paint(name), paint_cpu(name), note=exit_note(name))
            if anchor in self.anchor:
                fig.anchor_ratio = fig.value / self.anchor[anchor]
            if target is not None:
                fig.target = f"<= {target} x floor"
                fig.met = fig.floor_ratio is not None and fig.floor_ratio <= target
            return fig

        start("kreader bundled", "kreader, bundled article: spawn to first frame", 1.15)
        for size in plan.singles:
            label = corpus.label(size)
            start(
                f"kreader {label}",
                f"kreader, {label} article: spawn to first frame",
                1.5 if size == plan.big else None,
                label,
            )
        start(
            f"kreader {many}",
            f"kreader, {many} article: spawn to first frame",
            1.5,
        )
        start(
            f"kreader library {biglib}",
            f"kreader, {biglib} library: spawn to first frame",
            1.5,
        )
        for label, samples, note, limit in (
            (
                f"kreader, {big} article: peak memory, every section visited once",
                rss(f"kreader {big} visit all"),
                "VmHWM after opening each section in turn, one a tick (each laid out once)",
                2.0,
            ),
            (
                f"kreader, {biglib} library: peak memory, search index built",
                rss(f"kreader library {biglib} settled"),
                "VmHWM of a run that ends once the index is built, into an empty cache folder",
                2.5,
            ),
        ):
            self.memory(label, samples, limit, note)
        visits = results[f"kreader {big} visit all"]
        self.timing(
            "start",
            f"kreader, {big} article: every section opened once, first frame to the last",
            [r.marks["visited"] - r.paint for r in visits if "visited" in r.marks],
            note="diagnostic: one section a timer tick; each laid out at the pane's width",
        )
        library_big = results[f"kreader library {biglib} settled"]
        self.timing(
            "start",
            f"kreader, {biglib} library: spawn to search index ready, the first answer (first start)",
            [r.marks["index"] for r in library_big if "index" in r.marks],
            limit=2.0,
            note="an empty cache folder every run: a search typed at once is answered then",
        )
        self.timing(
            "start",
            f"kreader, {biglib} library: search index built after the first frame (first start)",
            [r.marks["index"] - r.paint for r in library_big if "index" in r.marks],
            note="an empty cache folder every run: every file indexed, in a thread",
        )
        for label, samples, note, limit in (
            (
                f"kreader, {big} article: peak memory at first frame",
                paint_rss(f"kreader {big}"),
                "VmHWM when the first frame was painted",
                2.0,
            ),
            (
                f"kreader, {big} article: peak memory, search index built (first start)",
                rss(f"kreader {big} settled, first start"),
                "VmHWM of a run that ends once the index is built, into an empty cache folder "
                "(helper processes build it; their memory is their own)",
                1.5,
            ),
            (
                f"kreader, {big} article: peak memory, search index ready (restart)",
                rss(f"kreader {big} settled"),
                "VmHWM of a run that ends once the index is ready, its cache file made by the run "
                "before",
                1.5,
            ),
        ):
            self.memory(label, samples, limit, note, self.anchor_rss.get(big))
        settled = results[f"kreader {big} settled"]
        self.timing(
            "start",
            f"kreader, {big} article: spawn to search index ready",
            [r.marks.get("index", float("nan")) for r in settled],
            [r.marks_cpu.get("index", float("nan")) for r in settled],
        )

        library_settled = results[f"kreader library {lib} settled"]
        # Every run but the very first (quick suite: its only run) finds the cache of the one before.
        after_paint = [r.marks["index"] - r.paint for r in library_settled if "index" in r.marks]
        self.timing(
            "start",
            f"kreader, {lib} library: search index ready after the first frame (cache warm)",
            after_paint,
            limit=0.100,
            note="a restart with nothing changed: the cache file opened and checked in a thread; "
            "the quick suite's single run builds the cache instead",
        )

        name = f"kreader library {lib}"
        with_index = start(name, f"kreader, {lib} library: spawn to first frame", None)
        without = self.timing(
            "start",
            f"kreader, {lib} library, index never built: spawn to first frame",
            paint(f"{name}, no index"),
            paint_cpu(f"{name}, no index"),
        )
        ratio = with_index.value / without.value
        self.add(
            Figure(
                "start",
                f"kreader, {lib} library: first frame, with / without the index build",
                ratio,
                "x",
                target="<= 1.1 x (not delayed)",
                met=ratio <= 1.1,
                note="a ratio of two noisy medians: see the next line for whether the build can delay "
                "the paint at all",
            )
        )
        starts = [
            r.marks["index_start"] - r.paint
            for kind in (name, f"kreader {big}", f"kreader {big} settled")
            for r in results[kind]
            if "index_start" in r.marks
        ]
        early = sum(1 for delay in starts if delay < 0)
        self.add(
            Figure(
                "start",
                "kreader: index build starts after the first frame (runs with the index started)",
                median(starts),
                "s",
                starts,
                target="> 0 in every run",
                met=bool(starts) and early == 0,
                note=f"started before the first frame in {early} of {len(starts)} runs; runs that end "
                "at the first frame mostly end before the build starts",
            )
        )
        quits = results[f"{name}, quit while indexing"]
        self.timing(
            "start",
            f"kreader, {lib} library: quit while the index builds, to process exit",
            [r.exit - r.marks["quit"] for r in quits if "quit" in r.marks],
            note="the quit is asked for as soon as the index worker runs; the process cannot end "
            "before the worker thread does",
        )

    # -- in-process ------------------------------------------------------------------------------

    def keys(self, docs: corpus.Corpus) -> None:
        plan = self.plan
        say("section switch (pilot)")
        switch = asyncio.run(
            inproc.section_switch(docs.sections, docs.section_sizes, plan.runs, corpus.label)
        )
        self.raw["section_switch"] = {
            "cold": switch.cold,
            "warm": switch.warm,
            "cold_cpu": switch.cold_cpu,
            "warm_cpu": switch.warm_cpu,
            "routes": switch.routes,
            "routes_cpu": switch.routes_cpu,
        }
        kinds = [("first visit (nothing laid out), n", switch.cold, switch.cold_cpu)]
        kinds += [
            (f"first visit, {route}", switch.routes[route], switch.routes_cpu[route])
            for route in inproc.ROUTES
            if route in switch.routes
        ]
        kinds.append(
            ("layout cached (revisit, or n/p after idle prefetch)", switch.warm, switch.warm_cpu)
        )
        for kind, values, cpu in kinds:
            for label, samples in values.items():
                self.timing(
                    "keys",
                    f"section switch to a {label} section, {kind}",
                    samples,
                    cpu[label],
                    limit=0.050,
                )
        say("page down (pilot)")
        biggest = max(range(len(docs.section_sizes)), key=lambda i: docs.section_sizes[i])
        page = asyncio.run(
            inproc.page_down(docs.sections, biggest, len(docs.section_sizes), plan.runs)
        )
        self.raw["page_down"] = {
            "first_frame": page.first_frame,
            "whole_page": page.whole_page,
            "first_frame_cpu": page.first_frame_cpu,
            "whole_page_cpu": page.whole_page_cpu,
            "lines": page.lines,
        }
        size = corpus.label(docs.section_sizes[biggest])
        self.timing(
            "keys",
            f"page down in a {size} section ({page.lines} lines), key to the new page painted",
            page.first_frame,
            page.first_frame_cpu,
            limit=0.016,
            note="Textual's default animation level, as the reader runs: the frame that shows the "
            "whole next page",
        )
        self.timing(
            "keys",
            f"page down in a {size} section, animations off",
            page.whole_page,
            page.whole_page_cpu,
            limit=0.016,
            note="diagnostic: TEXTUAL_ANIMATIONS=none",
        )

    def search(self, docs: corpus.Corpus) -> None:
        plan = self.plan
        lib = docs.library_label
        say(f"search on the {lib} library")
        result = inproc.search(docs.library, plan.build_runs, plan.query_runs)
        self.raw["search"] = {
            "build": result.build,
            "build_cpu": result.build_cpu,
            "build_memory": result.build_memory,
            "ready": result.ready,
            "ready_cpu": result.ready_cpu,
            "queries": result.queries,
            "hits": result.hits,
            "sections": result.sections,
            "cache_bytes": result.cache_bytes,
        }
        self.timing(
            "search",
            f"search index build, {lib} library, first start ({result.sections} sections)",
            result.build,
            result.build_cpu,
            limit=1.0,
            note=f"into an empty cache folder; in the app this runs in a thread after the first "
            f"frame; cache file {result.cache_bytes / MiB:.1f} MiB; in memory (kiosk) "
            f"{median(result.build_memory) * 1000:.0f} ms",
        )
        self.timing(
            "search",
            f"search index ready, {lib} library, restart with nothing changed",
            result.ready,
            result.ready_cpu,
            limit=0.100,
            note="SearchIndex.open on the cache file: every file's content hashed and compared",
        )
        per_query = {query: median(times) for query, times in result.queries.items()}
        self.timing(
            "search",
            f"search query, {lib} library (median of {len(per_query)} queries' medians)",
            list(per_query.values()),
            limit=0.020,
            note=", ".join(f"{q!r} {t * 1000:.1f} ms" for q, t in per_query.items()),
        )
        worst = max(per_query, key=lambda q: per_query[q])
        self.timing(
            "search",
            f"search query, {lib} library, slowest query ({worst!r})",
            result.queries[worst],
            limit=0.020,
        )
        self.search_cli(docs)

    def search_cli(self, docs: corpus.Corpus) -> None:
        """``kreader search WORD`` as a whole process, its cache warm, against ``kreader --version``."""
        lib = docs.library_label
        home = self.root / "homes" / "search-cli"
        home.mkdir(parents=True, exist_ok=True)
        env = procs.child_env(home)
        search = [sys.executable, "-m", "kreader", "search", "--content", str(docs.library), "the"]
        version = [sys.executable, "-m", "kreader", "--version"]

        def timed(command: list[str]) -> float:
            start = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=False)
            return time.perf_counter() - start

        # Files changed in the last seconds are checked by content, not by size and time (they may
        # have changed after they were read): a library just generated would never take the fast
        # path. Its files are dated a minute back, as files not edited just now are.
        a_minute_ago = time.time_ns() - 60 * 1_000_000_000
        for path in docs.library.iterdir():
            os.utime(path, ns=(a_minute_ago, a_minute_ago))
        first = timed(search)  # builds the cache
        runs = max(self.plan.runs, 5)
        searches: list[float] = []
        versions: list[float] = []
        for _ in range(runs):  # interleaved, so load from elsewhere hits both alike
            searches.append(timed(search))
            versions.append(timed(version))
        self.raw["search_cli"] = {"first": first, "search": searches, "version": versions}
        self.timing(
            "search",
            f"kreader search 'the', {lib} library, second call (whole process)",
            searches,
            note=f"first call (cache built) {first * 1000:.0f} ms",
        )
        self.timing("search", "kreader --version (whole process)", versions)
        ratio = median(searches) / median(versions)
        self.add(
            Figure(
                "search",
                "kreader search, second call / kreader --version",
                ratio,
                "x",
                target="<= 2 x",
                met=ratio <= 2,
            )
        )

    def store(self) -> None:
        say("bookmark add")
        times = inproc.bookmark_add(self.plan.bookmarks)
        self.raw["bookmark_add"] = times
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        self.timing(
            "store",
            f"bookmark add, commit included (median of {len(times)})",
            times,
            limit=0.005,
            note=f"SQLite file in a temporary folder; 95th percentile {p95 * 1000:.2f} ms",
        )

    def kiosk(self, docs: corpus.Corpus) -> None:
        low, high = self.plan.kiosk
        say(f"kiosk attract loop: {high} rotations")
        folder = docs.single[corpus.label(100 * KB)]
        home = self.root / "homes" / "kiosk"
        home.mkdir(parents=True, exist_ok=True)
        # A process of its own: this one has just built search indexes, and memory it freed would
        # absorb whatever the kiosk kept without the RSS growing.
        out = subprocess.run(
            [sys.executable, "-m", "bench.inproc", "kiosk", str(folder), str(low), str(high)],
            env={
                **procs.child_env(home),
                "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"kiosk benchmark failed ({out.returncode}):\n{out.stderr[-3000:]}")
        data = json.loads(out.stdout.strip().splitlines()[-1])
        result = inproc.KioskResult(
            [(a, b, c, d) for a, b, c, d in data["checkpoints"]],
            data["seconds"],
            data["sections_seen"],
        )
        self.raw["kiosk"] = {
            "checkpoints": result.checkpoints,
            "seconds": result.seconds,
            "sections_seen": result.sections_seen,
        }
        (_, rss_low, objects_low, cached_low), (_, rss_high, objects_high, cached_high) = (
            result.checkpoints
        )
        growth = float(rss_high - rss_low)
        self.add(
            Figure(
                "kiosk",
                f"kiosk memory growth, {high} vs {low} attract-loop rotations",
                growth,
                "bytes",
                [float(rss_low), float(rss_high)],
                growth / self.floor_rss,
                target="<= 5 MiB",
                met=growth <= 5 * MiB,
                note=f"RSS after gc {rss_low / MiB:.1f} -> {rss_high / MiB:.1f} MiB, live objects "
                f"{objects_low} -> {objects_high}, layouts cached {cached_low} -> {cached_high}; "
                f"{result.sections_seen} sections shown; "
                f"{result.seconds:.1f} s",
            )
        )

    def serve(self) -> None:
        """``kreader serve --kiosk``: N browsers at once, first frame and memory per session, then one too many."""
        n = self.plan.serve_sessions
        try:
            import aiohttp  # noqa: F401  (the serve extra)
            import textual_serve  # noqa: F401
        except ImportError:
            say("serve: skipped, textual-serve is not installed (pip install 'kreader[serve]')")
            return
        say(f"serve: {n} concurrent kiosk sessions on loopback, then session {n + 1}")
        result = serve_load.measure(n, self.root / "homes" / "serve")
        figures = serve_load.summary(result)
        self.raw["serve"] = {**dataclasses.asdict(result), **figures}
        frames = [t for t in result.first_frame if not math.isnan(t)]
        missing = n - len(frames)
        self.add(
            Figure(
                "serve",
                f"serve: {n} sessions at once, time to first frame (median)",
                figures["first_frame_median"],
                "s",
                frames,
                figures["first_frame_median"] / self.floor_paint,
                note=f"slowest {figures['first_frame_max']:.1f} s"
                + (f"; {missing} without a frame" if missing else "")
                + "; from asking for the websocket to the reader's footer arriving",
            )
        )
        self.add(
            Figure(
                "serve",
                f"serve: {n} sessions at once, time to first frame (slowest)",
                figures["first_frame_max"],
                "s",
                frames,
                figures["first_frame_max"] / self.floor_paint,
            )
        )
        self.add(
            Figure(
                "serve",
                f"serve: memory per session, {n} at once (RSS of its app process, median)",
                figures["rss_median"],
                "bytes",
                [float(r) for r in result.rss],
                figures["rss_median"] / self.floor_rss,
                note=f"PSS (shared pages split) {figures['pss_median'] / MiB:.1f} MiB; "
                f"server {result.server_rss / MiB:.1f} MiB; {len(result.rss)} app processes",
            )
        )
        self.add(
            Figure(
                "serve",
                f"serve: session {n + 1} refused (503 page, websocket closed 1013)",
                result.refusal_seconds,
                "s",
                target="refused",
                met=result.refused and result.server_exit == 0,
                note=f"server exit status after SIGTERM: {result.server_exit}"
                + ("; " + "; ".join(result.notes) if result.notes else ""),
            )
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.runs:
        plan = replace(plan, runs=args.runs, build_runs=args.runs)
    started = time.monotonic()
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="kbench-") as scratch:
        root = args.keep or Path(scratch)
        say(f"generating documents in {root}")
        docs = corpus.build(
            root / "docs",
            plan.singles,
            plan.library_size,
            plan.library_articles,
            plan.section_sizes,
            plan.big_library,
            plan.many_sections,
        )
        suite = Suite(plan, args, root)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("start", lambda: suite.processes(docs)),
            ("keys", lambda: suite.keys(docs)),
            ("search", lambda: suite.search(docs)),
            ("store", suite.store),
            ("kiosk", lambda: suite.kiosk(docs)),
            ("serve", suite.serve),
        ]
        for group, step in steps:
            if group == "start" or suite.wants(group):
                step()
        sizes = {
            "singles": {
                corpus.label(s): corpus.folder_bytes(docs.single[corpus.label(s)])
                for s in plan.singles
            },
            "library": corpus.folder_bytes(docs.library),
            "library_articles": plan.library_articles,
            "big_library": corpus.folder_bytes(docs.big_library),
            "big_library_articles": plan.big_library[1],
            "many_sections": corpus.folder_bytes(docs.many_sections),
            "many_sections_count": plan.many_sections[1],
            "sections": list(docs.section_sizes),
        }
    elapsed = time.monotonic() - started
    info = machine()
    load_after = loadavg()
    print(
        f"kreader benchmarks{' (quick)' if plan.quick else ''}: {info['cpu_model']}, "
        f"{info['usable_cpus']} CPUs, Python {info['python']}, Textual {info.get('textual', '?')}; "
        f"median of {plan.runs} run(s); load average {load_before} -> {load_after}; "
        f"{elapsed:.0f} s"
    )
    print()
    print(table(suite.figures))
    print()
    print(notes(suite.figures))
    meta = {
        "quick": plan.quick,
        "runs": plan.runs,
        "machine": info,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "seconds": elapsed,
        "sizes": sizes,
        "raw": suite.raw,
    }
    write_json(args.out, suite.figures, meta)
    say(f"results written to {args.out}")
    return 0

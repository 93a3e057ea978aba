"""``python -m bench``: generate the documents, run every measurement, print the table, write the JSON."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import corpus, inproc, procs
from bench.corpus import KB, MB
from bench.report import Figure, MiB, fmt_value, loadavg, machine, median, table, write_json

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions: the full suite, or the quick one CI runs to prove the suite works."""

    quick: bool
    runs: int
    singles: tuple[int, ...]
    library_size: int
    library_articles: int
    anchor_sizes: tuple[int, ...]
    build_runs: int
    query_runs: int
    bookmarks: int
    kiosk: tuple[int, int]

    @property
    def big(self) -> int:
        """The largest single article (1 MB in the full suite)."""
        return self.singles[-1]


FULL = Plan(
    False, 5, (6 * KB, 100 * KB, MB), 5 * MB, 50, (6 * KB, 100 * KB), 5, 20, 200, (50, 5000)
)
QUICK = Plan(True, 1, (6 * KB, 100 * KB, 200 * KB), MB, 10, (6 * KB,), 1, 3, 50, (10, 200))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="kreader's benchmarks: start-up and memory against the floor (an empty Textual app) and "
        "Textual's MarkdownViewer, key latency, search, bookmarks and kiosk memory.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one run each (CI: proves it works)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT})"
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
        choices=("start", "keys", "search", "store", "kiosk"),
        action="append",
        help="run only these groups (repeatable); the floor always runs",
    )
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


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

    def wants(self, group: str) -> bool:
        return not self.args.only or group in self.args.only

    def add(self, fig: Figure) -> None:
        self.figures.append(fig)
        say(f"{fig.name}: {fmt_value(fig.value, fig.unit)}")

    # -- whole processes ---------------------------------------------------------------------------------

    def processes(self, docs: corpus.Corpus) -> None:
        plan = self.plan
        big = corpus.label(plan.big)
        homes = self.root / "homes"
        configs: dict[str, tuple[str, list[str], dict[str, str]]] = {"floor": ("floor.py", [], {})}
        if self.wants("start"):
            for size in plan.anchor_sizes:
                name = f"MarkdownViewer {corpus.label(size)}"
                configs[name] = (
                    "mdviewer.py",
                    [str(docs.single[corpus.label(size)] / "article.md")],
                    {},
                )
            configs["kreader bundled"] = ("kreader_start.py", [], {})
            for size in plan.singles:
                path = str(docs.single[corpus.label(size)])
                configs[f"kreader {corpus.label(size)}"] = (
                    "kreader_start.py",
                    ["--content", path],
                    {},
                )
            configs[f"kreader {big} settled"] = (
                "kreader_start.py",
                ["--content", str(docs.single[big])],
                {"BENCH_WAIT_INDEX": "1"},
            )
            lib = str(docs.library)
            configs[f"kreader library {docs.library_label}"] = (
                "kreader_start.py",
                ["--content", lib],
                {},
            )
            configs[f"kreader library {docs.library_label}, no index"] = (
                "kreader_start.py",
                ["--content", lib],
                {"BENCH_NO_INDEX": "1"},
            )
        results: dict[str, list[procs.ProcRun]] = {name: [] for name in configs}
        say(f"processes: {len(configs)} configurations x {plan.runs} runs (plus one warm-up each)")
        for n in range(
            plan.runs + 1
        ):  # runs interleaved, so a burst of load hits every configuration alike
            for name, (script, args, env) in configs.items():
                home = homes / name.replace(" ", "-").replace(",", "")
                home.mkdir(parents=True, exist_ok=True)
                run = procs.run_driver(script, args, home, env)
                if n:  # the first round warms the file cache and creates each data folder
                    results[name].append(run)
        if self.args.with_1mb_markdownviewer and self.wants("start"):
            name = f"MarkdownViewer {big}"
            say(f"{name}: one run (minutes)")
            results[name] = [
                procs.run_driver("mdviewer.py", [str(docs.single[big] / "article.md")], homes)
            ]
        self.raw["processes"] = {
            name: [
                {
                    "paint": r.paint,
                    "exit": r.exit,
                    "peak_rss": r.peak_rss,
                    "cpu": r.cpu,
                    "marks": r.marks,
                }
                for r in runs
            ]
            for name, runs in results.items()
        }

        def paint(name: str) -> list[float]:
            return [r.paint for r in results[name]]

        def rss(name: str) -> list[float]:
            return [float(r.peak_rss) for r in results[name]]

        def cpu(name: str) -> list[float]:
            return [r.cpu for r in results[name]]

        self.floor_paint = median(paint("floor"))
        self.floor_rss = median(rss("floor"))
        self.floor_cpu = median(cpu("floor"))
        self.add(
            Figure(
                "start",
                "floor: empty Textual app, spawn to first frame",
                self.floor_paint,
                "s",
                paint("floor"),
                1.0,
                note="the baseline of every 'x floor'",
            )
        )
        self.add(
            Figure(
                "start",
                "floor: CPU time of the whole process",
                self.floor_cpu,
                "s",
                cpu("floor"),
                1.0,
            )
        )
        self.add(Figure("start", "floor: peak memory", self.floor_rss, "bytes", rss("floor"), 1.0))
        if not self.wants("start"):
            return

        for name in results:
            if name.startswith("MarkdownViewer"):
                value = median(paint(name))
                self.anchor[name.removeprefix("MarkdownViewer ")] = value
                self.add(
                    Figure(
                        "start",
                        f"{name}: spawn to fully painted",
                        value,
                        "s",
                        paint(name),
                        value / self.floor_paint,
                    )
                )
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

        def start_figure(
            name: str, label: str, target: float | None, anchor: str | None = None
        ) -> None:
            value = median(paint(name))
            ratio = value / self.floor_paint
            anchor_value = self.anchor.get(anchor or "")
            self.add(
                Figure(
                    "start",
                    label,
                    value,
                    "s",
                    paint(name),
                    ratio,
                    value / anchor_value if anchor_value else None,
                    f"<= {target} x floor" if target else "",
                    ratio <= target if target else None,
                    note=f"CPU {median(cpu(name)) / self.floor_cpu:.2f} x floor's; exit after "
                    f"{median([r.exit for r in results[name]]):.2f} s",
                )
            )

        start_figure("kreader bundled", "kreader, bundled article: spawn to first frame", 1.15)
        for size in plan.singles:
            label = corpus.label(size)
            target = 1.5 if size == plan.big else None
            start_figure(
                f"kreader {label}", f"kreader, {label} article: spawn to first frame", target, label
            )
        for name, label in (
            (f"kreader {big}", f"kreader, {big} article: peak memory to first frame"),
            (f"kreader {big} settled", f"kreader, {big} article: peak memory, search index built"),
        ):
            value = median(rss(name))
            ratio = value / self.floor_rss
            anchor_rss = (
                median(rss(f"MarkdownViewer {big}")) if f"MarkdownViewer {big}" in results else None
            )
            self.add(
                Figure(
                    "start",
                    label,
                    value,
                    "bytes",
                    rss(name),
                    ratio,
                    value / anchor_rss if anchor_rss else None,
                    "<= 2 x floor",
                    ratio <= 2,
                )
            )
        settled = [r.marks.get("index", float("nan")) for r in results[f"kreader {big} settled"]]
        self.add(
            Figure(
                "start",
                f"kreader, {big} article: spawn to search index ready",
                median(settled),
                "s",
                settled,
                median(settled) / self.floor_paint,
            )
        )

        lib_name = f"kreader library {docs.library_label}"
        with_index, without = median(paint(lib_name)), median(paint(f"{lib_name}, no index"))
        start_figure(lib_name, f"kreader, {docs.library_label} library: spawn to first frame", None)
        self.add(
            Figure(
                "start",
                f"kreader, {docs.library_label} library: first frame with / without the index build",
                with_index / without,
                "x",
                [],
                target="<= 1.1 x (not delayed)",
                met=with_index / without <= 1.1,
                note=f"without the index build: {without * 1000:.0f} ms",
            )
        )

    # -- in-process ----------------------------------------------------------------------------------------

    def keys(self, docs: corpus.Corpus) -> None:
        plan = self.plan
        say("section switch (pilot)")
        switch = asyncio.run(
            inproc.section_switch(docs.sections, docs.section_sizes, plan.runs, corpus.label)
        )
        self.raw["section_switch"] = {"cold": switch.cold, "warm": switch.warm}
        for kind, values in (("first visit", switch.cold), ("revisit, layout cached", switch.warm)):
            for label, samples in values.items():
                value = median(samples)
                self.add(
                    Figure(
                        "keys",
                        f"section switch to a {label} section, {kind}",
                        value,
                        "s",
                        samples,
                        value / self.floor_paint,
                        target="<= 50 ms",
                        met=value <= 0.050,
                    )
                )
        say("page down (pilot)")
        biggest = max(range(len(docs.section_sizes)), key=lambda i: docs.section_sizes[i])
        page = asyncio.run(inproc.page_down(docs.sections, biggest, len(docs.section_sizes), plan.runs))
        self.raw["page_down"] = {
            "first_frame": page.first_frame,
            "whole_page": page.whole_page,
            "lines": page.lines,
        }
        size = corpus.label(docs.section_sizes[biggest])
        value = median(page.whole_page)
        self.add(
            Figure(
                "keys",
                f"page down in a {size} section ({page.lines} lines), whole page",
                value,
                "s",
                page.whole_page,
                value / self.floor_paint,
                target="<= 16 ms",
                met=value <= 0.016,
                note="animations off (TEXTUAL_ANIMATIONS=none)",
            )
        )
        value = median(page.first_frame)
        self.add(
            Figure(
                "keys",
                f"page down in a {size} section, first animated frame",
                value,
                "s",
                page.first_frame,
                value / self.floor_paint,
                target="<= 16 ms",
                met=value <= 0.016,
                note="Textual's default scroll animation",
            )
        )

    def search(self, docs: corpus.Corpus) -> None:
        plan = self.plan
        say(f"search on the {docs.library_label} library")
        result = inproc.search(docs.library, plan.build_runs, plan.query_runs)
        self.raw["search"] = {
            "build": result.build,
            "queries": result.queries,
            "hits": result.hits,
            "sections": result.sections,
        }
        value = median(result.build)
        self.add(
            Figure(
                "search",
                f"search index build, {docs.library_label} library ({result.sections} sections)",
                value,
                "s",
                result.build,
                value / self.floor_paint,
                note="in a worker thread",
            )
        )
        per_query = {query: median(times) for query, times in result.queries.items()}
        all_medians = list(per_query.values())
        value = median(all_medians)
        self.add(
            Figure(
                "search",
                f"search query, {docs.library_label} library (median of {len(per_query)} queries)",
                value,
                "s",
                all_medians,
                value / self.floor_paint,
                target="<= 20 ms",
                met=value <= 0.020,
            )
        )
        worst = max(per_query, key=lambda q: per_query[q])
        self.add(
            Figure(
                "search",
                f"search query, slowest of them ({worst!r})",
                per_query[worst],
                "s",
                result.queries[worst],
                per_query[worst] / self.floor_paint,
                target="<= 20 ms",
                met=per_query[worst] <= 0.020,
            )
        )

    def store(self) -> None:
        say("bookmark add")
        times = inproc.bookmark_add(self.plan.bookmarks)
        self.raw["bookmark_add"] = times
        value = median(times)
        self.add(
            Figure(
                "store",
                f"bookmark add, commit included (median of {len(times)})",
                value,
                "s",
                times,
                value / self.floor_paint,
                target="<= 5 ms",
                met=value <= 0.005,
                note=f"95th percentile {sorted(times)[int(len(times) * 0.95) - 1] * 1000:.1f} ms",
            )
        )

    def kiosk(self, docs: corpus.Corpus) -> None:
        low, high = self.plan.kiosk
        say(f"kiosk attract loop: {high} rotations")
        result = asyncio.run(inproc.kiosk_memory(docs.single[corpus.label(100 * KB)], low, high))
        self.raw["kiosk"] = {
            "checkpoints": result.checkpoints,
            "seconds": result.seconds,
            "sections_seen": result.sections_seen,
        }
        (_, rss_low, objects_low), (_, rss_high, objects_high) = result.checkpoints
        growth = float(rss_high - rss_low)
        self.add(
            Figure(
                "kiosk",
                f"kiosk memory growth, {high} vs {low} attract rotations",
                growth,
                "bytes",
                [],
                growth / self.floor_rss,
                target="<= 5 MiB",
                met=growth <= 5 * MiB,
                note=f"live objects {objects_low} -> {objects_high}; {result.seconds:.1f} s",
            )
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.runs:
        plan = Plan(**{**plan.__dict__, "runs": args.runs})
    started = time.monotonic()
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="kbench-") as scratch:
        root = args.keep or Path(scratch)
        say(f"generating documents in {root}")
        docs = corpus.build(root / "docs", plan.singles, plan.library_size, plan.library_articles)
        suite = Suite(plan, args, root)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("start", lambda: suite.processes(docs)),
            ("keys", lambda: suite.keys(docs)),
            ("search", lambda: suite.search(docs)),
            ("store", suite.store),
            ("kiosk", lambda: suite.kiosk(docs)),
        ]
        for group, step in steps:
            if group == "start" or suite.wants(group):
                step()
        sizes = {
            "singles": {corpus.label(s): corpus.folder_bytes(docs.single[corpus.label(s)]) for s in plan.singles},
            "library": corpus.folder_bytes(docs.library),
            "library_articles": plan.library_articles,
            "sections": list(docs.section_sizes),
        }
    elapsed = time.monotonic() - started
    info = machine()
    title = (
        f"kreader benchmarks{' (quick)' if plan.quick else ''}: {info['cpu_model']}, {info['usable_cpus']} CPUs, "
        f"Python {info['python']}, Textual {info.get('textual', '?')}; median of {plan.runs} run(s); "
        f"load average {load_before} -> {loadavg()}; {elapsed:.0f} s"
    )
    print(title)
    print()
    print(table(suite.figures))
    meta = {
        "quick": plan.quick,
        "runs": plan.runs,
        "machine": info,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "seconds": elapsed,
        "sizes": sizes,
        "raw": suite.raw,
    }
    write_json(args.out, suite.figures, meta)
    say(f"results written to {args.out}")
    return 0

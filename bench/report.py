"""The figures the suite produces, printed as a table and written as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


@dataclass
class Figure:
    """One line of the table."""

    group: str
    name: str
    value: float
    """Median (seconds for times, bytes for memory, see ``unit``)."""
    unit: str
    """``s``, ``bytes`` or ``x`` (a plain ratio)."""
    samples: list[float] = field(default_factory=list)
    floor_ratio: float | None = None
    """value / the floor's figure of the same kind, measured in the same run."""
    anchor_ratio: float | None = None
    """value / MarkdownViewer's figure on the same document, measured in the same run."""
    target: str = ""
    met: bool | None = None
    note: str = ""
    cpu: float | None = None
    """Median CPU seconds of the same interval (all threads): steadier than wall time on a busy machine."""
    cpu_floor_ratio: float | None = None
    """cpu / the floor's CPU time to its first frame."""


def fmt_value(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.1f} s"
    if unit == "bytes":
        return f"{value / MiB:.1f} MiB"
    if unit == "x":
        return f"{value:.2f} x"
    return f"{value:g} {unit}"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None or math.isnan(ratio):
        return ""
    return f"{ratio:.3f} x" if ratio < 10 else f"{ratio:.0f} x"


def table(figures: list[Figure]) -> str:
    """Markdown table (readable in a terminal and pasteable into the README)."""
    header = ("figure", "median", "x floor", "x MarkdownViewer", "CPU", "CPU x floor", "target", "")
    rows = [header]
    for fig in figures:
        status = "" if fig.met is None else ("met" if fig.met else "MISSED")
        rows.append(
            (
                fig.name,
                fmt_value(fig.value, fig.unit),
                fmt_ratio(fig.floor_ratio),
                fmt_ratio(fig.anchor_ratio),
                "" if fig.cpu is None else fmt_value(fig.cpu, "s"),
                fmt_ratio(fig.cpu_floor_ratio),
                fig.target,
                status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = (cell.ljust(widths[i]) for i, cell in enumerate(row))
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("| " + " | ".join("-" * widths[i] for i in range(len(header))) + " |")
    return "\n".join(lines)


def notes(figures: list[Figure]) -> str:
    """The notes of the figures that have one, numbered as the table's rows."""
    return "\n".join(f"- {fig.name}: {fig.note}" for fig in figures if fig.note)


def machine() -> dict[str, Any]:
    """What the figures depend on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        from importlib.metadata import version

        info["textual"] = version("textual")
        info["rich"] = version("rich")
        info["markdown_it_py"] = version("markdown-it-py")
    except Exception:
        pass
    return info


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def write_json(path: Path, figures: list[Figure], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _clean({**meta, "figures": [asdict(fig) for fig in figures]})
    path.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes null, tuples lists, paths strings."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")

"""Results of an experiment: aggregate over seeds, format beside the paper, write atomically.

Every experiment produces a list of *rows* (flat dicts, one per configuration) for each seed. This module

- averages them over seeds (:func:`aggregate`): numbers become the mean with a ``<key>_std`` companion (sample
  standard deviation, ddof = 1) when there is more than one seed; booleans become the majority with a
  ``<key>_seeds`` companion counting the seeds where they held; text is taken from the first seed;
- renders Markdown tables with the paper's value beside ours (:func:`markdown_table`);
- renders the same tables as HTML, ours with the paper's value beneath (:func:`html_table`), into ``index.html``
  with the notes, settings and figures embedded (:func:`write_index`);
- writes ``results.json`` / ``results.csv`` / ``results.md`` / ``settings.json`` and the figures into a temporary
  folder next to the destination and moves it into place only when everything succeeded (:func:`atomic_dir`), so a
  failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np

from infogauss import outputs
from infogauss.errors import InputError
from infogauss.outputs import to_jsonable

#: The Gaussianity-report keys every row carries (unnormalised embeddings unless the experiment says otherwise).
REPORT_KEYS = ("cv", "ad_mean", "ad_pass_fraction", "dp_mean_p", "dp_pass_fraction", "paper_verdict")
RESULT_FILES = ("results.json", "results.md", "results.csv", "settings.json", "index.html")


@dataclass
class Column:
    """One column of a Markdown table: row key, header text and how to format it.

    ``kind`` is one of ``"float"`` (3 significant digits), ``"p"`` (3 decimals), ``"frac"`` (a percentage),
    ``"bool"`` (✓ / ✗), ``"int"`` or ``"text"``.
    """

    key: str
    header: str
    kind: str = "float"


@dataclass
class Table:
    """A titled table over some rows; ``paper`` maps a row's ``paper_row`` (default: its ``name``) -> {key: value}."""

    title: str
    columns: list[Column]
    rows: list[dict]
    paper: dict[str, dict] = field(default_factory=dict)
    caption: str = ""


REPORT_COLUMNS = [
    Column("cv", "CV"),
    Column("ad_mean", "AD avg (<0.752)"),
    Column("ad_pass_fraction", "AD pass", "frac"),
    Column("dp_mean_p", "DP avg p (>0.05)", "p"),
    Column("dp_pass_fraction", "DP pass", "frac"),
    Column("paper_verdict", "Gaussian?", "bool"),
]


# ----------------------------------------------------------------------------------------------------------------
# Aggregation over seeds


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def aggregate(rows_per_seed: list[list[dict]]) -> list[dict]:
    """Mean ± std over seeds of rows matched by ``name`` (the first seed fixes the order).

    With one seed the rows are returned unchanged apart from ``seeds = 1``. With K > 1 every numeric key gets the
    mean and ``<key>_std`` (ddof = 1); every boolean key gets the majority (ties -> False) and ``<key>_seeds``, the
    number of seeds where it was True; anything else is taken from the first seed.
    """
    if not rows_per_seed:
        return []
    k = len(rows_per_seed)
    by_name = [{r["name"]: r for r in rows} for rows in rows_per_seed]
    out = []
    for first in rows_per_seed[0]:
        name = first["name"]
        group = [b[name] for b in by_name if name in b]
        if k == 1:
            out.append({**_clean(first), "seeds": 1})
            continue
        row: dict = {}
        for key, v0 in first.items():
            vals = [g.get(key) for g in group]
            if _is_bool(v0):
                n_true = sum(bool(v) for v in vals if v is not None)
                row[key] = n_true * 2 > len(vals)
                row[f"{key}_seeds"] = n_true
            elif _is_number(v0):
                arr = np.array([float(v) for v in vals if _is_number(v)], dtype=float)
                arr = arr[np.isfinite(arr)]
                row[key] = float(arr.mean()) if arr.size else None
                row[f"{key}_std"] = float(arr.std(ddof=1)) if arr.size > 1 else None
            else:
                row[key] = _clean_value(v0)
        row["seeds"] = len(group)
        out.append(row)
    return out


def _clean_value(v):
    return to_jsonable(v)


def _clean(row: dict) -> dict:
    return {k: _clean_value(v) for k, v in row.items()}


# ----------------------------------------------------------------------------------------------------------------
# Formatting


def fmt(v, kind: str = "float") -> str:
    """Format one value for a Markdown cell."""
    if v is None:
        return "—"
    if kind == "bool":
        return "✓" if v else "✗"
    if kind == "text":
        return str(v)
    if not _is_number(v):
        return str(v)
    v = float(v)
    if not math.isfinite(v):
        return "nan"
    if kind == "frac":
        return f"{100 * v:.1f}%"
    if kind == "int":
        return f"{int(round(v))}"
    if kind == "p":
        return f"{v:.3f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.3g}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.4g}"


def cell_parts(row: dict, col: Column, paper: dict | None) -> tuple[str, str | None]:
    """``(ours, paper)``: ours with ``± std`` over seeds (or the seeds where a boolean held), and the paper's value
    when it reports the number (else None)."""
    v = row.get(col.key)
    text = fmt(v, col.kind)
    std = row.get(f"{col.key}_std")
    if std is not None and col.kind not in ("bool", "text"):
        text += " ± " + (f"{100 * std:.1f}%" if col.kind == "frac" else fmt(std, "float" if col.kind != "p" else "p"))
    seeds_true = row.get(f"{col.key}_seeds")
    if col.kind == "bool" and seeds_true is not None:
        text += f" ({seeds_true}/{row.get('seeds')})"
    theirs = fmt(paper[col.key], col.kind) if paper is not None and col.key in paper else None
    return text, theirs


def cell(row: dict, col: Column, paper: dict | None) -> str:
    """``ours`` (``± std`` over seeds) and, when the paper has the number, `` / paper``."""
    ours, theirs = cell_parts(row, col, paper)
    return ours if theirs is None else f"{ours} / {theirs}"


def markdown_table(table: Table) -> str:
    """A GitHub Markdown table; cells read ``ours / paper`` where the paper reports the number."""
    head = ["name", *(c.header for c in table.columns)]
    lines = []
    if table.title:
        lines.append(f"### {table.title}\n")
    if table.caption:
        lines.append(table.caption + "\n")
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for row in table.rows:
        paper = table.paper.get(row.get("paper_row", row["name"]))
        cells = [str(row["name"]), *(cell(row, c, paper) for c in table.columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_markdown(title: str, header: str, tables: list[Table], notes: str, settings: dict) -> str:
    parts = [f"# {title}\n", header.strip() + "\n"]
    parts += [markdown_table(t) for t in tables]
    if notes.strip():
        parts.append("## Notes\n\n" + notes.strip() + "\n")
    parts.append("## Settings\n\n```json\n" + json.dumps(settings, indent=2, default=str) + "\n```\n")
    return "\n".join(parts)


def html_table(table: Table) -> str:
    """The table as HTML: each cell shows ours and, beneath it, the paper's value where the paper reports it."""
    from infogauss.report.html import inline, table_html

    rows = []
    for row in table.rows:
        paper = table.paper.get(row.get("paper_row", row["name"]))
        cells = [inline(str(row["name"]))]
        for c in table.columns:
            ours, theirs = cell_parts(row, c, paper)
            cells.append(
                inline(ours) + ("" if theirs is None else f'<span class="paper">paper: {inline(theirs)}</span>')
            )
        rows.append(cells)
    parts = [f"<h3>{inline(table.title)}</h3>" if table.title else ""]
    parts += [
        f"<p>{inline(table.caption)}</p>" if table.caption else "",
        table_html(["name", *(c.header for c in table.columns)], rows, escaped=True),
    ]
    return "\n".join(p for p in parts if p)


def render_html(title: str, header: str, tables: list[Table], notes: str, meta: dict, images: dict) -> str:
    """``index.html`` of a results folder: the tables beside the paper's numbers, the notes, the figures
    (``{name: PNG bytes}``, embedded) and the settings, in one self-contained page."""
    from infogauss.report import html

    parts = [f"<h1>{html.inline(title)}</h1>", html.markdown_html(header)]
    parts += [html_table(t) for t in tables]
    if notes.strip():
        parts += ["<h2>Notes</h2>", html.markdown_html(notes, shift=1)]
    if images:
        parts += ["<h2>Figures</h2>", html.figures_html(images)]
    settings = json.dumps(meta, indent=2, default=str)
    parts += ["<h2>Settings</h2>", f"<pre>{escape(settings)}</pre>"]
    return html.page(title, '<div class="ig-report">\n' + "\n".join(parts) + "\n</div>")


# ----------------------------------------------------------------------------------------------------------------
# Writing


def check_out_dir(out: Path) -> None:
    """Refuse to replace a folder that is not a previous result (it would be deleted)."""
    if out.exists():
        if not out.is_dir():
            raise InputError(f"--out {out} is a file; give a folder path")
        if any(out.iterdir()) and not (out / "results.json").exists():
            raise InputError(f"--out {out} exists and is not an infogauss results folder; choose a new or empty folder")


def atomic_dir(out: Path):
    """Yield a temporary folder beside ``out``; on success it replaces ``out``, on failure it is removed
    (:func:`infogauss.outputs.atomic_dir`)."""
    check_out_dir(out)
    return outputs.atomic_dir(out)


def write_results(folder: Path, rows: list[dict], markdown: str, settings: dict) -> None:
    """Write results.json (list of rows), results.csv (union of keys), results.md and settings.json."""
    folder = Path(folder)
    rows = [_clean(r) for r in rows]
    outputs.write_json(folder / "results.json", rows)
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(folder / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in keys})
    (folder / "results.md").write_text(markdown)
    outputs.write_json(folder / "settings.json", settings)


def write_index(folder: Path, title: str, header: str, tables: list[Table], notes: str, meta: dict) -> None:
    """``index.html`` (:func:`render_html`) with every PNG already in ``folder`` embedded."""
    from infogauss.report.html import folder_images

    page = render_html(title, header, tables, notes, meta, folder_images(folder))
    (Path(folder) / "index.html").write_text(page)

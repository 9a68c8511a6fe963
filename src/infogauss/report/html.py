"""Self-contained HTML: ``report.html`` of ``infogauss analyze``, ``GaussianityReport._repr_html_`` and the pieces
the ``reproduce`` folders' ``index.html`` is built from.

One file, no external resource: the CSS is inline and every figure is a ``data:image/png;base64`` URI, so the page
can be mailed, attached or opened offline. :func:`report_body` is the report without page chrome (what a notebook
shows); :func:`page` wraps any body into a complete document. :func:`markdown_html` converts the small Markdown
subset the reports and the experiments' notes use (headings, paragraphs, ``-`` lists, pipe tables, fenced code,
```code```, ``**bold**``, ``*italic*``, relative links; external links are shown as text, not fetched or linked).
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

CSS = """
.ig-report{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;line-height:1.45;
  max-width:1180px;margin:0 auto;padding:0 1em 2em}
.ig-report h1{font-size:1.5em;margin:.6em 0 .3em}.ig-report h2{font-size:1.2em;margin:1.4em 0 .4em;
  border-bottom:1px solid #d0d7de;padding-bottom:.2em}.ig-report h3{font-size:1.05em;margin:1.1em 0 .3em}
.ig-report table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
.ig-report th,.ig-report td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
.ig-report th{background:#f3f5f7}.ig-report td.num{text-align:right;white-space:nowrap}
.ig-report tr:nth-child(even) td{background:#fafbfc}
.ig-report td.yes{color:#116329;font-weight:600}.ig-report td.no{color:#a40e26;font-weight:600}
.ig-report .paper{display:block;color:#57606a;font-size:.85em}
.ig-report .verdict{border-radius:6px;padding:.6em 1em;margin:.8em 0;font-size:1.05em}
.ig-report .verdict .head{display:block;font-size:1.3em;font-weight:700;margin-bottom:.15em}
.ig-report .verdict.ok{background:#dafbe1;border:1px solid #4ac26b}
.ig-report .verdict.bad{background:#ffebe9;border:1px solid #ff8182}
.ig-report code{background:#f3f5f7;padding:0 .25em;border-radius:3px;font-size:.9em}
.ig-report pre{background:#f6f8fa;padding:.6em;overflow:auto;font-size:.85em}
.ig-report .facts{color:#424a53}
.ig-report figure{margin:1em 0;display:inline-block;max-width:100%;vertical-align:top}
.ig-report figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
.ig-report figcaption{font-size:.85em;color:#424a53;max-width:900px}
"""


NUMBER = re.compile(r"^\s*(\[?[-+−]?(\d|\.\d|nan\b|inf\b)|—\s*$)")  # a cell that reads as a number (right-aligned)
BLOCK_START = re.compile(r"^(```|#|\s*\||\s*[-*]\s|\s*\d+\.\s)")  # a line that starts a non-paragraph block


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data:<mime>;base64,...`` for ``data``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def inline(text: str) -> str:
    """One line of Markdown-inline text as HTML (escaped; code, bold, italic, relative links)."""
    parts = str(text).split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2 and i < len(parts) - 1:
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        s = html.escape(part if i % 2 == 0 else "`" + part)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", _link, s)
        out.append(s)
    return "".join(out)


def _link(m) -> str:
    text, url = m.group(1), m.group(2)
    if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I):  # external: shown, not linked (the page stays self-contained)
        return f"{text} ({url})"
    return f'<a href="{url}">{text}</a>'


def table_html(head, rows, escaped: bool = False) -> str:
    """A table; cells are plain text (escaped, ✓ / ✗ coloured) unless ``escaped`` (already HTML)."""

    def td(c):
        c = str(c)
        mark = c.strip()
        cls = (
            ' class="yes"'
            if mark == "✓"
            else ' class="no"'
            if mark == "✗"
            else ' class="num"'
            if NUMBER.match(c)
            else ""
        )
        return f"<td{cls}>{c if escaped else inline(c)}</td>"

    lines = ["<table>", "<tr>" + "".join(f"<th>{inline(h)}</th>" for h in head) + "</tr>"]
    lines += ["<tr>" + "".join(td(c) for c in row) + "</tr>" for row in rows]
    return "\n".join(lines + ["</table>"])


def markdown_html(text: str, shift: int = 0) -> str:
    """The Markdown subset of the reports and notes (see the module docstring) as HTML; headings are moved
    ``shift`` levels down (``shift=1`` inside a page that has its own ``<h1>``)."""
    lines, out, i = str(text).splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("```")), len(lines))
            out.append("<pre>" + html.escape("\n".join(lines[i + 1 : j])) + "</pre>")
            i = j + 1
        elif m := re.match(r"^(#{1,4})\s+(.*)", line):
            level = min(len(m.group(1)) + shift, 6)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            out.append(_pipe_table(lines[i:j]))
            i = j
        elif re.match(r"^\s*([-*]|\d+\.)\s+", line):
            i = _list(lines, i, out)
        else:
            j = i
            while j < len(lines) and lines[j].strip() and not BLOCK_START.match(lines[j]):
                j += 1
            body = "".join(inline(x.strip()) + ("<br>" if x.endswith("  ") else " ") for x in lines[i:j])
            out.append(f"<p>{body.strip()}</p>")
            i = j
    return "\n".join(out)


def _pipe_table(block) -> str:
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in block]
    body = [r for r in cells[1:] if not all(re.fullmatch(r":?-{2,}:?", c) for c in r)]
    return table_html(cells[0], body)


def _list(lines, i, out) -> int:
    """A bullet or numbered list starting at line ``i`` (continuation lines indented); returns the next line."""
    tag = "ol" if re.match(r"^\s*\d+\.", lines[i]) else "ul"
    items = []
    while i < len(lines) and lines[i].strip():
        m = re.match(r"^\s*(?:[-*]|\d+\.)\s+(.*)", lines[i])
        if m:
            items.append(m.group(1))
        elif items:
            items[-1] += " " + lines[i].strip()
        i += 1
    out.append(f"<{tag}>" + "".join(f"<li>{inline(x)}</li>" for x in items) + f"</{tag}>")
    return i


def figures_html(images: dict, caption=None) -> str:
    """``<figure>`` for each ``{file name: PNG bytes}``, embedded, captioned by ``caption(name)``."""
    caption = caption or (lambda name: name)
    return "\n".join(
        f'<figure><img alt="{html.escape(name)}" src="{data_uri(png)}"><figcaption><code>{html.escape(name)}</code>'
        + ("" if caption(name) == name else f" — {inline(caption(name))}")
        + "</figcaption></figure>"
        for name, png in images.items()
    )


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document around ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def report_body(rep, images: dict | None = None) -> str:
    """The report as one ``<div class="ig-report">``: facts, verdict, the paper's table, the calibrated checks,
    the reading text, geometry beside its reference values, the figures (``{name: PNG bytes}``) and settings."""
    from infogauss.report import format as fmt
    from infogauss.report.reading import reading_points

    v = rep.verdict
    ok = bool(v.gaussian) if v is not None else bool(rep.raw.calibrated_verdict)
    points = reading_points(rep)
    word = "Consistent with a Gaussian" if ok else "Not Gaussian"
    verdict = f'<span class="head">{"✓" if ok else "✗"} {word}</span>{inline(fmt.verdict_line(rep) or points[0])}'

    parts = [
        f"<h1>Gaussianity report: {html.escape(str(rep.source))}</h1>",
        f'<p class="facts">{inline(fmt.facts(rep))}</p>',
        f'<div class="verdict {"ok" if ok else "bad"}">{verdict}</div>',
        "<h2>The paper's protocol (Tables 1-2)</h2>",
        table_html(*fmt.paper_table(rep)),
        "<h2>Calibrated against a Gaussian sample of the same size</h2>",
        f"<p>{inline(fmt.calibration_note(rep))}</p>" if rep.null is not None else "",
        table_html(*fmt.calibrated_table(rep)),
        "<h2>How to read this</h2>",
        "<ul>" + "".join(f"<li>{inline(p)}</li>" for p in points) + "</ul>",
    ]
    if rep.geometry:
        parts += ["<h2>Geometry</h2>", table_html(["quantity", "value", "reference"], fmt.geometry_rows(rep.geometry))]
    if images:
        parts += ["<h2>Figures</h2>", figures_html(images, fmt.figure_caption)]
    parts += ["<h2>Settings</h2>", table_html(["setting", "value"], [[k, str(x)] for k, x in rep.settings.items()])]
    return '<div class="ig-report">\n' + "\n".join(p for p in parts if p) + "\n</div>"


def report_page(rep, images: dict | None = None) -> str:
    """``report.html``: :func:`report_body` as a complete page."""
    return page(f"Gaussianity report: {rep.source}", report_body(rep, images))


def folder_images(folder, names=None) -> dict:
    """``{name: bytes}`` of the PNGs ``names`` (default: every ``*.png``, sorted) that exist in ``folder``."""
    folder = Path(folder)
    names = sorted(p.name for p in folder.glob("*.png")) if names is None else names
    return {n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}


def render_images(rep) -> dict:
    """The report's figures (:func:`infogauss.plots.figures`) rendered in memory: ``{name: PNG bytes}``."""
    from infogauss.plots import DPI, figures

    out = {}
    for name, fig in figures(rep).items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        out[name] = buf.getvalue()
    return out

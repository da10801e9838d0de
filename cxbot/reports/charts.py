"""The digest's charts as inline SVG strings.

The HTML report must stand alone (no scripts, no network, printable), so charts are drawn
here as plain SVG text rather than by a charting library in the browser. Every function is
pure — values in, a string out — so tests can parse the result with an XML parser, and
every piece of text that reaches the SVG (department names come from the council file)
goes through `html.escape`. Each chart carries a `<title>` and a `<desc>` that says in
words what the bars show, for screen readers and for anyone who copies the report as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from babel.numbers import format_decimal

from cxbot.domain.model import STATUS_LABELS, Status
from cxbot.i18n import Translator, translator
from cxbot.reports.model import DepartmentStats, ExperienceRow, WeekDecisions

EN = translator("en")

# Outcome colours: distinguishable with the common colour-vision deficiencies, each
# with at least 3:1 contrast against white, and always named in the legend as well.
OUTCOME_COLOURS: tuple[tuple[str, str], ...] = (
    ("approved", "#1a7f5a"),
    ("rejected", "#b42318"),
    ("withdrawn", "#64748b"),
    ("expired", "#a16207"),
)
_BAR = "#2f5fa7"
_INK = "#1f2937"
_MUTED = "#4b5563"
_GRID = "#e5e7eb"
_FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"


def duration(hours: float | None, tr: Translator = EN) -> str:
    """A span of time the way the council talks about it: minutes, hours up to two days, then days,
    in the reader's language ("3.5 h", "3,5 t", "3,5 Std.")."""
    if hours is None:
        return "—"
    if hours < 1:
        return tr.gettext("{value} min").format(value=max(round(hours * 60), 1))
    if hours < 48:
        return tr.gettext("{value} h").format(value=decimal(hours, tr))
    return tr.gettext("{value} days").format(value=decimal(hours / 24, tr))


def decimal(value: float, tr: Translator) -> str:
    """One decimal, with the language's decimal mark."""
    return f"{value:.1f}" if tr.language == EN.language else format_decimal(value, format="0.0", locale=tr.locale)


def _outcome(name: str, tr: Translator) -> str:
    """An outcome's name ("Approved") in the reader's language."""
    return tr.text(STATUS_LABELS[Status(name)])


def _nice_ceiling(value: float) -> tuple[float, float]:
    """An axis maximum ≥ value and a tick step from the 1-2-5 series, with at most five ticks."""
    if value <= 0:
        return 1.0, 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        step = max(factor * magnitude, 1.0)
        if math.ceil(value / step) <= 5:
            return math.ceil(value / step) * step, step
    return value, value  # unreachable: factor 10 always gives one tick


def _number(value: float) -> str:
    return f"{value:g}"


def _svg(width: int, height: int, ident: str, title: str, desc: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
            f'font-family="{_FONT}" font-size="12" fill="{_INK}">',
            f'<title id="{ident}-title">{escape(title)}</title>',
            f'<desc id="{ident}-desc">{escape(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _empty(width: int, height: int, ident: str, title: str, message: str) -> str:
    body = [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" fill="#f9fafb" stroke="{_GRID}"/>',
        f'<text x="{width / 2:g}" y="{height / 2 + 4:g}" text-anchor="middle" fill="{_MUTED}" font-size="14">'
        f"{escape(message)}</text>",
    ]
    return _svg(width, height, ident, title, message, body)


def _week_label(week: str) -> str:
    """`2026-W48` → `W48`: the year is in the tooltip and the description."""
    return week.rsplit("-", 1)[-1]


def decisions_per_week(history: Sequence[WeekDecisions], *, ident: str = "decisions-chart",
                       tr: Translator = EN) -> str:
    """Stacked bars of decisions per week by outcome (oldest week on the left), with a legend.

    The last bar is the digest's own week and its label is drawn bold. No weeks, or weeks
    without a decision, give a framed message instead of an empty axis.
    """
    title = tr.gettext("Decisions per week, by outcome")
    width, height = 640, 260
    if not history:
        return _empty(width, 120, ident, title, tr.gettext("No weeks to show yet"))
    if all(w.total == 0 for w in history):
        return _empty(width, 120, ident, title, tr.ngettext("No decisions in the last {n} week",
                                                            "No decisions in the last {n} weeks", len(history))
                      .format(n=len(history)))
    left, right, top, bottom = 40, 12, 40, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax, step = _nice_ceiling(max(w.total for w in history))
    slot = plot_w / len(history)
    bar_w = min(slot * 0.62, 40)
    body: list[str] = []
    # Legend, top left; each entry names its colour.
    x = left
    for name, colour in OUTCOME_COLOURS:
        label = _outcome(name, tr)
        body.append(f'<rect x="{x}" y="10" width="12" height="12" rx="2" fill="{colour}"/>')
        body.append(f'<text x="{x + 17}" y="20.5">{escape(label)}</text>')
        x += 28 + 7 * len(label) + 10
    # Grid lines and the value axis.
    tick = 0.0
    while tick <= ymax + 1e-9:
        y = top + plot_h - tick / ymax * plot_h
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{_GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_MUTED}">{_number(tick)}</text>')
        tick += step
    for i, week in enumerate(history):
        cx = left + slot * (i + 0.5)
        y = top + plot_h
        counts = [(name, colour, getattr(week, name)) for name, colour in OUTCOME_COLOURS]
        summary = ", ".join(f"{n} {_outcome(name, tr).lower()}" for name, _, n in counts if n) or tr.gettext(
            "no decisions")
        body.append(f"<g><title>{escape(week.week)}: {escape(summary)}</title>")
        for _, colour, n in counts:
            if not n:
                continue
            h = n / ymax * plot_h
            y -= h
            body.append(
                f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
        body.append("</g>")
        if week.total:
            body.append(
                f'<text x="{cx:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-weight="600">{week.total}</text>'
            )
        weight = ' font-weight="700"' if i == len(history) - 1 else ""
        body.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="{_MUTED}"{weight}>'
            f"{escape(_week_label(week.week))}</text>"
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{_MUTED}"/>'
    )
    desc = "; ".join(
        f"{w.week}: " + (", ".join(f"{getattr(w, n)} {_outcome(n, tr).lower()}" for n, _ in OUTCOME_COLOURS
                                   if getattr(w, n)) or tr.gettext("none"))
        for w in history
    )
    return _svg(width, height, ident, title, desc, body)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def median_answer_by_department(
    departments: Sequence[DepartmentStats], *, ident: str = "answer-chart", tr: Translator = EN
) -> str:
    """Horizontal bars of each department's median time to answer, slowest first.

    Departments that answered nothing this week are listed last with "no answers" rather
    than dropped, so a silent department is as visible as a slow one.
    """
    title = tr.gettext("Median time to answer, by department")
    width, row, top, label_w, value_w = 640, 26, 8, 170, 80
    if not departments:
        return _empty(width, 90, ident, title, tr.gettext("No departments to show"))
    timed = sorted((d for d in departments if d.median_hours_to_answer is not None),
                   key=lambda d: (-(d.median_hours_to_answer or 0.0), d.name))
    silent = sorted((d for d in departments if d.median_hours_to_answer is None), key=lambda d: d.name)
    if not timed:
        return _empty(width, 90, ident, title, tr.gettext("No department answered a request this week"))
    rows = timed + silent
    height = top * 2 + row * len(rows)
    longest = max(d.median_hours_to_answer or 0.0 for d in timed) or 1.0
    plot_w = width - label_w - value_w - 10
    body: list[str] = []
    for i, dep in enumerate(rows):
        y = top + i * row
        name = dep.name
        body.append(f"<g><title>{escape(name)}: {escape(duration(dep.median_hours_to_answer, tr))}</title>")
        body.append(
            f'<text x="{label_w - 8}" y="{y + row / 2 + 4:g}" text-anchor="end">{escape(_shorten(name, 24))}</text>'
        )
        if dep.median_hours_to_answer is None:
            body.append(
                f'<text x="{label_w}" y="{y + row / 2 + 4:g}" fill="{_MUTED}" font-style="italic">'
                f'{escape(tr.gettext("no answers"))}</text>'
            )
        else:
            w = max(dep.median_hours_to_answer / longest * plot_w, 2)
            body.append(f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" rx="3" fill="{_BAR}"/>')
            body.append(
                f'<text x="{label_w + w + 6:.1f}" y="{y + row / 2 + 4:g}" fill="{_INK}">'
                f"{escape(duration(dep.median_hours_to_answer, tr))}</text>"
            )
        body.append("</g>")
    body.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - top}" stroke="{_MUTED}"/>')
    desc = "; ".join(
        f"{d.name}: " + (tr.gettext("no answers") if d.median_hours_to_answer is None
                         else duration(d.median_hours_to_answer, tr))
        for d in rows
    )
    return _svg(width, height, ident, title, desc, body)


def customer_hours_by_stage(now: Sequence[ExperienceRow], before: Sequence[ExperienceRow], *,
                            ident: str = "hours-chart", tr: Translator = EN) -> str:
    """Per stage, the customer hours a month the week's approved changes add (right of the axis)
    or save (left), beside the week before's: week over week, across the experience."""
    title = tr.gettext("Customer hours a month added or saved, by stage: this week and the week before")
    this, last = ({r.stage: r.customer_hours for r in rows if not r.moment and r.costed} for rows in (now, before))
    stages = list(dict.fromkeys([*this, *last]))
    width, row, top, label_w = 640, 40, 8, 170
    if not stages:
        return _empty(width, 90, ident, title, tr.gettext("No approved change said what it costs customers"))
    height = top * 2 + row * len(stages) + 20
    largest = max(abs(v) for v in [*this.values(), *last.values()]) or 1.0
    half = (width - label_w - 20) / 2
    axis = label_w + half
    body: list[str] = []
    for i, stage in enumerate(stages):
        y = top + i * row
        body.append(f'<text x="{label_w - 8}" y="{y + row / 2 + 4:g}" text-anchor="end">{escape(_shorten(stage, 24))}'
                    "</text>")
        for k, (values, colour, label) in enumerate(((this, _BAR, tr.gettext("this week")),
                                                     (last, _MUTED, tr.gettext("the week before")))):
            value = values.get(stage)
            if value is None:
                continue
            w = max(abs(value) / largest * (half - 40), 2)
            x = axis if value >= 0 else axis - w
            shown = ("+" if value > 0 else "−" if value < 0 else "") + _number(round(abs(value)))
            body.append(f"<g><title>{escape(stage)}, {escape(label)}: {shown}</title>")
            body.append(f'<rect x="{x:.1f}" y="{y + 4 + k * 16}" width="{w:.1f}" height="13" rx="2" '
                        f'fill="{colour}"/>')
            tx = x + w + 4 if value >= 0 else x - 4
            anchor = "start" if value >= 0 else "end"
            body.append(f'<text x="{tx:.1f}" y="{y + 15 + k * 16}" text-anchor="{anchor}" font-size="11">{shown}'
                        "</text></g>")
    body.append(f'<line x1="{axis:.1f}" y1="{top}" x2="{axis:.1f}" y2="{height - 20}" stroke="{_MUTED}"/>')
    body.append(f'<rect x="{label_w}" y="{height - 14}" width="10" height="10" fill="{_BAR}"/>'
                f'<text x="{label_w + 14}" y="{height - 5}" font-size="11">{escape(tr.gettext("this week"))}</text>'
                f'<rect x="{label_w + 110}" y="{height - 14}" width="10" height="10" fill="{_MUTED}"/>'
                f'<text x="{label_w + 124}" y="{height - 5}" font-size="11">'
                f'{escape(tr.gettext("the week before"))}</text>')
    desc = "; ".join(f"{s}: {this.get(s, 0):+.0f} / {last.get(s, 0):+.0f}" for s in stages)
    return _svg(width, height, ident, title, desc, body)

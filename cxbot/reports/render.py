"""The chair's weekly digest as plain text, a standalone HTML report, or a Slack message.

All three read the same `Digest` and take every word they show from the Jinja2 templates
in the top-level `templates/` directory, so rewording the digest is a template edit. This
module holds what templates do badly: escaping right for each medium (HTML autoescape;
mrkdwn's own three escapes; no terminal control characters in text), and fitting the Slack
message inside Slack's limits — 50 blocks, 3000 characters a section, 150 a header —
by cutting long lists at whole items and saying how many were left out.

A company's week can hold hundreds of decisions and thousands of waiting requests, so the
text and HTML show the top LIST_CAP of each list (in the list's own order: overdue first,
oldest first, standing objections first) with "and N more", and `render_csv` writes each
list that was cut in full, for the chair to sort and filter; headline counts stay exact.

The digest is written in its language (`Digest.language`): the templates mark their words with
`_()` and `ngettext()` (Jinja2's i18n extension, newstyle, with that language's catalog
installed), and the filters registered per language format days, times, numbers and
durations with Babel. The CSVs are data for spreadsheets: their headers stay English.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cxbot.domain.model import STATUS_LABELS, Status
from cxbot.i18n import Translator, translator
from cxbot.reports import charts
from cxbot.reports.export import csv_cell
from cxbot.reports.model import Digest, ExperienceRow, Objection, StageStats
from cxbot.slack.text import clip, escape

TEMPLATES = "cxbot.templates"  # the top-level templates/, as pyproject.toml installs it
FORMATS = ("text", "html", "slack")

LIST_CAP = 50            # items of each list the text and HTML show; the rest are in that list's CSV
CSV_LISTS = ("decided", "waiting", "conditions", "objections")

MAX_BLOCKS = 50          # per message (Slack rejects more; slack_sdk does not check it)
SECTION_LIMIT = 3000     # characters of a section block's text
HEADER_LIMIT = 150       # characters of a header block's plain text

# Slack sections after the headline: (kind, most items shown, most section blocks).
# The item caps keep the message a summary — the full lists are in the HTML report — and
# the block caps bound the message: 3 head blocks + 6 dividers + 14 sections + 1 footer.
_SLACK_SECTIONS: tuple[tuple[str, int, int], ...] = (
    ("decided", 12, 3),
    ("waiting", 12, 3),
    ("conditions", 10, 2),
    ("objections", 6, 3),
    ("departments", 20, 2),
    ("stages", 10, 1),
    ("experience", 16, 2),
)
_HEADLINE_FIELDS = ("filed", "decided", "open", "overdue", "escalated", "median")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_RESOLUTION_ORDER = {None: 0, "overruled": 1, "resolved": 2, "withdrawn": 3}


# --- filters shared by the templates -------------------------------------------------------


def mrkdwn(text: object) -> str:
    """Escape `&`, `<`, `>` so user text cannot ping (`<!channel>`), mention or disguise a link."""
    return escape(str(text))


def mention(user: str) -> str:
    """A Slack mention for a user id; anything that is not an id is shown as escaped text."""
    return f"<@{user}>" if _USER_ID.fullmatch(user) else mrkdwn(user)


def one_line(text: object) -> str:
    """User text on one line, without control characters (a title must not move the terminal's cursor)."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def plain(text: object) -> str:
    """Multi-line user text without control characters, line breaks kept."""
    lines = (" ".join(_CONTROL.sub(" ", line).split()) for line in str(text).splitlines())
    return "\n".join(line for line in lines if line)


def cell(value: object, width: int, align: str = "<") -> str:
    """A fixed-width text column: shortened with "…" when too long, padded when too short."""
    text = one_line(value)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{text:{align}{width}}"


EN = translator("en")


def day(d: date, tr: Translator = EN) -> str:
    """A day with its weekday: "Mon 7 Dec 2026", "man. 7. des. 2026", "Mo., 7. Dez. 2026"."""
    if tr.language == EN.language:
        return f"{d:%a} {d.day} {d:%b %Y}"
    return format_skeleton("yMMMEd", d, locale=tr.locale)


def when(at: datetime, tz: str, tr: Translator = EN) -> str:
    """A moment in the council's time zone; a naive datetime is taken as UTC, as the database stores it."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(ZoneInfo(tz))
    if tr.language == EN.language:
        return f"{local:%a} {local.day} {local:%b %H:%M}"
    return f"{format_skeleton('MMMEd', local, locale=tr.locale)} {local:%H:%M}"


def number(value: float, tr: Translator = EN) -> str:
    """A count with the language's digit grouping: "12,345", "12 345", "12.345"."""
    return f"{value:,}" if tr.language == EN.language else format_decimal(value, locale=tr.locale)


def customer_hours(row: ExperienceRow | float | None, tr: Translator = EN) -> str:
    """Customer hours a month a stage's or moment's approved changes (or one change) add
    ("+1,250") or save ("−300"), whole hours; "—" when no filer gave both minutes and customers."""
    if isinstance(row, ExperienceRow):
        row = row.customer_hours if row.costed else None
    if row is None:
        return "—"
    value = round(row)
    return ("+" if value > 0 else "−" if value < 0 else "") + number(abs(value), tr)


@dataclass(frozen=True)
class Change:
    """How a headline number moved since last week, in the forms the templates need."""

    arrow: str       # "▲", "▼", "=" or "" when there is nothing to compare
    amount: str      # "3", "1.5 h", "same", "": the size of the change, its sign is the arrow
    previous: str    # last week's value, formatted
    tone: str        # "good", "bad" or "neutral": the colour in HTML
    words: str       # "up 3 from 11": for screen readers and plain text


def change(current: float | None, previous: float | None, better: str | None = None, hours: bool = False,
           tr: Translator = EN) -> Change:
    """Compare with last week; `better` is "up" or "down" when the direction means good or bad news."""

    def amount(value: float) -> str:
        return f"{value:g}" if tr.language == EN.language else format_decimal(value, locale=tr.locale)

    def fmt(value: float | None) -> str:
        return charts.duration(value, tr) if hours else ("—" if value is None else amount(value))

    if current is None or previous is None:
        return Change("", "", fmt(previous), "neutral", tr.gettext("last week {value}").format(value=fmt(previous)))
    diff = current - previous
    if abs(diff) < 0.05:
        return Change("=", tr.gettext("same"), fmt(previous), "neutral",
                      tr.gettext("same as last week ({value})").format(value=fmt(previous)))
    up = diff > 0
    size = charts.duration(abs(diff), tr) if hours else amount(abs(diff))
    tone = "neutral" if better is None else ("good" if up == (better == "up") else "bad")
    words = (tr.gettext("up {amount} from {value}") if up else tr.gettext("down {amount} from {value}")).format(
        amount=size, value=fmt(previous))
    return Change("▲" if up else "▼", size, fmt(previous), tone, words)


def standing_first(objections: Iterable[Objection]) -> list[Objection]:
    """Standing blocking objections first: they are what holds requests up."""
    return sorted(objections, key=lambda o: (_RESOLUTION_ORDER.get(o.resolution, 4), not o.blocking, o.request_id))


def busiest_stages(stages: Iterable[StageStats]) -> list[StageStats]:
    """Stages with anything to show, most pending first, then most touched."""
    return sorted((s for s in stages if s.touched or s.pending), key=lambda s: (-s.pending, -s.touched, s.stage))


@functools.cache
def _environment(language: str) -> Environment:
    """The templates in one language: its catalog installed for `_()`/`ngettext()`, and its formats."""
    tr = translator(language)
    env = Environment(
        loader=FileSystemLoader(str(resources.files(TEMPLATES))),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html", "svg"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(mrkdwn=mrkdwn, mention=mention, clip=clip, one_line=one_line, plain=plain, cell=cell,
                       day=functools.partial(day, tr=tr), when=functools.partial(when, tr=tr),
                       duration=functools.partial(charts.duration, tr=tr), number=functools.partial(number, tr=tr),
                       decimal=functools.partial(charts.decimal, tr=tr),
                       hours=functools.partial(customer_hours, tr=tr))
    # The states' names are the ones Slack shows (`STATUS_LABELS`): one vocabulary everywhere.
    env.globals.update(change=functools.partial(change, tr=tr), standing_first=standing_first,
                       busiest_stages=busiest_stages, language=tr.language,
                       status_labels={s.value: tr.text(STATUS_LABELS[s]) for s in Status})
    return env


def _template(digest: Digest, name: str) -> Any:
    return _environment(digest.language).get_template(name)


def file_stem(digest: Digest) -> str:
    """What the digest's files are named after: `cx-council-2026-W48` for the default council,
    `cx-council-nordics-2026-W48` for another, so two councils' reports never share a name."""
    council = "" if digest.council == "default" else f"{digest.council}-"
    return f"cx-council-{council}{digest.week}"


def csv_name(digest: Digest, kind: str) -> str:
    """The file a list's full CSV is attached as: `cx-council-2026-W48-waiting.csv`."""
    return f"{file_stem(digest)}-{kind}.csv"


def _list(digest: Digest, kind: str) -> Sequence[Any]:
    """A list as the digest orders it; objections flattened, stage by stage, standing first."""
    if kind == "objections":
        return [(s.stage, o) for s in digest.objections_by_stage for o in standing_first(s.objections)]
    if kind == "conditions":
        return digest.unmet_conditions
    return getattr(digest, kind)  # type: ignore[no-any-return]


def cut_lists(digest: Digest) -> tuple[str, ...]:
    """The lists the text and HTML cut at LIST_CAP (an objections list is cut per stage)."""
    cut = {kind for kind in ("decided", "waiting", "conditions") if len(_list(digest, kind)) > LIST_CAP}
    if any(len(s.objections) > LIST_CAP for s in digest.objections_by_stage):
        cut.add("objections")
    return tuple(kind for kind in CSV_LISTS if kind in cut)


def _context(digest: Digest) -> dict[str, Any]:
    return {"d": digest, "tz": digest.timezone, "who": lambda uid: digest.names.get(uid, uid),
            "cap": LIST_CAP, "csv_name": lambda kind: csv_name(digest, kind)}


# --- text and HTML -------------------------------------------------------------------------


def render_text(digest: Digest) -> str:
    """The digest for a terminal (`cxbot digest preview --format text`)."""
    return _template(digest, "digest.txt.j2").render(_context(digest))


def render_html(digest: Digest) -> str:
    """The standalone HTML report: embedded CSS and inline SVG charts, nothing fetched, no script."""
    tr = translator(digest.language)
    charts_svg = {
        # Built with html.escape on every text, so they are safe to insert as they are.
        "decisions": Markup(charts.decisions_per_week(digest.history, tr=tr)),
        "answers": Markup(charts.median_answer_by_department(digest.departments, tr=tr)),
        "hours": Markup(charts.customer_hours_by_stage(digest.experience, digest.previous_experience, tr=tr)),
    }
    return _template(digest, "digest.html.j2").render(_context(digest), charts=charts_svg)


# --- CSV -----------------------------------------------------------------------------------

def _iso(at: datetime, tz: str) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")


def _csv_rows(digest: Digest, kind: str) -> tuple[list[str], Iterable[list[object]]]:
    tz, who = digest.timezone, (lambda uid: digest.names.get(uid, uid))
    if kind == "waiting":
        return (["request", "title", "filed by", "status", "due", "overdue", "waiting for"],
                ([w.request_id, w.title, w.department, Status(w.status).label, _iso(w.due_at, tz),
                  "yes" if w.overdue else "no", "; ".join(w.outstanding)] for w in digest.waiting))
    if kind == "decided":
        return (["request", "title", "filed by", "outcome", "decided", "by the chair", "reviewed by",
                 "objections", "conditions"],
                ([x.request_id, x.title, x.department, Status(x.outcome).label, _iso(x.decided_at, tz),
                  "yes" if x.by_chair else "no", "; ".join(x.reviewers), len(x.objections), len(x.conditions)]
                 for x in digest.decided))
    if kind == "conditions":
        return (["request", "title", "filed by", "approved", "open for (hours)", "condition from", "department",
                 "condition"],
                ([u.request_id, u.title, u.department, _iso(u.approved_at, tz), u.age_hours, who(c.user),
                  c.department, c.text] for u in digest.unmet_conditions for c in u.conditions))
    return (["stage", "request", "request title", "by", "department", "weight", "resolution", "reason"],
            ([stage, o.request_id, o.request_title, who(o.user), o.department,
              "blocking" if o.blocking else "concern", o.resolution or "standing", o.reason]
             for stage, o in _list(digest, "objections")))


def render_list_csv(digest: Digest, kind: str) -> bytes:
    """One list in full, in the digest's order, as UTF-8 CSV with a header row (and a BOM, so
    spreadsheets read the accents right)."""
    header, rows = _csv_rows(digest, kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode()


def render_csv(digest: Digest) -> dict[str, bytes]:
    """The full lists the text and HTML cut, by file name: what goes beside the HTML report."""
    return {csv_name(digest, kind): render_list_csv(digest, kind) for kind in cut_lists(digest)}


# --- Slack ---------------------------------------------------------------------------------


def _pack(title: str, items: Sequence[str], total: int, budget: int, more: Callable[[int], str]) -> list[str]:
    """Whole items (the first of `total`) into at most `budget` section texts of at most
    SECTION_LIMIT characters each.

    Items beyond those given or beyond the budget are counted in a closing "… and N more" line,
    for which room is made by dropping the last items shown if need be.
    """
    texts: list[list[str]] = [[title]]

    def size(parts: list[str]) -> int:
        return sum(map(len, parts)) + len(parts) - 1

    shown = 0
    for item in items:
        item = clip(item, SECTION_LIMIT - len(title) - 1)
        if size(texts[-1] + [item]) <= SECTION_LIMIT:
            texts[-1].append(item)
        elif len(texts) < budget:
            texts.append([item])
        else:
            break
        shown += 1
    hidden = total - shown
    if hidden:
        while size(texts[-1] + [more(hidden)]) > SECTION_LIMIT and len(texts[-1]) > 1:
            texts[-1].pop()
            hidden += 1
        texts[-1].append(more(hidden))
    return ["\n".join(parts) for parts in texts]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def _header(text: str) -> dict[str, Any]:
    text = one_line(text)
    if len(text) > HEADER_LIMIT:
        text = text[: HEADER_LIMIT - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _items(kind: str, digest: Digest) -> Sequence[Any]:
    if kind == "objections":
        return digest.objections_by_stage
    if kind == "stages":
        return busiest_stages(digest.stages)
    if kind == "conditions":
        return digest.unmet_conditions
    return getattr(digest, kind)


def render_slack(digest: Digest, *, report_note: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The digest as a Slack message: (one-line fallback text, Block Kit blocks).

    Every piece of user text is escaped by the template's `mrkdwn` filter; `report_note`
    (e.g. "Full report attached") is escaped too and closes every shortened list.
    """
    slack = _template(digest, "digest.slack.j2").make_module(_context(digest))
    note = report_note or ""
    fallback = one_line(slack.fallback(digest))
    if digest.quiet:
        blocks = [_header(slack.header(digest)), _section(str(slack.quiet(digest, note)).strip())]
        return fallback, blocks
    blocks: list[dict[str, Any]] = [
        _header(slack.header(digest)),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": str(slack.period(digest)).strip()}]},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": str(slack.headline(key, digest)).strip()}
                                       for key in _HEADLINE_FIELDS]},
    ]
    for kind, cap, budget in _SLACK_SECTIONS:
        items = _items(kind, digest)
        if not items:
            continue
        # Only the items that can be shown are rendered: a company's week has thousands waiting.
        lines = [str(slack.item(kind, x, digest)).strip() for x in items[:cap]]
        texts = _pack(str(slack.title(kind, digest)).strip(), lines, len(items), budget,
                      lambda n: str(slack.more(n, note)).strip())
        blocks.append({"type": "divider"})
        blocks.extend(_section(text) for text in texts)
    footer = str(slack.footer(digest, note)).strip()
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    if len(blocks) > MAX_BLOCKS:  # the caps above make this impossible; fail loudly rather than be refused by Slack
        raise AssertionError(f"digest message has {len(blocks)} blocks, over Slack's {MAX_BLOCKS}")
    return fallback, blocks


def render(digest: Digest, fmt: str) -> str:
    """One of FORMATS as a string: the Slack format gives the blocks as pretty JSON."""
    if fmt == "text":
        return render_text(digest)
    if fmt == "html":
        return render_html(digest)
    if fmt == "slack":
        return json.dumps(render_slack(digest)[1], indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown digest format {fmt!r}: expected one of {', '.join(FORMATS)}")

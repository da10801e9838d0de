"""Loading the council file into the database, and reading who is who."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from cxbot.clock import Clock
from cxbot.council_file import CouncilSpec
from cxbot.domain.calendar import WorkingTime
from cxbot.domain.errors import NotFound
from cxbot.domain.model import UNDER_REVIEW, Role
from cxbot.domain.permissions import Membership as MembershipView
from cxbot.domain.permissions import substitution_refusal
from cxbot.domain.policy import CouncilPolicy
from cxbot.domain.reasons import keyed
from cxbot.i18n import N_
from cxbot.services import audit, notices
from cxbot.store.models import Council, Department, Hold, Membership, ReviewRequest, Substitute
from cxbot.store.uow import UnitOfWork

NO_COUNCIL = N_("The council is not set up yet: an operator runs `cxbot council load FILE`.")


@dataclass
class LoadReport:
    """What a load changed; empty when the file matched the database already."""

    changes: list[str] = field(default_factory=list)
    # What the load does to the open requests, one line each ("#3: stops waiting for Marketing (dropped); approved").
    requests: list[str] = field(default_factory=list)


def load_councils(uow: UnitOfWork, specs: Sequence[CouncilSpec], *, clock: Clock, actor: str = "council-file",
                  dry_run: bool = False) -> list[LoadReport]:
    """Load several council files, all or nothing: one transaction for all of them, so a
    problem with any file (two files of the same council, two councils on one channel)
    leaves the database as it was. Each file loads its own council only (`council.key`):
    the departments, people and requests of the councils not given are never touched.
    Returns a report per file, in the order given."""
    seen: dict[str, CouncilSpec] = {}
    for spec in specs:
        if spec.key in seen:
            raise spec.fail("council.key", f"council {spec.key!r} is also loaded from {seen[spec.key].source}: "
                                           "one file per council")
        seen[spec.key] = spec
    channels: dict[str, CouncilSpec] = {}
    for spec in specs:
        if spec.channel in channels:
            raise spec.fail("council.channel", _same_channel(spec.channel, channels[spec.channel].key))
        channels[spec.channel] = spec
    now = clock.now()
    with uow:
        s = uow.session
        reports = [_load(s, spec, now, actor, dry_run) for spec in specs]
        s.flush()
        # A channel identifies its council (thread replies, button presses): one council a channel.
        for spec in specs:
            other = s.scalar(select(Council.key).where(Council.channel == spec.channel, Council.key != spec.key))
            if other is not None:
                raise spec.fail("council.channel", _same_channel(spec.channel, other))
        if not dry_run:
            uow.commit()
    return reports


def _same_channel(channel: str, other: str) -> str:
    return (f"{channel} is already council {other!r}'s channel: each council needs a channel of its own "
            "(the channel tells cxbot which council a thread belongs to)")


def load_council(uow: UnitOfWork, spec: CouncilSpec, *, clock: Clock, actor: str = "council-file",
                 dry_run: bool = False) -> LoadReport:
    """Make the database match the file, in one transaction (`load_councils` with one file).

    Idempotent: the same file twice changes nothing. People and departments missing from
    the file are deactivated, never deleted, so their past votes keep their meaning; only
    the file's own council (`council.key`) is looked at.
    A substitution the new council no longer supports (cxbot.domain.permissions
    `substitution_refusal`) ends with the load: it is audited and its advocate told by DM.
    An open request stops waiting for a department the load drops or leaves with nobody
    who may answer (`_release_unanswerable`); a department the load adds is not asked about
    the requests already under review; a request whose own filing department the load drops
    or leaves without a lead goes on being reviewed (`_filing_department_left`).

    With `dry_run`, the whole load runs and reports what it would change, then rolls back:
    the database is left as it was and nothing is queued for Slack.
    """
    return load_councils(uow, [spec], clock=clock, actor=actor, dry_run=dry_run)[0]


def _load(s: Session, spec: CouncilSpec, now: datetime, actor: str, dry_run: bool) -> LoadReport:
    report = LoadReport()
    council = s.scalar(select(Council).where(Council.key == spec.key))
    filing_before = _filing_standing(s, council.id) if council is not None else set()
    settings = {
        "channel": spec.channel, "chair": spec.chair, "admins": list(spec.admins),
        "timezone": spec.timezone, "stages": list(spec.stages),
        "policy": spec.policy.to_json(), "working_time": spec.working_time.to_json(),
        "language": spec.language, "moments": [m.to_json() for m in spec.moments],
    }
    if council is None:
        council = Council(key=spec.key, loaded_at=now, **settings)
        s.add(council)
        s.flush()
        report.changes.append("council created")
    else:
        for key, value in settings.items():
            if getattr(council, key) != value:
                setattr(council, key, value)
                report.changes.append(f"council.{key} changed")
        if report.changes:
            council.loaded_at = now
    s.info.pop("councils", None)

    depts = {d.key: d for d in s.scalars(select(Department).where(Department.council_id == council.id))}
    for position, dspec in enumerate(spec.departments):
        dept = depts.get(dspec.key)
        if dept is None:
            dept = Department(council_id=council.id, key=dspec.key, name=dspec.name, position=position,
                              active=True, stages=list(dspec.stages), usergroup=dspec.usergroup)
            s.add(dept)
            s.flush()
            depts[dspec.key] = dept
            report.changes.append(f"department {dspec.key} added")
        elif (dept.name, dept.position, dept.active, dept.stages, dept.usergroup) != (
                dspec.name, position, True, list(dspec.stages), dspec.usergroup):
            dept.name, dept.position, dept.active, dept.stages = dspec.name, position, True, list(dspec.stages)
            dept.usergroup = dspec.usergroup
            report.changes.append(f"department {dspec.key} updated")
    wanted_keys = {d.key for d in spec.departments}
    for key, dept in depts.items():
        if key not in wanted_keys and dept.active:
            dept.active = False
            report.changes.append(f"department {key} deactivated")

    wanted: set[tuple[str, int, Role]] = set()
    for dspec in spec.departments:
        dept_id = depts[dspec.key].id
        wanted |= {(u, dept_id, Role.LEAD) for u in dspec.leads}
        wanted |= {(u, dept_id, Role.ADVOCATE) for u in dspec.advocates}
    names = {d.id: d.key for d in depts.values()}
    existing = {(m.user_id, m.department_id, m.role): m for m in s.scalars(
        select(Membership).where(Membership.department_id.in_(list(names))))}
    for key, member in existing.items():
        active = key in wanted
        if member.active != active:
            member.active = active
            verb = "reactivated" if active else "deactivated"
            report.changes.append(f"{member.role.value} {member.user_id} of {names[member.department_id]} {verb}")
    for user, dept_id, role in sorted(wanted - existing.keys(), key=lambda k: (k[1], k[2].value, k[0])):
        s.add(Membership(user_id=user, department_id=dept_id, role=role, active=True))
        report.changes.append(f"{role.value} {user} of {names[dept_id]} added")

    if report.changes:
        s.flush()
        audit.record(s, kind="council_loaded", actor=actor, at=now, changes=report.changes, council=spec.key)
        _end_broken_substitutions(s, council, now, actor, report)
        _release_unanswerable(s, council, now, actor, report, dry_run=dry_run)
        _filing_department_left(s, now, actor, report, filing_before)
        # Who is asked, mentioned and counted follows the council: its open requests show it.
        notices.refresh_many(s, list(s.scalars(select(ReviewRequest.id).where(
            ReviewRequest.status.in_(UNDER_REVIEW), ReviewRequest.department_id.in_(list(names)))
            .order_by(ReviewRequest.id))), now)
    return report


def _release_unanswerable(s: Session, council: Council, now: datetime, actor: str, report: LoadReport, *,
                          dry_run: bool) -> None:
    """Release, on every request under review, the departments nobody can answer for any
    more: dropped from the council, or left without an advocate outside the filing
    department. Otherwise the request would wait for them until it escalates. Their holds
    end, the thread says so (the same `rerouted` note an amendment's release gives), and the
    outcome is worked out again: with them gone the request may be approved. A request
    that would be left asking nobody keeps its routing instead (nothing would ever settle
    it), and escalates at its deadline as any other would; the report names it."""
    # Imported here: the lifecycle reads the council through this module.
    from cxbot.services.lifecycle import seats, settle

    departments = list(s.scalars(select(Department.id).where(Department.council_id == council.id)))
    requests = list(s.scalars(select(ReviewRequest).where(ReviewRequest.status.in_(UNDER_REVIEW),
                                                          ReviewRequest.department_id.in_(departments))
                              .options(selectinload(ReviewRequest.routings)).order_by(ReviewRequest.id)))
    # Who may answer depends on the filing department only: counted once for each.
    answering_for: dict[int, dict[int, int]] = {}
    for request in requests:
        routed = list(request.routings)
        if not routed:
            continue
        answering = answering_for.get(request.department_id)
        if answering is None:
            answering = answering_for[request.department_id] = seats(s, departments, request.department_id)
        gone = [r for r in routed if not (r.department.active and answering.get(r.department_id, 0) > 0)]
        if not gone:
            continue
        if len(gone) == len(routed):
            # Released from every department it asks, nothing would ever settle it: it keeps
            # waiting, so it escalates (or expires) at its deadline as the policy says.
            names = ", ".join(r.department.name for r in gone)
            report.requests.append(f"#{request.id}: nobody is left to answer for {names}, the only "
                                   "department(s) it asks: it keeps waiting until it escalates")
            continue
        released = []
        for routing in gone:
            dept = routing.department
            reason = keyed("dropped" if not dept.active else "no_advocate")
            for hold in s.scalars(select(Hold).where(Hold.request_id == request.id, Hold.ended_at.is_(None),
                                                     Hold.department_id == dept.id)):
                hold.ended_at, hold.end_reason = now, "released"
            request.routings.remove(routing)
            released.append({"department": dept.key, "name": dept.name, **reason})
        for position, routing in enumerate(request.routings):
            routing.position = position
        request.updated_at = now
        s.flush()
        event = audit.record(s, kind="rerouted", actor=actor, at=now, request_id=request.id, asked=[],
                             released=released, by_council_load=True)
        notices.thread_note(s, request.id, event, now)
        before = request.status
        after = settle(s, request, now)
        names = ", ".join(d["name"] for d in released)
        why = "; ".join(dict.fromkeys(d["reason"] for d in released))
        line = f"#{request.id}: stops waiting for {names} ({why})"
        if after is not before:
            line += f"; {'would be ' if dry_run else 'now '}{after.label.lower()}"
        report.requests.append(line)


def _filing_standing(s: Session, council_id: int) -> set[int]:
    """The council's departments that filed a request under review and still speak for it:
    active, with an active lead."""
    filing = select(ReviewRequest.department_id).where(ReviewRequest.status.in_(UNDER_REVIEW))
    return set(s.scalars(select(Department.id).where(
        Department.council_id == council_id, Department.id.in_(filing), Department.active.is_(True),
        select(Membership.id).where(Membership.department_id == Department.id, Membership.role == Role.LEAD,
                                    Membership.active.is_(True)).exists())))


def _filing_department_left(s: Session, now: datetime, actor: str, report: LoadReport, before: set[int]) -> None:
    """A request under review whose filing department the load drops, or leaves without a
    lead (it stood before the load: `before`), goes on being reviewed: the change it proposes
    still exists and the departments asked can still answer, so nothing is released or
    decided for it. The thread says the filing department left the council and that the
    filer keeps the filer's actions (amend, withdraw, reopen: `filing_department_gone`
    gives them to the filer alone once nobody else speaks for the department); the audit
    trail records a `filing_department_left` event; the report (and so `--dry-run`) names
    the request. People who held a role in the department no longer do, so they are no
    longer kept from reviewing its change; the outcome is worked out again."""
    from cxbot.services.lifecycle import filing_department_gone, settle

    if not before:
        return
    for request in s.scalars(select(ReviewRequest).where(ReviewRequest.status.in_(UNDER_REVIEW),
                                                         ReviewRequest.department_id.in_(before))
                             .order_by(ReviewRequest.id)):
        reason = filing_department_gone(s, request)
        if reason is None:
            continue
        dept = request.department
        event = audit.record(s, kind="filing_department_left", actor=actor, at=now, request_id=request.id,
                             department=dept.key, name=dept.name, filer=request.filer, by_council_load=True,
                             **keyed("dropped" if reason == "dropped from the council" else "no_lead"))
        notices.thread_note(s, request.id, event, now)
        settle(s, request, now)
        report.requests.append(f"#{request.id}: its filing department {dept.name} left the council ({reason}); "
                               "the review goes on, and its filer keeps amend, withdraw and reopen")


def _end_broken_substitutions(s: Session, council: Council, now: datetime, actor: str, report: LoadReport) -> None:
    """End every current or coming substitution in the council whose advocate or substitute
    no longer has the standing for it."""
    _, working_time = council_rules(council)
    rows = list(s.scalars(select(Substitute).where(
        Substitute.cancelled_at.is_(None), Substitute.until >= working_time.local_date(now),
        Substitute.department_id.in_(select(Department.id).where(Department.council_id == council.id)))
        .order_by(Substitute.id)))
    if not rows:
        return
    members = memberships(s, {user for row in rows for user in (row.advocate, row.substitute)}, council.id)
    for row in rows:
        reason = substitution_refusal(members[row.advocate], members[row.substitute])
        if reason is None:
            continue
        row.cancelled_at = now
        report.changes.append(f"substitute {row.substitute} for {row.advocate} ended")
        audit.record(s, kind="substitute_ended", actor=actor, at=now, advocate=row.advocate,
                     substitutes=[row.substitute], reason=reason, by_council_load=True)
        notices.substitute_ended(s, advocate=row.advocate, substitute=row.substitute, reason=reason, now=now)


def get_council(session: Session, council_id: int | None = None) -> Council:
    """A council row, read once per unit of work (the session's identity map holds objects
    weakly, so without this a use case would read it again at every look-up).

    Without `council_id`, the only council: what a deployment of one council means
    everywhere; with several, a use case must say which (`council_of` a request)."""
    cache: dict[int | None, Council] = session.info.setdefault("councils", {})
    council = cache.get(council_id)
    if council is not None:
        return council
    if council_id is None:
        found = session.scalars(select(Council).order_by(Council.id).limit(2)).all()
        if len(found) > 1:
            raise NotFound(N_("There are several councils here ({councils}): say which.",
                                 councils=", ".join(council_keys(session))))
        council = found[0] if found else None
    else:
        council = session.get(Council, council_id)
    if council is None:
        raise NotFound(NO_COUNCIL)
    cache[council_id] = cache[council.id] = council
    return council


def council_of(session: Session, request: ReviewRequest) -> Council:
    """The council a request belongs to: its filing department's."""
    department = session.get(Department, request.department_id)
    assert department is not None
    return get_council(session, department.council_id)


def council_keys(session: Session) -> list[str]:
    return list(session.scalars(select(Council.key).order_by(Council.key)))


def find_council(session: Session, key: str | None) -> Council:
    """The council keyed `key`; without a key, the only one. Unknown (or not given while
    there are several): NotFound naming the keys there are."""
    keys = council_keys(session)
    if not keys:
        raise NotFound(NO_COUNCIL)
    if key is None:
        if len(keys) == 1:
            return get_council(session)
        raise NotFound(N_("there are several councils: name one with --council ({councils})", councils=", ".join(keys)))
    council = session.scalar(select(Council).where(Council.key == key))
    if council is None:
        raise NotFound(N_("there is no council {key}; the councils are: {councils}", key=repr(key),
                          councils=", ".join(keys)))
    return council


def council_rules(council: Council) -> tuple[CouncilPolicy, WorkingTime]:
    """The council's decision policy and working time, as domain values."""
    working_time = (WorkingTime.from_json(council.working_time) if council.working_time
                    else WorkingTime(timezone=council.timezone))
    return CouncilPolicy.from_json(council.policy), working_time


def membership(session: Session, user: str, council_id: int | None = None) -> MembershipView:
    return memberships(session, [user], council_id)[user]


def memberships(session: Session, users: Collection[str], council_id: int | None = None) -> dict[str, MembershipView]:
    """Each person's active roles in a council (the only one, without `council_id`), read
    in one query however many people. Roles are per council: a lead of Billing in one
    council is nobody in another, and a council's chair and admins are only its own."""
    council = get_council(session, council_id)
    roles: dict[str, set[tuple[str, Role]]] = {user: set() for user in users}
    for user, key, role in session.execute(_ROLES, {"users": list(roles), "council": council.id}):
        roles[user].add((key, role))
    return {user: MembershipView(user=user, roles=frozenset(found), is_chair=council.chair == user,
                                 is_admin=user in council.admins)
            for user, found in roles.items()}


# Read by every round of presses: built once (building a statement costs more than running it).
_ROLES = (select(Membership.user_id, Department.key, Membership.role)
          .join(Membership.department)
          .where(Membership.user_id.in_(bindparam("users", expanding=True)), Membership.active.is_(True),
                 Department.active.is_(True), Department.council_id == bindparam("council")))


@dataclass(frozen=True)
class DepartmentRow:
    key: str
    name: str
    leads: tuple[str, ...]
    advocates: tuple[str, ...]
    usergroup: str = ""   # the Slack user group the vote prompt mentions instead of the advocates


@dataclass(frozen=True)
class CouncilOverview:
    key: str
    channel: str
    chair: str
    admins: tuple[str, ...]
    timezone: str
    stages: tuple[str, ...]
    departments: tuple[DepartmentRow, ...]


def overview(session: Session, key: str | None = None) -> CouncilOverview:
    """A council (the only one, without `key`) as stored, its active departments in file order."""
    council = find_council(session, key)
    mine = select(Department.id).where(Department.council_id == council.id)
    members: dict[int, dict[Role, list[str]]] = {}
    for m in session.scalars(select(Membership).where(Membership.active.is_(True), Membership.department_id.in_(mine))
                             .order_by(Membership.id)):
        members.setdefault(m.department_id, {r: [] for r in Role})[m.role].append(m.user_id)
    depts = session.scalars(select(Department).where(Department.active.is_(True), Department.council_id == council.id)
                            .order_by(Department.position))
    return CouncilOverview(
        key=council.key, channel=council.channel, chair=council.chair, admins=tuple(council.admins),
        timezone=council.timezone, stages=tuple(council.stages),
        departments=tuple(
            DepartmentRow(
                d.key, d.name,
                tuple(members.get(d.id, {}).get(Role.LEAD, [])),
                tuple(members.get(d.id, {}).get(Role.ADVOCATE, [])),
                d.usergroup,
            )
            for d in depts
        ),
    )

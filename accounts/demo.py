"""Demo data for `manage.py seed_demo`: schools, units and demo accounts.

Everything here is idempotent: rows are found by their natural keys (a school by
its code, a unit by region and name, a user by username) and brought to the
values below, so running the loaders again changes nothing and duplicates nothing.

`load_demo()` runs every loader named in LOADERS, in order, in one transaction. Later
issues add their own loaders (question banks, contests…) by appending a dotted path
to LOADERS; a loader takes the shared `DemoReport` and adds its lines and logins.
The fictional school directory and the units (and their loaders) are in
accounts.demo_directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from .demo_directory import load_schools, load_units
from .models import (
    District,
    GuardianConsent,
    Profile,
    Region,
    School,
    Unit,
    User,
)
from .roles import mfa_required, roles_sync
from .selectors import consent_state, user_can_play
from .services import consent_grant, consent_request_send, consent_request_token

# Loaders run in this order; accounts first, since everything else refers to it.
LOADERS: list[str] = [
    "accounts.demo.load_accounts",
    "quizzes.demo.load_questions",
    "quizzes.demo.load_blueprint",
    "quizzes.demo.load_self_test",
    "quizzes.demo.load_practice",
]

DEMO_PASSWORD = "sciarena-demo"  # noqa: S105 - a published demo password, by design
# Organizers and admins must sign in with TOTP (accounts.roles), demo ones too: they
# share this published secret, printed with the logins, so the demo shows the sign-in
# a real deployment has (and, like the password, it protects nothing).
DEMO_TOTP_SECRET = "SCIARENADEMOTOTPSECRETFORALLDEMO"  # noqa: S105 - published, by design
DEMO_PREFIX = "demo_"
DEMO_EMAIL_DOMAIN = "example.org"
EXPECTED_DISTRICTS = 16
EXPECTED_REGIONS = 17

Group = Profile.PopulationGroup
Role = User.Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    nickname: str
    group: str
    age: int
    try_this: str
    school: str | None = None
    unit: str | None = None
    region: str | None = None  # for people with neither school nor unit
    grade: int | None = None
    elder_mode: bool = False
    is_staff: bool = False
    is_superuser: bool = False
    # "granted": a guardian has consented (via consent_grant); "pending": none yet.
    consent: str | None = None

    @property
    def email(self) -> str:
        return f"{self.username}@{DEMO_EMAIL_DOMAIN}"


# Ages, not birth years: the two children must stay under 14 whatever year it is.
USERS: list[DemoUser] = [
    DemoUser(
        "demo_admin",
        Role.ADMIN,
        "演示管理员",
        Group.OTHER,
        45,
        "Superuser (TOTP): everything in /admin/",
        region="dongcheng",
        is_staff=True,
        is_superuser=True,
    ),
    DemoUser(
        "demo_organizer",
        Role.ORGANIZER,
        "赛事组织者",
        Group.CIVIL_SERVANT,
        38,
        "Organizer (staff, TOTP): question banks; /directory/ for schools and units",
        unit="北京市海淀区教育委员会",
        is_staff=True,
    ),
    DemoUser(
        "demo_teacher",
        Role.TEACHER,
        "王老师",
        Group.OTHER,
        33,
        "Teacher at 海淀示例第一中学 (Haidian); sign in by email too",
        school="海淀示例第一中学（虚构）",
    ),
    DemoUser(
        "demo_student_rdfz",
        Role.STUDENT,
        "小海豚",
        Group.STUDENT,
        16,
        "Student, grade 10, Haidian",
        school="海淀示例第一中学（虚构）",
        grade=10,
    ),
    DemoUser(
        "demo_student_bj4",
        Role.STUDENT,
        "银杏叶",
        Group.STUDENT,
        15,
        "Student, grade 9, Xicheng",
        school="西城示例第一中学（虚构）",
        grade=9,
    ),
    DemoUser(
        "demo_student_luhe",
        Role.STUDENT,
        "运河之星",
        Group.STUDENT,
        17,
        "Student, grade 11, Tongzhou",
        school="通州示例第一中学（虚构）",
        grade=11,
    ),
    DemoUser(
        "demo_student_miyun",
        Role.STUDENT,
        "水库小卫士",
        Group.STUDENT,
        15,
        "Student, grade 9, Miyun",
        school="密云示例第一中学（虚构）",
        grade=9,
    ),
    DemoUser(
        "demo_child_consented",
        Role.STUDENT,
        "小火箭",
        Group.STUDENT,
        11,
        "Under 14, guardian consent granted",
        school="海淀示例实验小学（虚构）",
        grade=5,
        consent="granted",
    ),
    DemoUser(
        "demo_child_pending",
        Role.STUDENT,
        "小蜗牛",
        Group.STUDENT,
        10,
        "Under 14, consent pending: blocked until a guardian agrees",
        school="东城示例实验小学（虚构）",
        grade=4,
        consent="pending",
    ),
    DemoUser(
        "demo_farmer",
        Role.CITIZEN,
        "果园老李",
        Group.FARMER,
        52,
        "Citizen, farmer, Pinggu township team",
        unit="平谷区峪口镇",
    ),
    DemoUser(
        "demo_worker",
        Role.CITIZEN,
        "亦庄工匠",
        Group.WORKER,
        34,
        "Citizen, industrial worker, Development Area",
        unit="亦庄智能制造有限公司（演示）",
    ),
    DemoUser(
        "demo_elder",
        Role.CITIZEN,
        "什刹海张奶奶",
        Group.ELDERLY,
        72,
        "Citizen, elderly: elder mode on (large type)",
        unit="西城区什刹海街道",
        elder_mode=True,
    ),
    DemoUser(
        "demo_civil_servant",
        Role.CITIZEN,
        "应急小刘",
        Group.CIVIL_SERVANT,
        41,
        "Citizen, civil servant, Chaoyang",
        unit="北京市朝阳区应急管理局",
    ),
]

GUARDIAN_CONTACT = "guardian.{username}@" + DEMO_EMAIL_DOMAIN


class DemoSetupError(Exception):
    """The database is not ready for demo data (migrations not run)."""


@dataclass
class Credential:
    username: str
    role: str
    try_this: str
    can_play: bool
    password: str = DEMO_PASSWORD


@dataclass
class DemoReport:
    """What the loaders did, for the command to print."""

    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (created, total)
    credentials: list[Credential] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, name: str, created: int, total: int) -> None:
        self.counts[name] = (created, total)


def check_ready() -> None:
    """Fail clearly unless the districts and regions of the data migration are there."""
    from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise DemoSetupError(
                f"{len(pending)} migration(s) not applied. Run `python manage.py migrate` first."
            )
        districts = District.objects.count()
        regions = Region.objects.count()
    except DatabaseError as exc:
        raise DemoSetupError(
            f"The database is not ready ({exc}). Run `python manage.py migrate` first."
        ) from exc
    if districts != EXPECTED_DISTRICTS or regions != EXPECTED_REGIONS:
        raise DemoSetupError(
            f"Expected {EXPECTED_DISTRICTS} districts and {EXPECTED_REGIONS} regions from "
            f"migration accounts.0002, found {districts} and {regions}. "
            "Run `python manage.py migrate` (without --fake)."
        )


def load_demo() -> DemoReport:
    """Run every loader in LOADERS in one transaction and return what they did."""
    check_ready()
    report = DemoReport()
    with transaction.atomic():
        for path in LOADERS:
            import_string(path)(report)
    return report


def load_accounts(report: DemoReport) -> None:
    schools = load_schools(report)
    units = load_units(report)
    _load_users(report, schools=schools, units=units)


def _load_users(report: DemoReport, *, schools: dict[str, School], units: dict[str, Unit]) -> None:
    from allauth.account.models import EmailAddress

    regions = {r.slug: r for r in Region.objects.select_related("district")}
    region_by_id = {r.pk: r for r in regions.values()}
    region_of_district = {r.district_id: r for r in regions.values() if r.district_id}
    created = 0
    for spec in USERS:
        user, was_created = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "role": spec.role,
                "email": spec.email,
                "is_active": True,
                "is_staff": spec.is_staff,
                "is_superuser": spec.is_superuser,
                "deleted_at": None,
            },
        )
        created += was_created
        # Checking first keeps a second run from rewriting the hash (a new salt each time).
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if mfa_required(user):
            _give_demo_totp(user)
        EmailAddress.objects.update_or_create(
            user=user, email=spec.email, defaults={"verified": True, "primary": True}
        )

        school = schools[spec.school] if spec.school else None
        unit = units[spec.unit] if spec.unit else None
        if school is not None:
            region = region_of_district[school.district_id]
        elif unit is not None:
            region = region_by_id[unit.region_id]
        else:
            region = regions[spec.region] if spec.region else None
        _save_profile(user, spec, region=region, school=school, unit=unit)
        _ask_consent(report, user, spec)

        report.credentials.append(
            Credential(
                username=spec.username,
                role=spec.role,
                try_this=spec.try_this,
                can_play=user_can_play(user=user),
            )
        )
    report.count("demo users", created, len(USERS))
    # What an organizer may do in the admin (accounts.roles), as production gets it.
    roles_sync()
    report.notes.append(
        f"Every demo account also signs in by email: <username>@{DEMO_EMAIL_DOMAIN}."
    )
    report.notes.append(
        "Organizer and admin accounts need a second factor, as in production: add the "
        f"TOTP secret {DEMO_TOTP_SECRET} to an authenticator app (or run "
        f"`oathtool --totp -b {DEMO_TOTP_SECRET}`) and give its 6-digit code after the "
        "password."
    )


def _save_profile(
    user: User, spec: DemoUser, *, region: Region | None, school: School | None, unit: Unit | None
) -> None:
    Profile.objects.update_or_create(
        user=user,
        defaults={
            "nickname": spec.nickname,
            "population_group": spec.group,
            "birth_year": timezone.localdate().year - spec.age,
            "district": region.district if region else None,
            "region": region,
            "school": school,
            "unit": unit,
            "grade": spec.grade,
            "elder_mode": spec.elder_mode,
        },
    )


def _ask_consent(report: DemoReport, user: User, spec: DemoUser) -> None:
    """Consent records are append-only: add the demo grant only if the child has no
    record at all, so a second run (or a guardian's later choice) stands."""
    contact = GUARDIAN_CONTACT.format(username=spec.username)
    if spec.consent == "granted" and consent_state(user=user) is None:
        consent_grant(
            child=user,
            guardian_contact=contact,
            relationship=GuardianConsent.Relationship.MOTHER,
            allow_public_display=False,
        )
    if spec.consent == "pending" and consent_state(user=user) is None:
        report.notes.append(
            f"Guardian consent page for {spec.username} (open it to play the guardian): "
            f"{_pending_consent_link(user, contact=contact)}"
        )


def _pending_consent_link(child: User, *, contact: str) -> str:
    """The path of the consent page for a child still waiting for a guardian.

    The link names a stored ConsentRequest, like every consent link. The first run
    asks through consent_request_send (delivered after commit by the configured
    backends: the console ones by default); later runs reuse the newest request, so
    seeding again sends nothing and records nothing.
    """
    newest = child.consent_requests.order_by("-created_at", "-id").first()
    if newest is None:
        return consent_request_send(
            child=child,
            guardian_contact=contact,
            relationship=GuardianConsent.Relationship.FATHER,
        )
    return reverse("accounts:consent", args=[consent_request_token(newest)])


def _give_demo_totp(user: User) -> None:
    """One TOTP authenticator with the published demo secret (allauth's model; its
    adapter encrypts the secret as its own activation does). A second run, or one
    after someone changed the demo account's authenticator, leaves exactly that."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt, encrypt

    totps = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP)
    current = totps.first()
    if current is not None and decrypt(current.data["secret"]) == DEMO_TOTP_SECRET:
        return
    totps.delete()
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": encrypt(DEMO_TOTP_SECRET)}
    )

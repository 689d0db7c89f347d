"""The demo's fictional school directory, and the units beside it: the schools and
units `manage.py seed_demo` adds (accounts.demo.load_accounts calls the loaders here
before it adds the demo accounts), and the sample file an organizer downloads.

Like every demo loader these are idempotent: a school is found by its code, a unit by
region and name, and brought to the values below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import District, Region, School, SchoolStage, Unit

if TYPE_CHECKING:
    from .demo import DemoReport

Stage = School.Stage
Kind = Unit.Kind

# A fictional school directory: two or more schools in each of the 16 districts and
# two in the Development Area (in Daxing, competing for the Development Area). Every
# name says （虚构） and no such school exists. The codes cannot be real: a national
# school code (学校标识码) is two digits of school category, two of province, six of
# sequence, and no category is numbered 99 (they run from 11, kindergartens, to 93);
# ours are 99, then 11 (Beijing), then the district's last two GB/T 2260 digits (99
# for the Development Area), then a four-digit sequence. Enrolments are round numbers.
DIRECTORY_DISTRICTS: list[tuple[str, str, str]] = [  # GB/T code, short name, code digits
    ("110101", "东城", "01"),
    ("110102", "西城", "02"),
    ("110105", "朝阳", "05"),
    ("110106", "丰台", "06"),
    ("110107", "石景山", "07"),
    ("110108", "海淀", "08"),
    ("110109", "门头沟", "09"),
    ("110111", "房山", "11"),
    ("110112", "通州", "12"),
    ("110113", "顺义", "13"),
    ("110114", "昌平", "14"),
    ("110115", "大兴", "15"),
    ("110116", "怀柔", "16"),
    ("110117", "平谷", "17"),
    ("110118", "密云", "18"),
    ("110119", "延庆", "19"),
]
# In every district: (name after the district's short name, stages, enrolment).
EVERY_DISTRICT: list[tuple[str, tuple[str, ...], int]] = [
    ("示例第一中学（虚构）", (Stage.JUNIOR, Stage.SENIOR), 2400),
    ("示例实验小学（虚构）", (Stage.PRIMARY,), 1800),
]
TWELVE_YEAR = (Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR)
# And a few more kinds: (district code, name, stages, enrolment, region slug or None).
MORE_SCHOOLS: list[tuple[str, str, tuple[str, ...], int, str | None]] = [
    ("110101", "东城示例九年一贯制学校（虚构）", (Stage.PRIMARY, Stage.JUNIOR), 1500, None),
    ("110105", "朝阳示例十二年一贯制学校（虚构）", TWELVE_YEAR, 3200, None),
    ("110108", "海淀示例科技高中（虚构）", (Stage.SENIOR,), 1200, None),
    ("110108", "海淀示例理工大学（虚构）", (Stage.UNIVERSITY,), 20000, None),
    ("110115", "大兴示例职业学校（虚构）", (Stage.VOCATIONAL,), 1600, None),
    ("110106", "丰台示例特殊教育学校（虚构）", (Stage.SPECIAL,), 200, None),
    ("110115", "亦庄示例学校（虚构）", (Stage.PRIMARY, Stage.JUNIOR), 1400, "bda"),
    ("110115", "亦庄示例中学（虚构）", (Stage.JUNIOR, Stage.SENIOR), 1800, "bda"),
]


@dataclass(frozen=True)
class DemoSchool:
    code: str
    name: str
    district: str  # GB/T 2260 code
    stages: tuple[str, ...]
    enrolment: int
    region: str | None = None  # a region slug, when not the district's own


def _directory() -> list[DemoSchool]:
    digits = {code: two for code, _short, two in DIRECTORY_DISTRICTS}
    schools: list[DemoSchool] = []
    numbers: dict[str, int] = {}

    def add(district: str, name: str, stages, enrolment: int, region: str | None) -> None:
        area = "99" if region == "bda" else digits[district]
        numbers[area] = numbers.get(area, 0) + 1
        code = f"9911{area}{numbers[area]:04d}"
        schools.append(DemoSchool(code, name, district, tuple(stages), enrolment, region))

    for district, short, _two in DIRECTORY_DISTRICTS:
        for suffix, stages, enrolment in EVERY_DISTRICT:
            add(district, short + suffix, stages, enrolment, None)
    for district, name, stages, enrolment, region in MORE_SCHOOLS:
        add(district, name, stages, enrolment, region)
    return schools


SCHOOLS: list[DemoSchool] = _directory()

# Bodies other than schools that field teams (DOMAIN.md). Street offices, townships,
# the party school and government bodies are real; the two enterprises are made up
# for the demo and say so in their names.
UNITS: list[tuple[str, str, str]] = [
    ("东城区东华门街道", "dongcheng", Kind.STREET_OFFICE),
    ("西城区什刹海街道", "xicheng", Kind.STREET_OFFICE),
    ("朝阳区望京街道", "chaoyang", Kind.STREET_OFFICE),
    ("海淀区学院路街道", "haidian", Kind.STREET_OFFICE),
    ("平谷区峪口镇", "pinggu", Kind.TOWNSHIP),
    ("密云区溪翁庄镇", "miyun", Kind.TOWNSHIP),
    ("北京市海淀区教育委员会", "haidian", Kind.SCHOOL_BOARD),
    ("北京市朝阳区应急管理局", "chaoyang", Kind.GOVERNMENT),
    ("中共北京市海淀区委党校", "haidian", Kind.PARTY_SCHOOL),
    ("京西新材料有限公司（演示）", "shijingshan", Kind.ENTERPRISE),
    ("亦庄智能制造有限公司（演示）", "bda", Kind.ENTERPRISE),
]


def load_schools(report: DemoReport) -> dict[str, School]:
    """The fictional directory, found by code (a second run changes nothing)."""
    districts = {d.code: d for d in District.objects.all()}
    regions = {r.slug: r for r in Region.objects.all()}
    region_of = {r.district_id: r for r in regions.values() if r.district_id}
    schools: dict[str, School] = {}
    created = 0
    for spec in SCHOOLS:
        district = districts[spec.district]
        school, was_created = School.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "district": district,
                "region": regions[spec.region] if spec.region else region_of[district.pk],
                "enrolment": spec.enrolment,
            },
        )
        school.stages.exclude(stage__in=spec.stages).delete()
        SchoolStage.objects.bulk_create(
            [SchoolStage(school=school, stage=stage) for stage in spec.stages],
            ignore_conflicts=True,
        )
        schools[spec.name] = school
        created += was_created
    report.count("schools", created, len(SCHOOLS))
    return schools


def directory_rows() -> list[list[str]]:
    """The fictional directory as rows of the import file (accounts.directory.files):
    the sample an organizer downloads and the browser test imports."""
    from .directory.files import STAGE_NAME

    names = dict(District.objects.values_list("code", "name_zh"))
    return [
        [
            spec.code,
            spec.name,
            names[spec.district],
            "经开区" if spec.region == "bda" else "",
            "、".join(STAGE_NAME[stage] for stage in spec.stages),
            str(spec.enrolment),
        ]
        for spec in SCHOOLS
    ]


def load_units(report: DemoReport) -> dict[str, Unit]:
    regions = {r.slug: r for r in Region.objects.all()}
    units: dict[str, Unit] = {}
    created = 0
    for name, slug, kind in UNITS:
        unit, was_created = Unit.objects.update_or_create(
            region=regions[slug], name=name, defaults={"kind": kind}
        )
        units[name] = unit
        created += was_created
    report.count("units", created, len(UNITS))
    return units

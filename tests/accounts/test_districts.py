"""Beijing's districts and competition regions, checked against GB/T 2260 (DOMAIN.md)."""

import pytest
from django.db import IntegrityError

from accounts.models import District, Region

pytestmark = pytest.mark.django_db

# Written out again here on purpose, from DOMAIN.md, not imported from the migration.
EXPECTED = {
    "110101": ("东城区", "Dongcheng"),
    "110102": ("西城区", "Xicheng"),
    "110105": ("朝阳区", "Chaoyang"),
    "110106": ("丰台区", "Fengtai"),
    "110107": ("石景山区", "Shijingshan"),
    "110108": ("海淀区", "Haidian"),
    "110109": ("门头沟区", "Mentougou"),
    "110111": ("房山区", "Fangshan"),
    "110112": ("通州区", "Tongzhou"),
    "110113": ("顺义区", "Shunyi"),
    "110114": ("昌平区", "Changping"),
    "110115": ("大兴区", "Daxing"),
    "110116": ("怀柔区", "Huairou"),
    "110117": ("平谷区", "Pinggu"),
    "110118": ("密云区", "Miyun"),
    "110119": ("延庆区", "Yanqing"),
}


def test_the_sixteen_districts_have_their_gb_t_2260_codes_and_names():
    found = {d.code: (d.name_zh, d.name_en) for d in District.objects.all()}
    assert found == EXPECTED


def test_abolished_chongwen_and_xuanwu_codes_are_absent():
    assert not District.objects.filter(code__in=["110103", "110104"]).exists()


def test_there_are_seventeen_competition_regions_one_per_district_plus_the_development_area():
    regions = list(Region.objects.select_related("district"))
    assert len(regions) == 17
    assert {r.district.code for r in regions if r.district} == set(EXPECTED)
    (bda,) = [r for r in regions if r.district is None]
    assert bda.name_zh == "北京经济技术开发区"
    assert bda.slug == "bda"
    assert regions[-1] == bda


def test_a_district_code_outside_beijing_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        District.objects.create(code="120101", name_zh="和平区", name_en="Heping")


def test_names_follow_the_active_language():
    from django.utils import translation

    haidian = District.objects.get(code="110108")
    with translation.override("en"):
        assert str(haidian) == "Haidian"
    with translation.override("zh-hans"):
        assert str(haidian) == "海淀区"

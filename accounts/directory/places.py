"""Places: the districts and regions as a directory file may name them (by code,
Chinese name with or without 区, English name or slug; the Development Area also by
its everyday names). accounts.directory.files reads a file's 区 and 赛区 through
`Places`."""

from __future__ import annotations

from accounts.models import District, Region

DEVELOPMENT_AREA_WORDS = ("经开区", "开发区", "亦庄", "北京经济技术开发区", "bda")


def fold(text: str) -> str:
    return "".join(text.split()).casefold()


class Places:
    """Every district and region, looked up by code, Chinese name (with or without
    区), English name or slug."""

    def __init__(self) -> None:
        self.districts: dict[str, District] = {}
        self.regions: dict[str, Region] = {}
        for district in District.objects.all():
            for key in (district.code, district.name_zh, district.name_zh.removesuffix("区")):
                self.districts[fold(key)] = district
            self.districts[fold(district.name_en)] = district
        for region in Region.objects.select_related("district"):
            keys = [region.slug, region.name_zh, region.name_zh.removesuffix("区"), region.name_en]
            if region.district is not None:
                keys.append(region.district.code)
            else:
                keys.extend(DEVELOPMENT_AREA_WORDS)
            for key in keys:
                self.regions[fold(key)] = region
        self.region_of = {r.district_id: r for r in self.regions.values() if r.district_id}
        self.development_area = next(
            (r for r in self.regions.values() if r.district_id is None), None
        )

    def district(self, text: str) -> District | None:
        return self.districts.get(fold(text))

    def region(self, text: str) -> Region | None:
        return self.regions.get(fold(text))

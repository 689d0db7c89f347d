"""Reads of the directory, for its pages and for contests."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from accounts.models import DirectoryChange, District, Profile, Region, School, Unit


def schools_search(*, query: str = "", region: Region | None = None) -> QuerySet[School]:
    """Schools whose name or code holds `query`, in `region` if given, with what the
    list shows."""
    schools = School.objects.select_related("district", "region").prefetch_related("stages")
    if query:
        schools = schools.filter(Q(name__icontains=query) | Q(code__startswith=query))
    if region is not None:
        schools = schools.filter(region=region)
    return schools.annotate(students=Count("profile")).order_by("region__sort_order", "name")


def units_search(*, query: str = "", region: Region | None = None) -> QuerySet[Unit]:
    units = Unit.objects.select_related("region")
    if query:
        units = units.filter(name__icontains=query)
    if region is not None:
        units = units.filter(region=region)
    return units.annotate(members=Count("profile")).order_by("region__sort_order", "name")


@dataclass
class PendingSchool:
    """Students who typed the same school name in the same district at sign-up."""

    district: District
    name: str
    students: int
    suggestions: list[School]


def pending_schools() -> list[PendingSchool]:
    """Every school name typed at sign-up and not yet placed, with the schools of that
    district whose name contains it or is contained in it (to attach them to)."""
    rows = (
        Profile.objects.filter(school__isnull=True, district__isnull=False)
        .exclude(pending_school_name="")
        .values("district", "pending_school_name")
        .annotate(students=Count("pk"))
        .order_by("district", "pending_school_name")
    )
    districts = District.objects.in_bulk()
    by_district: dict[int, list[School]] = {}
    for school in School.objects.filter(district__in=[r["district"] for r in rows]):
        by_district.setdefault(school.district_id, []).append(school)
    pending = []
    for row in rows:
        name = row["pending_school_name"]
        folded = "".join(name.split()).casefold()
        suggestions = [
            school
            for school in by_district.get(row["district"], [])
            if folded in "".join(school.name.split()).casefold()
            or "".join(school.name.split()).casefold() in folded
        ]
        pending.append(
            PendingSchool(districts[row["district"]], name, row["students"], suggestions)
        )
    return pending


def pending_count() -> int:
    return (
        Profile.objects.filter(school__isnull=True, district__isnull=False)
        .exclude(pending_school_name="")
        .count()
    )


def profiles_in_school_stages(stages: list[str]) -> QuerySet[Profile]:
    """Profiles of students whose school teaches one of `stages` (a contest for
    "students of given school stages"). A nine-year school counts for primary and
    junior; narrow by `grade` for a student's own stage."""
    return Profile.objects.filter(school__stages__stage__in=stages).distinct()


def recent_changes(limit: int = 10) -> QuerySet[DirectoryChange]:
    return DirectoryChange.objects.select_related("actor")[:limit]

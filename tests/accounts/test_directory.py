"""The school and unit directory: organizers import it (all or nothing, previewed,
every problem with its row and column), re-import it (updates by code, or by region
and name), edit it and merge duplicates (everything that names a school moves, in one
audited transaction); students whose school is not listed sign up with its name and
an organizer places them later."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from accounts.directory import files, selectors, services
from accounts.models import DirectoryChange, Profile, Region, School, Unit, User
from realtime.models import LivePlayer, LiveTeam, RosterEntry
from spreadsheets import write_xlsx
from tests.factories import (
    SchoolFactory,
    UnitFactory,
    UserFactory,
    adult,
    child,
    child_signup_form_data,
    district,
    signup_form_data,
)
from tests.support.live import make_round

pytestmark = pytest.mark.django_db

HEADER = ["学校标识码", "学校名称", "区", "赛区", "学段", "在校生数"]


def csv_bytes(rows, header=HEADER) -> bytes:
    return "\n".join(",".join(row) for row in [header, *rows]).encode("utf-8")


def import_schools(data: bytes, filename="schools.csv", **kwargs):
    return services.directory_import(
        kind=files.SCHOOLS, data=data, filename=filename, actor=None, **kwargs
    )


def problems(plan) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, str(e.message)) for e in plan.report.errors]


@pytest.fixture
def organizer():
    user = UserFactory(role=User.Role.ORGANIZER)
    adult(user=user)
    return user


@pytest.fixture
def organizer_client(client, organizer):
    client.force_login(organizer)
    return client


# --- Import ------------------------------------------------------------------------------


def test_a_school_file_is_imported_with_codes_stages_regions_and_optional_enrolment():
    plan = import_schools(
        csv_bytes(
            [
                ["9911080001", "示例第一中学", "海淀区", "", "初中、高中", "2400"],
                ["", "示例九年一贯制学校", "东城", "", "九年一贯制", ""],
                ["9911990001", "亦庄示例学校", "110115", "经开区", "小学/初中", "1400"],
                ["", "示例大学", "Haidian", "", "university", ""],
            ]
        )
    )
    assert plan.ok, problems(plan)
    assert (plan.count("create"), plan.count("update")) == (4, 0)
    first = School.objects.get(code="9911080001")
    assert (first.district.code, first.region.slug, first.enrolment) == ("110108", "haidian", 2400)
    assert first.stage_values == ["junior", "senior"]
    nine = School.objects.get(name="示例九年一贯制学校")
    assert (nine.code, nine.enrolment, nine.stage_values) == (None, None, ["primary", "junior"])
    bda = School.objects.get(code="9911990001")
    assert (bda.district.code, bda.region.slug) == ("110115", "bda")
    change = DirectoryChange.objects.get()
    assert change.action == "import" and change.summary["created"] == 4


def test_a_file_with_one_bad_row_imports_nothing_and_names_every_problem_where_it_is():
    SchoolFactory(code="9911080009", name="已有学校", district=district("110108"))
    before = School.objects.count()
    plan = import_schools(
        csv_bytes(
            [
                ["9911080001", "好学校", "海淀区", "", "初中", "100"],
                ["12345", "短代码学校", "海淀区", "", "初中", ""],
                ["", "无区学校", "", "", "小学", ""],
                ["", "经开区学校", "经开区", "", "小学", ""],
                ["", "坏学段学校", "海淀区", "", "幼儿园", ""],
                ["", "坏人数学校", "海淀区", "", "小学", "很多"],
                ["9911080001", "重复代码学校", "海淀区", "", "小学", ""],
                ["", "好学校", "海淀区", "", "小学", ""],
                ["9911080002", "已有学校", "海淀区", "", "小学", ""],
                ["", "错赛区学校", "海淀区", "西城区", "小学", ""],
            ]
        )
    )
    assert not plan.ok
    found = {(row, column) for row, column, _message in problems(plan)}
    assert found == {
        (3, "A"),
        (4, "C"),
        (5, "C"),
        (6, "E"),
        (7, "F"),
        (8, "A"),
        (9, "B"),
        (10, "A"),
        (11, "D"),
    }
    with translation.override("en"):  # the messages are checked in English
        messages = dict(((row, column), message) for row, column, message in problems(plan))
    assert "10 digits" in messages[(3, "A")]
    assert "经开区" in messages[(5, "C")] and "赛区" in messages[(5, "C")]
    assert "row 2" in messages[(8, "A")]
    assert "9911080009" in messages[(10, "A")]
    assert School.objects.count() == before
    assert not DirectoryChange.objects.exists()


def test_a_file_without_the_required_columns_is_refused_at_its_header():
    plan = import_schools(csv_bytes([["示例学校"]], header=["学校名称"]))
    [(row, _column, message)] = problems(plan)
    assert row == 1 and "区" in message and "学段" in message
    assert not School.objects.exists()


def test_re_importing_updates_by_code_or_by_region_and_name_and_duplicates_nothing():
    import_schools(
        csv_bytes(
            [
                ["9911080001", "示例第一中学", "海淀区", "", "初中", "2400"],
                ["", "示例小学", "西城区", "", "小学", "900"],
            ]
        )
    )
    plan = import_schools(
        csv_bytes(
            [
                # renamed, and now also a high school: found by its code
                ["9911080001", "示例第一中学（新校名）", "海淀区", "", "初中、高中", ""],
                # found by region and name; gains a code; empty enrolment keeps 900
                ["9911020001", "示例小学", "西城区", "", "小学", ""],
                ["", "新学校", "朝阳区", "", "高中", ""],
            ]
        )
    )
    assert plan.ok, problems(plan)
    assert (plan.count("create"), plan.count("update"), plan.count("unchanged")) == (1, 2, 0)
    assert School.objects.count() == 3
    renamed = School.objects.get(code="9911080001")
    assert renamed.name == "示例第一中学（新校名）"
    assert renamed.stage_values == ["junior", "senior"] and renamed.enrolment == 2400
    coded = School.objects.get(name="示例小学")
    assert (coded.code, coded.enrolment) == ("9911020001", 900)
    again = import_schools(
        csv_bytes(
            [
                ["9911080001", "示例第一中学（新校名）", "海淀区", "", "初中、高中", ""],
                ["9911020001", "示例小学", "西城区", "", "小学", ""],
                ["", "新学校", "朝阳区", "", "高中", ""],
            ]
        )
    )
    assert again.count("unchanged") == 3 and School.objects.count() == 3


def test_an_xlsx_file_with_english_headers_and_numeric_cells_is_read_as_a_csv_is():
    data = write_xlsx(
        ["code", "name", "district", "stages", "enrolment"],
        [["9911080001", "示例中学", "海淀", "junior senior", "1200"]],
        sheet="schools",
    )
    from openpyxl import load_workbook

    workbook = load_workbook(__import__("io").BytesIO(data))
    sheet = workbook.active
    sheet["A2"].value = 9911080001  # a code typed as a number
    sheet["E2"].value = 1200.0
    out = __import__("io").BytesIO()
    workbook.save(out)
    plan = import_schools(out.getvalue(), filename="schools.xlsx")
    assert plan.ok, problems(plan)
    school = School.objects.get()
    assert (school.code, school.enrolment, school.stage_values) == (
        "9911080001",
        1200,
        ["junior", "senior"],
    )


def test_a_broken_file_is_an_error_in_the_report_never_an_exception():
    for data, name in [
        (b"PK\x03\x04broken", "s.xlsx"),
        (b"\xff\xfe\x00bad", "s.csv"),
        (b"", "s.csv"),
    ]:
        plan = import_schools(data, filename=name)
        assert not plan.ok
    assert not School.objects.exists()


def test_a_dry_run_writes_nothing():
    plan = import_schools(csv_bytes([["", "示例中学", "海淀区", "", "初中", ""]]), dry_run=True)
    assert plan.ok and plan.count("create") == 1
    assert not School.objects.exists() and not DirectoryChange.objects.exists()


def test_units_are_imported_and_re_imported_by_region_and_name():
    data = csv_bytes(
        [["示例街道", "街道", "海淀区"], ["示例企业", "企业", "经开区"]],
        header=["单位名称", "类型", "赛区"],
    )
    plan = services.directory_import(kind=files.UNITS, data=data, filename="u.csv", actor=None)
    assert plan.ok, problems(plan)
    assert Unit.objects.get(name="示例企业").region.slug == "bda"
    again = services.directory_import(
        kind=files.UNITS,
        data=csv_bytes([["示例街道", "乡镇", "海淀"]], header=["单位名称", "类型", "赛区"]),
        filename="u.csv",
        actor=None,
    )
    assert again.count("update") == 1 and Unit.objects.count() == 2
    assert Unit.objects.get(name="示例街道").kind == Unit.Kind.TOWNSHIP


def test_the_export_reads_back_as_unchanged_and_escapes_formulas(organizer_client):
    SchoolFactory(code="9911080001", name="=HYPERLINK(1)", stages=["primary", "junior"])
    SchoolFactory(
        name="示例学校", district=district("110115"), region=Region.objects.get(slug="bda")
    )
    response = organizer_client.get(reverse("directory:export") + "?kind=schools")
    assert response.status_code == 200
    from openpyxl import load_workbook

    rows = list(load_workbook(__import__("io").BytesIO(response.content)).active.values)
    assert list(rows[0]) == HEADER
    assert "'=HYPERLINK(1)" in rows[1] or "'=HYPERLINK(1)" in rows[2]
    plan = import_schools(response.content, filename="export.xlsx")
    assert plan.ok and plan.count("unchanged") == 2, problems(plan)


def test_the_command_imports_and_its_dry_run_writes_nothing(tmp_path):
    path = tmp_path / "schools.csv"
    path.write_bytes(csv_bytes([["", "示例中学", "海淀区", "", "初中", ""]]))
    out = StringIO()
    call_command("import_directory", str(path), "--dry-run", stdout=out)
    assert not School.objects.exists() and "1" in out.getvalue()
    call_command("import_directory", str(path), stdout=StringIO())
    assert School.objects.filter(name="示例中学").exists()
    path.write_bytes(csv_bytes([["", "示例中学", "", "", "初中", ""]]))
    with pytest.raises(CommandError):
        call_command("import_directory", str(path), stdout=StringIO(), stderr=StringIO())


# --- The pages ---------------------------------------------------------------------------


def test_only_organizers_reach_the_directory_pages(client):
    school = SchoolFactory()
    urls = [
        reverse("directory:schools"),
        reverse("directory:units"),
        reverse("directory:pending"),
        reverse("directory:import"),
        reverse("directory:school", args=[school.pk]),
        reverse("directory:school_merge", args=[school.pk]),
        reverse("directory:template"),
        reverse("directory:export"),
        reverse("directory:sample"),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    for role in (User.Role.TEACHER, User.Role.STUDENT, User.Role.CITIZEN):
        client.force_login(UserFactory(role=role))
        for url in urls:
            assert client.get(url).status_code == 403, (role, url)


def test_the_page_previews_a_file_then_imports_it_once_on_confirmation(organizer_client):
    data = organizer_client.get(reverse("directory:sample")).content
    response = organizer_client.post(
        reverse("directory:import"),
        {"kind": "schools", "file": SimpleUploadedFile("sample.csv", data)},
    )
    assert response.status_code == 200
    assert not School.objects.exists()  # the preview writes nothing
    html = response.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    digest = re.search(r'name="sha256" value="([^"]+)"', html).group(1)
    confirm = {"token": token, "sha256": digest}
    response = organizer_client.post(reverse("directory:import_confirm"), confirm)
    assert response.status_code == 302
    assert School.objects.values("district").distinct().count() == 16
    assert School.objects.filter(region__slug="bda").exists()
    count = School.objects.count()
    again = organizer_client.post(reverse("directory:import_confirm"), confirm)
    assert again.status_code == 302 and School.objects.count() == count
    assert DirectoryChange.objects.filter(action="import").count() == 1


def test_a_file_with_errors_shows_them_and_offers_no_confirmation(organizer_client):
    data = csv_bytes([["", "示例中学", "火星区", "", "初中", ""]])
    response = organizer_client.post(
        reverse("directory:import"),
        {"kind": "schools", "file": SimpleUploadedFile("bad.csv", data)},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "火星区" in html and 'name="token"' not in html
    assert 'data-row="2" data-column="C"' in html


def test_the_list_searches_by_name_or_code_and_filters_by_region(organizer_client):
    SchoolFactory(name="海淀示例中学", code="9911080001")
    SchoolFactory(name="西城示例中学", district=district("110102"))
    bda = SchoolFactory(
        name="亦庄示例中学", district=district("110115"), region=Region.objects.get(slug="bda")
    )
    page = organizer_client.get(reverse("directory:schools"), {"q": "99110800"}).content.decode()
    assert "海淀示例中学" in page and "西城示例中学" not in page
    region = bda.region.pk
    page = organizer_client.get(reverse("directory:schools"), {"region": region}).content.decode()
    assert "亦庄示例中学" in page and "海淀示例中学" not in page


def test_an_organizer_edits_a_school_and_a_clash_is_a_form_error(organizer_client):
    school = SchoolFactory(name="示例中学")
    SchoolFactory(name="另一所学校", code="9911080002")
    url = reverse("directory:school", args=[school.pk])
    data = {
        "code": "9911080001",
        "name": " 示例中学 （改） ",
        "district": district().pk,
        "region": "",
        "stages": ["primary", "junior"],
        "enrolment": "",
    }
    assert organizer_client.post(url, data).status_code == 302
    school.refresh_from_db()
    assert (school.code, school.name, school.enrolment) == ("9911080001", "示例中学 （改）", None)
    assert school.stage_values == ["primary", "junior"]
    response = organizer_client.post(url, {**data, "code": "9911080002"})
    assert response.status_code == 400
    response = organizer_client.post(url, {**data, "name": "另一所学校"})
    assert response.status_code == 400
    response = organizer_client.post(url, {**data, "region": district("110102").region.pk})
    assert response.status_code == 400
    assert DirectoryChange.objects.filter(action="edit").count() == 1


# --- Merge -------------------------------------------------------------------------------


# Every model that names a school, and the field. A model added later that points at a
# school must be added here with a row in the merge test below: the merge moves it by
# itself (it walks the model registry), this list makes sure a test shows it.
SCHOOL_REFERENCES = {
    ("accounts.Profile", "school"),
    ("accounts.SchoolStage", "school"),
    ("realtime.LiveTeam", "school"),
    ("realtime.LivePlayer", "school"),
    ("realtime.RosterEntry", "school"),
}


def test_every_model_that_names_a_school_is_known_to_the_merge_test():
    found = {(model._meta.label, name) for model, name in services._references(School)}
    assert found == SCHOOL_REFERENCES


def test_merging_moves_every_reference_takes_stages_and_code_and_is_audited(organizer):
    keep = SchoolFactory(name="示例第一中学", stages=["junior"], enrolment=None)
    dup = SchoolFactory(name="示例一中", code="9911080001", stages=["senior"], enrolment=800)
    student = child(school=dup).profile
    live = make_round()
    team = LiveTeam.objects.create(round=live, name="甲队", position=1, school=dup)
    player = LivePlayer.objects.create(round=live, nickname="小明", school=dup)
    entry = RosterEntry.objects.create(round=live, name="小红", school=dup)

    moved = services.school_merge(source=dup, target=keep, actor=organizer)

    assert not School.objects.filter(pk=dup.pk).exists()
    for row in (student, team, player, entry):
        row.refresh_from_db()
        assert row.school_id == keep.pk, row
    keep.refresh_from_db()
    assert keep.stage_values == ["junior", "senior"]
    assert (keep.code, keep.enrolment) == ("9911080001", 800)
    assert moved == {
        "accounts.Profile": 1,
        "realtime.LiveTeam": 1,
        "realtime.LivePlayer": 1,
        "realtime.RosterEntry": 1,
    }
    change = DirectoryChange.objects.get(action="merge")
    assert change.actor == organizer and change.summary["source"] == dup.pk


@pytest.mark.parametrize("error", ["integrity", "protected"])
def test_a_merge_that_fails_half_way_changes_nothing(organizer, monkeypatch, error):
    keep, dup = SchoolFactory(), SchoolFactory()
    student = child(school=dup).profile
    original = School.delete

    def broken(self, *args, **kwargs):
        from django.db import IntegrityError
        from django.db.models import ProtectedError

        # a constraint, or a row naming the school that appeared meanwhile
        raise IntegrityError("simulated") if error == "integrity" else ProtectedError("x", set())

    monkeypatch.setattr(School, "delete", broken)
    with pytest.raises(services.DirectoryError):
        services.school_merge(source=dup, target=keep, actor=organizer)
    monkeypatch.setattr(School, "delete", original)
    student.refresh_from_db()
    assert student.school_id == dup.pk and School.objects.filter(pk=dup.pk).exists()
    assert not DirectoryChange.objects.exists()


def test_a_school_is_not_merged_into_itself(organizer):
    school = SchoolFactory()
    with pytest.raises(services.DirectoryError):
        services.school_merge(source=school, target=school, actor=organizer)


def test_the_merge_page_merges_and_units_merge_alike(organizer_client):
    keep, dup = SchoolFactory(name="留下"), SchoolFactory(name="并入")
    child(school=dup)
    url = reverse("directory:school_merge", args=[dup.pk])
    assert organizer_client.get(url).status_code == 200
    assert organizer_client.post(url, {"target": dup.pk}).status_code == 400  # not itself
    assert organizer_client.post(url, {"target": keep.pk}).status_code == 302
    assert Profile.objects.get(user__role=User.Role.STUDENT).school == keep
    unit_keep, unit_dup = UnitFactory(), UnitFactory()
    adult(unit=unit_dup)
    url = reverse("directory:unit_merge", args=[unit_dup.pk])
    assert organizer_client.post(url, {"target": unit_keep.pk}).status_code == 302
    assert not Unit.objects.filter(pk=unit_dup.pk).exists()
    assert Profile.objects.filter(unit=unit_keep).count() == 1


# --- Sign-up with a school that is not listed --------------------------------------------


def sign_up(client, data, capture):
    with capture(execute=True):
        return client.post(reverse("account_signup"), data)


def not_listed(**overrides) -> dict:
    fields = {
        "school": "",
        "school_not_listed": "on",
        "pending_school_name": "  北京市示例 新学校 ",
        "district": str(district("110105").pk),
        **overrides,
    }
    return child_signup_form_data(**fields)


def test_a_student_whose_school_is_not_listed_signs_up_with_its_name(
    client, django_capture_on_commit_callbacks
):
    response = sign_up(client, not_listed(), django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.context["form"].errors
    profile = User.objects.get(username="xiaoming").profile
    assert profile.school is None
    assert profile.pending_school_name == "北京市示例 新学校"
    assert (profile.district.code, profile.region.slug) == ("110105", "chaoyang")


def test_an_empty_school_directory_no_longer_stops_a_student_signing_up(
    client, django_capture_on_commit_callbacks
):
    assert not School.objects.exists()
    data = signup_form_data(
        role=User.Role.STUDENT,
        grade="10",
        birth_year="2010",
        school_not_listed="on",
        pending_school_name="示例中学",
    )
    response = sign_up(client, data, django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.context["form"].errors


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"pending_school_name": " "}, "pending_school_name", id="no-name"),
        pytest.param({"pending_school_name": "\x00\x01"}, "pending_school_name", id="controls"),
        pytest.param({"district": ""}, "district", id="no-district"),
        pytest.param({"school": "listed"}, "school_not_listed", id="both"),
    ],
)
def test_a_school_not_listed_needs_a_name_and_a_district_and_not_a_listed_school_too(
    client, django_capture_on_commit_callbacks, overrides, field
):
    if overrides.get("school") == "listed":
        overrides = {**overrides, "school": str(SchoolFactory(district=district("110105")).pk)}
    response = sign_up(client, not_listed(**overrides), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not User.objects.filter(username="xiaoming").exists()


def test_a_typed_name_without_the_box_ticked_is_ignored(client, django_capture_on_commit_callbacks):
    school = SchoolFactory()
    data = child_signup_form_data(in_school=school, pending_school_name="别的学校")
    assert sign_up(client, data, django_capture_on_commit_callbacks).status_code == 302
    profile = User.objects.get(username="xiaoming").profile
    assert (profile.school, profile.pending_school_name) == (school, "")


def test_the_sign_up_select_groups_schools_by_region(client):
    SchoolFactory(name="海淀示例中学")
    html = client.get(reverse("account_signup")).content.decode()
    assert re.search(r'<optgroup label="[^"]+">\s*<option value="\d+"[^>]*>海淀示例中学', html)
    assert 'name="school_not_listed"' in html and 'name="pending_school_name"' in html


def test_an_organizer_places_waiting_students_in_a_listed_or_a_new_school(
    organizer_client, organizer
):
    chaoyang = district("110105")
    listed = SchoolFactory(name="北京市示例新学校（朝阳校区）", district=chaoyang)
    waiting = [
        child(school=listed).profile,
        child(school=listed).profile,
        child(school=listed).profile,
    ]
    Profile.objects.filter(pk__in=[p.pk for p in waiting[:2]]).update(
        school=None, pending_school_name="北京市示例新学校", district=chaoyang
    )
    Profile.objects.filter(pk=waiting[2].pk).update(
        school=None, pending_school_name="另一所示例学校", district=chaoyang
    )
    pending = selectors.pending_schools()
    assert {(p.name, p.students) for p in pending} == {
        ("北京市示例新学校", 2),
        ("另一所示例学校", 1),
    }
    first = next(p for p in pending if p.students == 2)
    assert first.suggestions == [listed]
    page = organizer_client.get(reverse("directory:pending")).content.decode()
    assert "北京市示例新学校" in page and "另一所示例学校" in page
    assert "3" in organizer_client.get(reverse("directory:schools")).content.decode()

    response = organizer_client.post(
        reverse("directory:pending"),
        {"district": chaoyang.pk, "name": "北京市示例新学校", "school": listed.pk},
    )
    assert response.status_code == 302
    assert Profile.objects.filter(school=listed, pending_school_name="").count() == 2

    response = organizer_client.post(
        reverse("directory:pending"),
        {"district": chaoyang.pk, "name": "另一所示例学校", "create": "on", "stages": ["primary"]},
    )
    assert response.status_code == 302
    made = School.objects.get(name="另一所示例学校")
    assert made.stage_values == ["primary"] and made.region.slug == "chaoyang"
    assert Profile.objects.get(pk=waiting[2].pk).school == made
    assert selectors.pending_schools() == []
    assert DirectoryChange.objects.filter(action="place").count() == 2


def test_students_of_given_school_stages_are_found_through_every_stage_of_their_school():
    nine_year = SchoolFactory(stages=["primary", "junior"])
    senior = SchoolFactory(stages=["senior"])
    a = child(school=nine_year).profile
    b = child(school=senior).profile
    assert set(selectors.profiles_in_school_stages(["primary"])) == {a}
    assert set(selectors.profiles_in_school_stages(["junior", "senior"])) == {a, b}


# --- Hostile files through the directory's page and command -------------------------------


def post_file(client, data: bytes, name: str):
    return client.post(
        reverse("directory:import"), {"kind": "schools", "file": SimpleUploadedFile(name, data)}
    )


def test_an_oversize_upload_is_refused_before_it_is_read(organizer_client, settings, tmp_path):
    settings.SPREADSHEET_MAX_UPLOAD_BYTES = 1000
    organizer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = csv_bytes([["", f"示例中学{n}", "海淀区", "", "初中", ""] for n in range(100)])
    response = post_file(organizer_client, data, "big.csv")
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(CommandError, match="larger than"):
        call_command("import_directory", str(path), stdout=StringIO())
    assert not School.objects.exists()


def test_a_zip_bomb_or_too_many_rows_is_a_clear_error_and_writes_nothing(
    organizer_client, settings
):
    import io
    import zipfile

    settings.SPREADSHEET_MAX_UNPACKED_BYTES = 1024 * 1024
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 * 1024 * 1024))
    response = post_file(organizer_client, bomb.getvalue(), "bomb.xlsx")
    assert response.status_code == 400 and 'class="import-errors"' in response.content.decode()

    settings.SPREADSHEET_MAX_ROWS = 5
    rows = [["", f"示例中学{n}", "海淀区", "", "初中", ""] for n in range(10)]
    response = post_file(organizer_client, csv_bytes(rows), "rows.csv")
    assert response.status_code == 400 and 'name="token"' not in response.content.decode()
    truncated = write_xlsx(HEADER, rows[:2], sheet="s")[:300]
    assert post_file(organizer_client, truncated, "cut.xlsx").status_code == 400
    assert not School.objects.exists() and not DirectoryChange.objects.exists()


def test_quotes_and_commas_in_a_csv_name_are_read_as_written():
    data = '学校名称,区,学段\n"示例""实验""学校, 东校区",海淀区,"小学,初中"\n'.encode()
    plan = import_schools(data)
    assert plan.ok, problems(plan)
    school = School.objects.get()
    assert school.name == '示例"实验"学校, 东校区'
    assert school.stage_values == ["primary", "junior"]


def test_an_edit_that_loses_a_race_for_a_name_is_a_form_error(organizer_client, monkeypatch):
    from django.db import IntegrityError

    def taken(**kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(services, "school_save", taken)
    data = {"name": "示例中学", "district": district().pk, "stages": ["junior"]}
    response = organizer_client.post(reverse("directory:school_new"), data)
    assert response.status_code == 400 and not School.objects.exists()


def rows_of(count: int) -> list[list[str]]:
    return [
        [f"99110{n:05d}", f"示例学校{n}", "海淀区", "", "小学、初中", str(n)] for n in range(count)
    ]


def test_an_import_is_batched_and_the_list_page_costs_the_same_queries_for_any_rows(
    organizer_client,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for start, count in ((0, 10), (10, 400)):
        rows = rows_of(start + count)[start:]
        with CaptureQueriesContext(connection) as queries:
            assert import_schools(csv_bytes(rows)).ok
        counts.append(len(queries))
    # batched INSERTs: a few more for 40 times the rows (SQLite takes 999 values a query)
    assert counts[1] - counts[0] <= 400 // 50, counts
    assert School.objects.count() == 410

    pages = []
    for query in ("示例学校1", "示例学校"):  # 21 matches, then a full page of 50
        with CaptureQueriesContext(connection) as queries:
            assert (
                organizer_client.get(reverse("directory:schools"), {"q": query}).status_code == 200
            )
        pages.append(len(queries))
    assert pages[0] == pages[1], pages

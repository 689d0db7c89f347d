"""The organizer pages that import and export question files: a preview that writes
nothing, a confirmation that imports the previewed file (and only that file, once, for
the one who previewed it), downloads in every format, and who may do what."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from urllib.parse import unquote

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

import spreadsheets
from quizzes.bank import services
from quizzes.bank.io import import_questions, tabular
from quizzes.bank.io import views as io_views
from quizzes.models import AuditEntry, Question, QuestionVersion
from tests.factories import UserFactory, adult
from tests.quizzes.factories import BankFactory, QuestionFactory
from tests.quizzes.sheets import NO_OPTIONS, bad_rows, good_row, row, xlsx

pytestmark = pytest.mark.django_db

GOOD_ROWS = [
    good_row(),
    row(
        "多选", "以下哪些是可再生能源？", ("太阳能", "煤炭", "风能"), "AC", "太阳能和风能。", "能源"
    ),
    row("填空", "水的化学式是 ____。", NO_OPTIONS, "H2O|水", "由氢和氧组成。"),
    row("判断", "<script>alert(1)</script>闪电比雷声先被看到。", NO_OPTIONS, "对", "光比声音快。"),
]
BAD_ROWS = bad_rows()
BAD_CELLS = {(3, "G"), (4, "B"), (5, "G"), (6, "C")}  # (row, column) of each error


@pytest.fixture
def owner():
    return UserFactory(role="organizer")


@pytest.fixture
def bank(owner):
    return services.bank_create(name="导入题库", owner=owner)


def import_url(bank) -> str:
    return reverse("quizzes:bank_import", args=[bank.pk])


def confirm_url(bank) -> str:
    return reverse("quizzes:bank_import_confirm", args=[bank.pk])


def export_url(bank, fmt: str, **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **extra}.items())
    return f"{reverse('quizzes:bank_export', args=[bank.pk])}?{query}"


def upload(client, bank, data: bytes, name: str = "题目.xlsx"):
    return client.post(import_url(bank), {"file": SimpleUploadedFile(name, data)})


def preview(client, bank, data: bytes, name: str = "题目.xlsx") -> dict:
    """Upload a clean file; return the confirm form's fields."""
    response = upload(client, bank, data, name)
    assert response.status_code == 200
    assert not response.context["errors"], [str(e) for e in response.context["errors"]]
    staged = response.context["staged"]
    assert staged and 'id="import-confirm"' in response.content.decode()
    return {"token": staged["token"], "sha256": staged["sha256"]}


def table_cells(page: str, table_class: str) -> set[tuple[int, str]]:
    start = page.index(f'<table class="{table_class}">')
    table = page[start : page.index("</table>", start)]
    return {(int(r), c) for r, c in re.findall(r'<tr data-row="(\d+)" data-column="(\w*)">', table)}


def in_language(text: str) -> str:
    """A message as the page shows it: in the default language, HTML-escaped."""
    with translation.override(settings.LANGUAGE_CODE):
        return escape(translation.gettext(text))


def filename_of(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    # RFC 8187: the charset name is case-insensitive (Django writes utf-8).
    found = re.search(r"filename\*=UTF-8''([^;]+)", disposition, re.IGNORECASE)
    if found:
        return unquote(found.group(1))
    return re.search(r'filename="([^"]+)"', disposition).group(1)


# --- Import: preview and confirm ----------------------------------------------------------


def test_the_import_page_offers_an_upload_form_and_the_template(client, owner, bank):
    client.force_login(owner)
    response = client.get(import_url(bank))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="file"' in page and 'name="file"' in page
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page
    assert reverse("quizzes:import_template") in page
    assert 'id="import-confirm"' not in page


def test_a_preview_of_a_valid_file_writes_nothing_and_shows_questions_with_keys(
    client, owner, bank
):
    client.force_login(owner)
    response = upload(client, bank, xlsx(GOOD_ROWS))
    page = response.content.decode()
    assert response.status_code == 200
    assert Question.objects.count() == 0 and QuestionVersion.objects.count() == 0
    assert not AuditEntry.objects.filter(bank=bank, action="question_import").exists()
    # Every question as a player sees it, then its key and explanation.
    for stem in ("人体最大的器官是？", "哪些是可再生能源？", "闪电比雷声先被看到。"):
        assert stem in page
    assert '<ol class="options" type="A"><li>皮肤</li><li>心脏</li><li>肝脏</li></ol>' in page
    keys = [item["key_text"] for item in response.context["preview"]]
    assert keys == ["A", "AC", "H2O|水", "对"]
    assert "皮肤面积最大。" in page and "H2O|水" in page
    # The stripped script is a warning at its row and column, and is not on the page.
    assert "<script>alert" not in page
    assert (5, "C") in table_cells(page, "import-warnings")
    assert 'class="import-errors"' not in page
    # The confirm form names the staged file, never carries it.
    assert response.context["staged"]["token"] in page
    assert 'type="file"' in page.split('id="import-confirm"')[0]  # a fresh upload form
    assert 'name="file"' not in page.split('id="import-confirm"')[1]


def test_confirming_the_preview_imports_every_question_once(client, owner, bank):
    client.force_login(owner)
    fields = preview(client, bank, xlsx(GOOD_ROWS))
    response = client.post(confirm_url(bank), fields)
    assert response.status_code == 302 and response.url == reverse("quizzes:bank", args=[bank.pk])
    versions = QuestionVersion.objects.filter(question__bank=bank)
    assert versions.count() == len(GOOD_ROWS)
    assert set(versions.values_list("status", flat=True)) == {"draft"}
    assert "皮肤" in {o["text"] for v in versions for o in v.options}
    (audit,) = AuditEntry.objects.filter(bank=bank, action="question_import")
    assert audit.actor == owner and audit.changes["count"] == len(GOOD_ROWS)
    shown = [str(m) for m in client.get(response.url).context["messages"]]
    assert any(str(len(GOOD_ROWS)) in m for m in shown)
    # A second click (or a replayed request) imports nothing more.
    again = client.post(confirm_url(bank), fields)
    assert again.status_code == 302 and again.url == import_url(bank)
    assert Question.objects.filter(bank=bank).count() == len(GOOD_ROWS)


def test_a_file_with_bad_rows_shows_every_error_and_cannot_be_confirmed(client, owner, bank):
    client.force_login(owner)
    response = upload(client, bank, xlsx(BAD_ROWS))
    page = response.content.decode()
    assert response.status_code == 200
    assert table_cells(page, "import-errors") == BAD_CELLS
    assert {(e.row, e.column) for e in response.context["errors"]} == BAD_CELLS
    assert "题目.xlsx" in page and "(答案)" in page and "(题型)" in page and "(题干)" in page
    with translation.override(settings.LANGUAGE_CODE):
        for entry in response.context["errors"]:
            assert escape(str(entry.message)) in page
    # No confirm form, nothing staged, nothing written.
    assert 'id="import-confirm"' not in page and response.context["staged"] is None
    assert Question.objects.count() == 0
    assert not AuditEntry.objects.filter(bank=bank, action="question_import").exists()


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(client, owner, bank):
    client.force_login(owner)
    big = b"x" * (settings.SPREADSHEET_MAX_UPLOAD_BYTES + 1)
    response = upload(client, bank, big, "big.csv")
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    with translation.override("en"):
        assert str(spreadsheets.too_large_message()) == (
            "The file is larger than 5 MB; split it into smaller files."
        )
    assert str(spreadsheets.too_large_message()) in response.content.decode()
    assert "result" not in response.context and Question.objects.count() == 0


def test_a_file_of_an_unknown_kind_is_refused_with_the_formats_to_use(client, owner, bank):
    client.force_login(owner)
    response = upload(client, bank, xlsx(GOOD_ROWS), "题目.docx")
    assert response.context["form"].errors["file"]
    assert (
        in_language(
            "Unknown file format; use .xlsx, .csv, Moodle XML (.xml) or GIFT (.txt, .gift)."
        )
        in response.content.decode()
    )
    assert Question.objects.count() == 0


FOREIGN_MOODLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <questiontext format="html"><text>Which is a planet?</text></questiontext>
    <single>true</single>
    <answer fraction="0"><text>Sun</text></answer>
    <answer fraction="100"><text>Mars</text></answer>
    <tags><tag><text>astronomy</text></tag></tags>
  </question>
  <question type="truefalse">
    <questiontext format="html"><text>The Moon is a planet.</text></questiontext>
    <answer fraction="0"><text>true</text></answer>
    <answer fraction="100"><text>false</text></answer>
    <tags><tag><text>difficulty:hard</text></tag></tags>
  </question>
</quiz>"""


def test_a_moodle_file_without_our_tags_imports_with_defaults_chosen_on_the_page(
    client, owner, bank
):
    client.force_login(owner)
    response = client.get(import_url(bank))
    page = response.content.decode()
    assert 'id="import-defaults"' in page
    assert all(f'name="{name}"' in page for name in ("dimension", "topic", "difficulty"))

    # Without defaults, the file lacks what every question needs: refused, at each line.
    response = upload(client, bank, FOREIGN_MOODLE, "moodle.xml")
    assert {(e.row, e.header) for e in response.context["errors"]} >= {(3, "tags"), (10, "tags")}
    assert response.context["staged"] is None

    response = client.post(
        import_url(bank),
        {
            "file": SimpleUploadedFile("moodle.xml", FOREIGN_MOODLE),
            "dimension": "knowledge",
            "topic": "space",
            "difficulty": "easy",
        },
    )
    assert not response.context["errors"], [str(e) for e in response.context["errors"]]
    staged = response.context["staged"]
    assert staged and response.context["form"]["topic"].value() == "space"
    response = client.post(confirm_url(bank), staged)
    assert response.status_code == 302
    versions = {v.stem: v for v in QuestionVersion.objects.filter(question__bank=bank)}
    assert {(v.dimension, v.topic) for v in versions.values()} == {("knowledge", "space")}
    assert versions["Which is a planet?"].difficulty == "easy"
    assert versions["The Moon is a planet."].difficulty == "hard"  # the file's own tag wins


def test_a_default_that_is_not_a_choice_is_refused_at_the_field(client, owner, bank):
    client.force_login(owner)
    response = client.post(
        import_url(bank),
        {"file": SimpleUploadedFile("moodle.xml", FOREIGN_MOODLE), "topic": "astrology"},
    )
    assert response.context["form"].errors["topic"]
    assert "result" not in response.context and Question.objects.count() == 0


@pytest.mark.parametrize("tamper", ["token", "sha256", "missing"])
def test_a_tampered_confirmation_writes_nothing(client, owner, bank, tamper):
    client.force_login(owner)
    fields = preview(client, bank, xlsx(GOOD_ROWS))
    if tamper == "token":
        fields["token"] = fields["token"][:-4] + "AAAA"
    elif tamper == "sha256":
        fields["sha256"] = "0" * 64
    else:
        fields = {}
    response = client.post(confirm_url(bank), fields)
    assert response.status_code == 302 and response.url == import_url(bank)
    assert Question.objects.count() == 0


def test_a_confirmation_after_the_preview_expired_writes_nothing(client, owner, bank, monkeypatch):
    monkeypatch.setattr(io_views, "IMPORT_TTL", 1)
    client.force_login(owner)
    fields = preview(client, bank, xlsx(GOOD_ROWS))
    time.sleep(1.5)
    client.post(confirm_url(bank), fields)
    assert Question.objects.count() == 0


def test_another_owner_cannot_confirm_someone_elses_preview(client, owner, bank):
    colleague = UserFactory(role="organizer")
    bank.owners.add(colleague)
    client.force_login(owner)
    fields = preview(client, bank, xlsx(GOOD_ROWS))
    other = Client()
    other.force_login(colleague)
    response = other.post(confirm_url(bank), fields)
    assert response.status_code == 302 and Question.objects.count() == 0
    # The preview is still the owner's to confirm.
    client.post(confirm_url(bank), fields)
    assert Question.objects.filter(bank=bank).count() == len(GOOD_ROWS)


def test_a_new_preview_replaces_the_previous_one(client, owner, bank):
    client.force_login(owner)
    first = preview(client, bank, xlsx(GOOD_ROWS[:1]))
    second = preview(client, bank, xlsx(GOOD_ROWS))
    client.post(confirm_url(bank), first)
    assert Question.objects.count() == 0
    client.post(confirm_url(bank), second)
    assert Question.objects.filter(bank=bank).count() == len(GOOD_ROWS)


def test_a_preview_cannot_be_confirmed_into_another_bank(client, owner, bank):
    second = services.bank_create(name="另一个题库", owner=owner)
    client.force_login(owner)
    fields = preview(client, bank, xlsx(GOOD_ROWS))
    client.post(confirm_url(second), fields)
    assert Question.objects.count() == 0


def test_the_confirmation_reruns_the_check_and_refuses_a_file_that_no_longer_fits(
    client, owner, bank
):
    rows = [[str(uuid.uuid4()), *row[1:]] for row in GOOD_ROWS]
    client.force_login(owner)
    fields = preview(client, bank, xlsx(rows))
    # Meanwhile the same questions (same uids) arrive by another path.
    done = import_questions(bank=bank, actor=owner, data=xlsx(rows), filename="先到.xlsx")
    assert done.created == len(rows)
    response = client.post(confirm_url(bank), fields)
    assert response.status_code == 200
    assert {e.row for e in response.context["errors"]} == {2, 3, 4, 5}
    assert 'id="import-confirm"' not in response.content.decode()
    assert Question.objects.filter(bank=bank).count() == len(rows)


def test_the_confirmation_needs_post_and_a_csrf_token(owner, bank):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    fields = preview_with_csrf(client, bank)
    response = client.get(confirm_url(bank), fields)  # a GET changes nothing
    assert response.status_code == 302 and response.url == import_url(bank)
    assert client.post(confirm_url(bank), fields).status_code == 403  # no CSRF token
    assert client.post(import_url(bank), {}).status_code == 403
    assert Question.objects.count() == 0


def preview_with_csrf(client, bank) -> dict:
    page = client.get(import_url(bank)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        import_url(bank),
        {"file": SimpleUploadedFile("题目.xlsx", xlsx(GOOD_ROWS)), "csrfmiddlewaretoken": csrf},
    )
    return dict(response.context["staged"])


# --- Export and the template --------------------------------------------------------------


@pytest.fixture
def source_bank():
    bank = BankFactory(name="应急/科普 题库")
    for qtype in ("single", "multiple", "true_false", "fill", "numeric", "ordering"):
        QuestionFactory(bank=bank, type=qtype)
    QuestionFactory(bank=bank, type="single", publish=False)
    return bank


EXTENSION = {"xlsx": ".xlsx", "csv": ".csv", "moodle": ".xml", "gift": ".txt"}


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "moodle", "gift"])
def test_an_export_downloads_and_imports_back_into_another_bank(client, source_bank, fmt):
    owner = source_bank.owners.get()
    client.force_login(owner)
    response = client.get(export_url(source_bank, fmt))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        {"xlsx": "application/vnd.openxmlformats", "csv": "text/csv", "moodle": "application/xml",
         "gift": "text/plain"}[fmt]
    )  # fmt: skip
    assert response["Cache-Control"] == "private, no-store"
    assert f'filename="bank-{source_bank.pk}{EXTENSION[fmt]}"' in response["Content-Disposition"]
    name = filename_of(response)
    assert name == f"应急_科普 题库{EXTENSION[fmt]}"  # RFC 5987, no path separator
    target = services.bank_create(name="副本", owner=owner)
    client.post(confirm_url(target), preview(client, target, response.content, name))
    stems = set(
        QuestionVersion.objects.filter(question__bank=target).values_list("stem", flat=True)
    )
    expected = set(
        QuestionVersion.objects.filter(question__bank=source_bank).values_list("stem", flat=True)
    )
    assert len(stems) == 7 and stems == expected


def test_an_export_of_published_questions_leaves_out_drafts(client, source_bank):
    client.force_login(source_bank.owners.get())
    everything = client.get(export_url(source_bank, "csv"))
    published = client.get(export_url(source_bank, "csv", published=1))
    count = lambda r: len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) - 1  # noqa: E731
    assert (count(everything), count(published)) == (7, 6)
    assert filename_of(published) != filename_of(everything)


def test_an_export_escapes_cells_a_spreadsheet_would_run_as_formulas(client, owner, bank):
    services.question_create(
        bank=bank,
        author=owner,
        raw={
            "type": "single",
            "stem": "-1 是负数吗？",
            "options": ["=SUM(A1:A2)", "+86", "@某人"],
            "key": "A",
            "dimension": "knowledge",
            "topic": "health",
            "source": "测试",
        },
    )
    client.force_login(owner)
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(export_url(bank, "xlsx")).content))
    cells = [c for row in workbook.active.iter_rows() for c in row if c.value]
    assert all(c.data_type == "s" for c in cells)
    values = {c.value for c in cells}
    assert {"'=SUM(A1:A2)", "'+86", "'@某人", "'-1 是负数吗？"} <= values
    assert not any(str(v).startswith(spreadsheets.FORMULA_START) for v in values)

    text = client.get(export_url(bank, "csv")).content.decode("utf-8-sig")
    flat = {cell for row in csv.reader(io.StringIO(text)) for cell in row}
    assert {"'=SUM(A1:A2)", "'+86", "'@某人", "'-1 是负数吗？"} <= flat
    assert not any(cell.startswith(spreadsheets.FORMULA_START) for cell in flat)


@pytest.mark.parametrize("query", ["?format=pdf", "?format=", ""])
def test_an_unknown_export_format_is_a_bad_request(client, owner, bank, query):
    client.force_login(owner)
    response = client.get(reverse("quizzes:bank_export", args=[bank.pk]) + query)
    assert response.status_code == 400
    assert "xlsx, csv, moodle, gift" in response.content.decode()
    assert "Content-Disposition" not in response


def test_the_blank_template_downloads_with_the_chinese_headers(client, owner):
    client.force_login(owner)
    response = client.get(reverse("quizzes:import_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert filename_of(response).endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == tabular.headers() and len(rows) == 1
    assert "题干" in rows[0] and "答案" in rows[0]


# --- Who may do what ----------------------------------------------------------------------


@pytest.fixture
def roles(source_bank):
    reviewer = source_bank.reviewers.get()
    shared = UserFactory(role="organizer")
    source_bank.shared_with.add(shared)
    return {
        "owner": source_bank.owners.get(),
        "reviewer": reviewer,
        "shared": shared,
        "stranger": UserFactory(role="organizer"),
        "player": adult(),
    }


@pytest.mark.parametrize(
    ("role", "import_status", "export_status"),
    [
        ("owner", 200, 200),
        ("reviewer", 403, 200),  # sees the keys, does not add questions
        ("shared", 403, 403),  # sees the questions, not the keys
        ("stranger", 404, 404),
        ("player", 403, 403),
    ],
)
def test_only_owners_import_and_only_key_holders_export(
    client, roles, source_bank, role, import_status, export_status
):
    client.force_login(roles[role])
    assert client.get(import_url(source_bank)).status_code == import_status
    posted = upload(client, source_bank, xlsx(GOOD_ROWS))
    assert posted.status_code == import_status
    confirmed = client.post(confirm_url(source_bank), {"token": "x" * 32, "sha256": "0" * 64})
    assert confirmed.status_code == (302 if role == "owner" else import_status)
    assert Question.objects.filter(bank=source_bank).count() == 7  # nothing imported
    response = client.get(export_url(source_bank, "csv"))
    assert response.status_code == export_status
    explanation = source_bank.questions.first().versions.get().explanation
    assert (explanation in response.content.decode("utf-8-sig")) == (export_status == 200)


def test_a_non_owner_cannot_confirm_an_owners_preview(client, roles, source_bank):
    client.force_login(roles["owner"])
    fields = preview(client, source_bank, xlsx(GOOD_ROWS))
    for role in ("reviewer", "shared", "stranger"):
        other = Client()
        other.force_login(roles[role])
        assert other.post(confirm_url(source_bank), fields).status_code in (403, 404)
    assert Question.objects.filter(bank=source_bank).count() == 7


def test_players_cannot_download_the_template(client):
    client.force_login(adult())
    assert client.get(reverse("quizzes:import_template")).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, bank):
    login = reverse(settings.LOGIN_URL)
    for method, url in [
        ("get", import_url(bank)),
        ("post", import_url(bank)),
        ("post", confirm_url(bank)),
        ("get", export_url(bank, "xlsx")),
        ("get", reverse("quizzes:import_template")),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response.url.startswith(login), url
    assert Question.objects.count() == 0


def test_the_bank_page_links_to_import_export_and_the_template(client, roles, source_bank):
    bank_url = reverse("quizzes:bank", args=[source_bank.pk])
    links = {
        "import": import_url(source_bank),
        "export": reverse("quizzes:bank_export", args=[source_bank.pk]) + "?format=",
        "template": reverse("quizzes:import_template"),
    }
    expected = {
        "owner": {"import", "export", "template"},
        "reviewer": {"export", "template"},
        "shared": set(),
    }
    for role, shown in expected.items():
        client.force_login(roles[role])
        page = client.get(bank_url).content.decode()
        assert {name for name, link in links.items() if link in page} == shown, role
    client.force_login(roles["owner"])
    page = client.get(bank_url).content.decode()
    for fmt in ("xlsx", "csv", "moodle", "gift"):
        assert f"?format={fmt}" in page and f"?format={fmt}&amp;published=1" in page

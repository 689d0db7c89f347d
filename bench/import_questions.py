"""Bench: importing a 10,000-question XLSX file (validation + write), all or nothing.

Generates a file in the template of docs/question-format.md (realistic Chinese text,
mixed types, every tag column), then times quizzes.bank.io.import_questions into a fresh
SQLite database (or the PostgreSQL database of --database-url, in a bank created for
the run and deleted after). The baseline, measured in the same run, is openpyxl just
reading the file's cells. Prints one JSON line.

With --shared-stem every row has the stem "下列说法中，正确的是（　）" and options of its own
(issue 12: 10,000 such rows took 111 s in the duplicate check, with 9,999 false
warnings); the figures add the duplicate check's own time and its warnings.

With --hostile it measures the spreadsheet limits instead (no database): each hostile
file (a zip bomb, honest and with lying sizes, an element flood) and the largest files
the limits allow (every row and column filled; the shared strings at the unpacked
limit; the loose elements at theirs) is read by spreadsheets.table_rows in a fresh
subprocess, which reports its time and how much its peak resident memory grew
(ru_maxrss). Prints one JSON line per file.

    .venv/bin/python bench/import_questions.py [--rows 10000] [--database-url URL]
    .venv/bin/python bench/import_questions.py --shared-stem [--rows 10000]
    .venv/bin/python bench/import_questions.py --hostile
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECTS = (
    "高血压患者", "家庭厨房", "城市雨水", "老年人使用智能手机", "农田灌溉", "地铁站台", "光伏电站",
    "北斗卫星", "流感病毒", "食品添加剂", "森林火灾", "电动自行车电池", "转基因大豆", "空间站",
    "地震发生时", "垃圾分类", "短信中的链接", "抗生素", "候鸟迁徙", "煤气泄漏",
)  # fmt: skip
PREDICATES = (
    "最需要注意的做法是", "下列说法正确的是", "主要依靠的原理是", "可能带来的风险是",
    "科学的处理方式是", "通常用来判断的依据是", "属于哪一类现象", "与哪种能量转化有关",
)  # fmt: skip
DETAILS = (
    "在夏季高温时", "根据国家标准", "在没有专业人员在场时", "按照说明书", "在学校实验室里",
    "在农村地区", "依据最新研究", "在日常生活中", "在紧急情况下", "参考权威机构发布的信息",
)  # fmt: skip
OPTIONS = (
    "立即关闭阀门并开窗通风", "拨打110报警", "多喝热水即可", "向专业人员咨询", "把电池放在阳台充电",
    "按时服药并定期测量", "转发给亲友确认", "查看官方网站", "用湿毛巾捂住口鼻", "远离玻璃窗",
    "断开电源后再处理", "保存证据", "使用公筷", "选择有认证标志的产品", "继续观察不做处理",
)  # fmt: skip
TYPES = ("单选", "单选", "单选", "多选", "多选", "判断", "判断", "填空", "数值", "排序")
DIMENSIONS = ("科学知识", "科学知识", "科学方法", "科学精神", "科学应用")
TOPICS = ("健康", "应急避险", "防范诈骗", "数字生活", "农业", "航天", "能源", "环境")


SHARED_STEM = "下列说法中，正确的是（　）"


def statement(rng: random.Random, number: int) -> str:
    """An option of its own: a statement built from the word lists, numbered."""
    return (
        f"{rng.choice(DETAILS)}，{rng.choice(SUBJECTS)}{rng.choice(PREDICATES)}"
        f"{rng.choice(OPTIONS)}（{number}）"
    )


def generate(path: Path, rows: int, shared_stem: bool = False) -> None:
    from quizzes.bank.io import tabular

    rng = random.Random(1)
    out = []
    for number in range(rows):
        qtype = rng.choice(TYPES)
        stem = (
            f"{rng.choice(DETAILS)}，{rng.choice(SUBJECTS)}{rng.choice(PREDICATES)}"
            f"（第{number + 1}题，情境{rng.randint(1, 999)}）？"
        )
        if shared_stem:
            qtype = "单选"
            stem = SHARED_STEM
        options = [""] * 8
        tolerance = unit = ""
        if qtype in ("单选", "多选", "排序"):
            count = rng.choice((3, 4, 4, 5)) if qtype != "单选" else 4
            options[:count] = rng.sample(OPTIONS, count)
            if shared_stem:
                options[:count] = [statement(rng, number * 10 + k) for k in range(count)]
            letters = "ABCDE"[:count]
            if qtype == "单选":
                key = rng.choice(letters)
            elif qtype == "多选":
                key = "".join(sorted(rng.sample(letters, rng.randint(2, count))))
            else:
                key = "".join(rng.sample(letters, count))
        elif qtype == "判断":
            key = rng.choice(("对", "错"))
        elif qtype == "填空":
            key = "|".join(rng.sample(("氧气", "二氧化碳", "氮气", "O2"), 2))
        else:
            key, tolerance, unit = f"{rng.uniform(-50, 500):.2f}", "0.5", "米/秒"
        cells = {
            "uid": "",
            "type": qtype,
            "stem": f"<p>{stem}</p>" if number % 3 else stem,
            **{f"option:{i}": text for i, text in enumerate(options)},
            "key": key,
            "tolerance": tolerance,
            "unit": unit,
            "explanation": f"{rng.choice(SUBJECTS)}相关的科学原理：{rng.choice(DETAILS)}应当"
            f"{rng.choice(OPTIONS)}。",
            "source": "《全民科学素质行动规划纲要（2021—2035年）》",
            "difficulty": rng.choice(("易", "中", "难")),
            "dimension": rng.choice(DIMENSIONS),
            "benchmark": str(rng.randint(1, 26)),
            "topic": rng.choice(TOPICS),
            "audience": "老年人,学生" if number % 2 else "产业工人",
            "grade_band": rng.choice(("", "小学", "初中", "高中")),
            "collection": "专项练习" if number % 5 == 0 else "",
            "stem_en": "",
            "explanation_en": "",
        }
        out.append([tabular.escape_cell(cells[c.field]) for c in tabular.COLUMNS])
    path.write_bytes(tabular.write_xlsx(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--shared-stem", action="store_true", help="every row the same stem")
    parser.add_argument("--hostile", action="store_true", help="the spreadsheet limits' cost")
    args = parser.parse_args()
    if args.hostile:
        hostile()
        return

    workdir = tempfile.mkdtemp(prefix="sciarena-bench-")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import openpyxl
    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    from accounts.models import User
    from quizzes.bank import services
    from quizzes.bank.content import search_text
    from quizzes.bank.io import duplicates, import_questions
    from quizzes.models import Bank, QuestionVersion

    call_command("migrate", verbosity=0)
    path = Path(workdir) / "questions.xlsx"
    generate(path, args.rows, shared_stem=args.shared_stem)
    data = path.read_bytes()

    started = time.perf_counter()
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    cells = sum(1 for row in workbook.worksheets[0].iter_rows(values_only=True) for _c in row)
    workbook.close()
    baseline = time.perf_counter() - started

    owner, _created = User.objects.get_or_create(username="bench-importer")
    name = f"bench-import-{os.getpid()}"
    Bank.objects.filter(name=name).delete()
    bank = services.bank_create(name=name, owner=owner)
    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.runctx(
            "import_questions(bank=bank, actor=owner, data=data, filename=path.name, dry_run=True)",
            globals(),
            locals(),
            sort="cumulative",
        )
    result = import_questions(bank=bank, actor=owner, data=data, filename=path.name)
    seconds = time.perf_counter() - started
    assert result.ok, result.report.render()[:2000]
    assert QuestionVersion.objects.filter(question__bank=bank).count() == args.rows
    with translation.override("en"):
        near_duplicates = sum("nearly the same" in str(e.message) for e in result.report.warnings)

    # The duplicate check alone, on the same questions (the bank is empty for it).
    texts = [
        duplicates.question_text(
            search_text(item.data.get("stem", "")),
            [search_text(o["text"]) for o in item.data.get("options") or []],
        )
        for item in result.items
    ]
    started = time.perf_counter()
    duplicates.near_duplicates(texts)
    duplicate_seconds = time.perf_counter() - started

    figures = {
        "bench": "import_questions",
        "database": connection.vendor,
        "rows": args.rows,
        "shared_stem": args.shared_stem,
        "file_bytes": len(data),
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds),
        "warnings": len(result.report.warnings),
        "near_duplicate_warnings": near_duplicates,
        "duplicate_check_seconds": round(duplicate_seconds, 2),
        "baseline": "openpyxl reading every cell of the file",
        "baseline_cells": cells,
        "baseline_seconds": round(baseline, 2),
        "ratio": round(seconds / baseline, 2),
        "duplicate_check_ratio": round(duplicate_seconds / baseline, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(figures))
    if args.database_url:
        bank.delete()
        owner.delete()
    for entry in os.listdir(workdir):
        os.unlink(Path(workdir) / entry)
    os.rmdir(workdir)


# --- Hostile files: what the spreadsheet limits cost -----------------------------------

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = "xl/worksheets/sheet1.xml"
MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from django.conf import settings
settings.configure(USE_I18N=False)
from spreadsheets import Report, table_rows
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
report = Report("f.xlsx")
rows = table_rows(data, "f.xlsx", report)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": round(seconds, 2), "rss_before_mb": round(before / 1024),
                  "rss_growth_mb": round((peak - before) / 1024), "rows": len(rows),
                  "error": str(report.errors[0].message) if report.errors else ""}))
"""


def _workbook(replace: dict) -> bytes:
    """openpyxl's one-sheet workbook with entries replaced by streamed contents."""
    import io
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["x"])
    buffer = io.BytesIO()
    book.save(buffer)
    skeleton = zipfile.ZipFile(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        names = [info.filename for info in skeleton.infolist()]
        for name in names + [n for n in replace if n not in names]:
            if name in replace:
                with archive.open(name, "w") as stream:
                    for chunk in replace[name]():
                        stream.write(chunk)
            else:
                archive.writestr(name, _registered(name, skeleton.read(name), replace))
    return out.getvalue()


def _registered(name: str, content: bytes, replace: dict) -> bytes:
    """Register added shared strings in the content types and the workbook's relations."""
    if "xl/sharedStrings.xml" not in replace:
        return content
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    if name == "[Content_Types].xml" and b"sharedStrings" not in content:
        extra = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/>'
        return content.replace(b"</Types>", extra.encode() + b"</Types>")
    if name == "xl/_rels/workbook.xml.rels" and b"sharedStrings" not in content:
        extra = f'<Relationship Type="{relation}" Target="sharedStrings.xml" Id="rId99"/>'
        return content.replace(b"</Relationships>", extra.encode() + b"</Relationships>")
    return content


def _sheet(rows) -> callable:
    def generate():
        yield b'<worksheet xmlns="' + MAIN_NS + b'"><sheetData>'
        yield from rows()
        yield b"</sheetData></worksheet>"

    return generate


def _letters(number: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(number)


def hostile() -> None:
    import subprocess

    sys.path.insert(0, str(ROOT))
    from django.conf import settings

    settings.configure(USE_I18N=False)
    from spreadsheets import Limits

    limits = Limits()
    mb = 1024 * 1024
    files = {}

    def bomb():
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
        for _ in range(200):
            yield b"x" * mb
        yield b"</t></is></c></row>"

    files["zip bomb (200 MB of one cell, sizes declared)"] = _workbook({SHEET: _sheet(bomb)})

    def flood():
        yield b'<row r="1">'
        for _ in range(2000):
            yield b"<c/>" * 1000
        yield b"</row>"

    files["element flood (2 million cells in one row)"] = _workbook({SHEET: _sheet(flood)})

    # Every row and column the limits allow, numbers in every cell, within the element cap.
    columns = min(limits.max_columns, (limits.max_xml_elements - 1000) // limits.max_rows // 2 - 1)
    letters = [_letters(n) for n in range(1, columns + 1)]

    def full():
        for row in range(1, limits.max_rows + 1):
            cells = "".join(f'<c r="{c}{row}"><v>{row}.{n}</v></c>' for n, c in enumerate(letters))
            yield f'<row r="{row}">{cells}</row>'.encode()

    files[f"largest table ({limits.max_rows} rows x {columns} columns of numbers)"] = _workbook(
        {SHEET: _sheet(full)}
    )

    # Shared strings up to the unpacked limit: distinct texts at the cell limit, in
    # characters that take 4 bytes in Python (outside the BMP), each used by one cell.
    text_count = int(limits.max_unpacked_bytes * 0.9) // (limits.max_cell_chars * 4 + 20)

    def strings():
        yield b'<sst xmlns="' + MAIN_NS + b'">'
        for n in range(text_count):
            body = (chr(0x20000 + n % 5000) * limits.max_cell_chars).encode()
            yield b"<si><t>" + body + b"</t></si>"
        yield b"</sst>"

    def sheet_of_strings():
        for row in range(1, text_count + 1):
            yield f'<row r="{row}"><c r="A{row}" t="s"><v>{row - 1}</v></c></row>'.encode()

    files[f"largest texts ({text_count} distinct cells of {limits.max_cell_chars} characters)"] = (
        _workbook({"xl/sharedStrings.xml": strings, SHEET: _sheet(sheet_of_strings)})
    )

    def styles():
        yield b'<styleSheet xmlns="' + MAIN_NS + b'">'
        yield b"<a/>" * (limits.max_xml_loose_elements - 400)
        yield b"</styleSheet>"

    files["most loose elements (styles at the cap)"] = _workbook({"xl/styles.xml": styles})

    workdir = Path(tempfile.mkdtemp(prefix="sciarena-hostile-"))
    for name, data in files.items():
        path = workdir / "file.xlsx"
        path.write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(path), str(ROOT)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            json.dumps(
                {
                    "bench": "import_questions --hostile",
                    "file": name,
                    "file_bytes": len(data),
                    **figures,
                    "load_average": os.getloadavg()[0],
                },
                ensure_ascii=False,
            )
        )
        path.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()

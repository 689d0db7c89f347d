"""Bench: importing a 10,000-question XLSX file (validation + write), all or nothing.

Generates a file in the template of docs/question-format.md (realistic Chinese text,
mixed types, every tag column), then times quizzes.bank.io.import_questions into a fresh
SQLite database (or the PostgreSQL database of --database-url, in a bank created for
the run and deleted after). The baseline, measured in the same run, is openpyxl just
reading the file's cells. Prints one JSON line.

    .venv/bin/python bench/import_questions.py [--rows 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
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


def generate(path: Path, rows: int) -> None:
    from quizzes.bank.io import tabular

    rng = random.Random(1)
    out = []
    for number in range(rows):
        qtype = rng.choice(TYPES)
        stem = (
            f"{rng.choice(DETAILS)}，{rng.choice(SUBJECTS)}{rng.choice(PREDICATES)}"
            f"（第{number + 1}题，情境{rng.randint(1, 999)}）？"
        )
        options = [""] * 8
        tolerance = unit = ""
        if qtype in ("单选", "多选", "排序"):
            count = rng.choice((3, 4, 4, 5)) if qtype != "单选" else 4
            options[:count] = rng.sample(OPTIONS, count)
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
    args = parser.parse_args()

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
    from quizzes.bank.io import import_questions
    from quizzes.models import Bank, QuestionVersion

    call_command("migrate", verbosity=0)
    path = Path(workdir) / "questions.xlsx"
    generate(path, args.rows)
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

    figures = {
        "bench": "import_questions",
        "database": connection.vendor,
        "rows": args.rows,
        "file_bytes": len(data),
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds),
        "warnings": len(result.report.warnings),
        "near_duplicate_warnings": near_duplicates,
        "baseline": "openpyxl reading every cell of the file",
        "baseline_cells": cells,
        "baseline_seconds": round(baseline, 2),
        "ratio": round(seconds / baseline, 2),
    }
    print(json.dumps(figures))
    if args.database_url:
        bank.delete()
        owner.delete()
    for entry in os.listdir(workdir):
        os.unlink(Path(workdir) / entry)
    os.rmdir(workdir)


if __name__ == "__main__":
    main()

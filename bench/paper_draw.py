"""Bench: drawing a 20-item paper from a 10,000-question bank.

Builds the bank in a fresh SQLite database (bulk_create, published versions with the
national 40/20/20/20 dimension split), then times 1,000 draws through
quizzes.papers.drawing.paper_draw (pool query, engine, paper and items written, exposure
counted) against a baseline measured in the same run, interleaved: the plain SELECT
of the candidate pool. Then a fifth as many "cold" draws with the cache cleared first
(the bank's per-signature counts are read again). Prints one JSON line.

    .venv/bin/python bench/paper_draw.py [--questions 10000] [--draws 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TYPES = (("true_false", 0.3), ("single", 0.4), ("multiple", 0.3))
DIMENSIONS = (("knowledge", 0.4), ("method", 0.2), ("spirit", 0.2), ("application", 0.2))
TOPICS = ("health", "emergency", "anti_fraud", "digital_life", "space", "energy", "environment")
DIFFICULTIES = ("easy", "medium", "hard")

# 7 true/false, 7 single, 6 multiple; knowledge 8, method 4, spirit 4, application 4.
SPLIT = {
    "true_false": {"knowledge": 3, "method": 2, "spirit": 1, "application": 1},
    "single": {"knowledge": 3, "method": 1, "spirit": 2, "application": 1},
    "multiple": {"knowledge": 2, "method": 1, "spirit": 1, "application": 2},
}
CELLS = [
    {"type": qtype, "dimension": dimension, "count": count, "points": 5}
    for qtype, dimensions in SPLIT.items()
    for dimension, count in dimensions.items()
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def build_bank(size: int):
    from accounts.models import User
    from quizzes.models import Bank, Question, QuestionVersion, VersionStatus

    rng = random.Random(1)
    author = User.objects.create(username="bench-author")
    reviewer = User.objects.create(username="bench-reviewer")
    bank = Bank.objects.create(name="bench")
    bank.owners.add(author)
    questions = Question.objects.bulk_create(
        [Question(bank=bank, created_by=author) for _n in range(size)], batch_size=1000
    )
    versions = []
    for number, question in enumerate(questions):
        qtype = rng.choices([t for t, _w in TYPES], [w for _t, w in TYPES])[0]
        dimension = rng.choices([d for d, _w in DIMENSIONS], [w for _d, w in DIMENSIONS])[0]
        options = (
            [{"id": f"{number:05d}{letter}", "text": f"选项{letter}"} for letter in "abcd"]
            if qtype != "true_false"
            else []
        )
        key = (
            {"value": rng.random() < 0.5}
            if qtype == "true_false"
            else {"options": [o["id"] for o in options[: 1 if qtype == "single" else 2]]}
        )
        versions.append(
            QuestionVersion(
                question=question,
                number=1,
                status=VersionStatus.PUBLISHED,
                type=qtype,
                stem=f"<p>第{number}题</p>",
                explanation="解析",
                options=options,
                key=key,
                dimension=dimension,
                topic=rng.choice(TOPICS),
                difficulty=rng.choice(DIFFICULTIES),
                author=author,
                reviewer=reviewer,
            )
        )
    QuestionVersion.objects.bulk_create(versions, batch_size=1000)
    return bank, author


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=1_000)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="sciarena-bench-")
    os.environ.pop("DATABASE_URL", None)  # always a fresh SQLite database
    os.environ["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from quizzes.models import ItemExposure, QuestionVersion, VersionStatus
    from quizzes.papers.blueprints import blueprint_create
    from quizzes.papers.drawing import paper_draw

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    bank, author = build_bank(args.questions)
    build_seconds = time.perf_counter() - started
    blueprint = blueprint_create(
        bank=bank, name="初赛", cells=CELLS, actor=author, exposure_cap=0.2
    )

    def baseline() -> None:
        list(
            QuestionVersion.objects.filter(
                question__bank_id=bank.pk, status=VersionStatus.PUBLISHED
            ).values_list("question_id", "id", "type", "dimension", "topic", "difficulty")
        )

    for _n in range(20):  # warm up caches and the page cache
        paper_draw(blueprint=blueprint, user=None)
        baseline()
    draws, selects = [], []
    for _n in range(args.draws):
        started = time.perf_counter()
        paper = paper_draw(blueprint=blueprint, user=None)
        draws.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        baseline()
        selects.append((time.perf_counter() - started) * 1000)
        assert paper.total_points == 100

    # Cold: the bank's per-signature counts are not cached (the first draw after a
    # question is published or retired, or after the cache expires).
    from django.core.cache import cache

    cold = []
    for _n in range(args.draws // 5):
        cache.clear()
        started = time.perf_counter()
        paper_draw(blueprint=blueprint, user=None)
        cold.append((time.perf_counter() - started) * 1000)

    total = args.draws + 20 + len(cold)
    worst = max(ItemExposure.objects.values_list("count", flat=True))
    figures = {
        "bench": "paper_draw",
        "questions": args.questions,
        "items_per_paper": sum(cell["count"] for cell in CELLS),
        "draws": args.draws,
        "draw_p50_ms": round(statistics.median(draws), 2),
        "draw_p99_ms": round(percentile(draws, 0.99), 2),
        "baseline": "SELECT of the candidate pool",
        "baseline_p50_ms": round(statistics.median(selects), 2),
        "baseline_p99_ms": round(percentile(selects, 0.99), 2),
        "ratio_p50": round(statistics.median(draws) / statistics.median(selects), 2),
        "ratio_p99": round(percentile(draws, 0.99) / percentile(selects, 0.99), 2),
        "cold_draws": len(cold),
        "cold_draw_p50_ms": round(statistics.median(cold), 2),
        "cold_draw_p99_ms": round(percentile(cold, 0.99), 2),
        "max_exposure_rate": round(worst / total, 4),
        "exposure_cap": blueprint.exposure_cap,
        "build_bank_s": round(build_seconds, 1),
    }
    print(json.dumps(figures))
    for name in os.listdir(workdir):
        os.unlink(Path(workdir) / name)
    os.rmdir(workdir)


if __name__ == "__main__":
    main()

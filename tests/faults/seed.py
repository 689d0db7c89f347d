"""Rows for the fault scenarios, written into the private PostgreSQL by a process of
its own (`python -m tests.faults.seed <command> ...` with DATABASE_URL and REDIS_URL
pointing at the private services): the test process keeps its own settings and never
opens a connection to the shared services. Prints one JSON line.

    stage R Q B P        `rounds R Q` and `banks B P` in one process (factory_boy's
                         sequences start again in each process: user names would clash)
    rounds N QUESTIONS   N live rounds of QUESTIONS single-choice questions, each with
                         its host's session cookie and the text of every question's
                         right and wrong option
    banks N PERSONS      N banks answered by PERSONS simulated people (10 items, 2PL):
                         enough for a calibration; their ids and owners
    calibrate BANK       an owner asks for a calibration of BANK (calibration_request:
                         the Celery task is queued on the private Redis after commit);
                         the run's id, or {"refused": why} while one is under way
"""

from __future__ import annotations

import json
import os
import sys

ITEMS = 10


def option_text(version, option_id: str) -> str:
    return next(o["text"] for o in version.options if o["id"] == option_id)


def rounds(count: int, questions: int) -> list[dict]:
    from django.conf import settings
    from django.test import Client

    from tests.support.live import choice_for, make_round

    made = []
    for _n in range(count):
        live = make_round(types=["single"] * questions, seconds=120)
        client = Client()
        client.force_login(live.host)
        name = settings.SESSION_COOKIE_NAME
        shown = live.questions.select_related("version").order_by("position")
        versions = [q.version for q in shown]
        made.append(
            {
                "id": live.pk,
                "pin": live.pin,
                "cookie": f"{name}={client.cookies[name].value}",
                # By text: a client answers with the ids its question frame shows.
                "right": [option_text(v, choice_for(v, right=True)) for v in versions],
                "wrong": [option_text(v, choice_for(v, right=False)) for v in versions],
            }
        )
    return made


def banks(count: int, persons: int) -> list[dict]:
    from tests.quizzes.answered import answered_bank

    made = []
    for n in range(count):
        bank, _versions = answered_bank(persons, seed=n, items=ITEMS)
        made.append({"id": bank.pk, "owner": bank.owners.first().pk})
    return made


def stage(round_count: int, questions: int, bank_count: int, persons: int) -> dict:
    return {"rounds": rounds(round_count, questions), "banks": banks(bank_count, persons)}


def calibrate(bank_id: int) -> dict:
    from django.core.exceptions import ValidationError

    from quizzes.bank.calibrations import calibration_request
    from quizzes.models import Bank

    bank = Bank.objects.get(pk=bank_id)
    try:
        run = calibration_request(bank=bank, actor=bank.owners.first())
    except ValidationError as refused:
        return {"refused": " ".join(refused.messages)}
    return {"run": run.pk}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    # Test accounts: hashing their passwords properly would be most of the seeding time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    command, *args = argv
    numbers = [int(a) for a in args]
    commands = {"stage": stage, "rounds": rounds, "banks": banks, "calibrate": calibrate}
    result = commands[command](*numbers)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Seeding for bench/http_load.py, in its process with Django set up on the servers'
settings: a bank of published questions, a practice-paper blueprint (20 items) and a
daily quiz blueprint (5 items) open to players, and the players.

Players are signed in out of band: session rows written directly, with a random CSRF
secret each as the cookie a page would have set. A sign-in through allauth costs a
PBKDF2 hash (about 0.3 s of CPU): the bench measures that on its own (the login burst),
for players made with one hash of one random password, hashed once here.
"""

from __future__ import annotations


def seed(args) -> dict:
    """The bank, the two blueprints, the players and their sessions."""
    from datetime import timedelta

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from quizzes.bank import services
    from quizzes.papers.blueprints import blueprint_create, blueprint_open_to_players
    from quizzes.papers.forms import DAILY_START, FIXED_START
    from quizzes.play.practice import daily_blueprint_create

    owner = User.objects.create(username="bench-owner", role=User.Role.TEACHER)
    reviewer = User.objects.create(username="bench-reviewer", role=User.Role.ORGANIZER)
    bank = services.bank_create(name="bench-http", owner=owner)
    bank.reviewers.add(reviewer)
    dimensions = ("knowledge", "method", "spirit", "application")
    for n in range(args.questions):
        kind = ("single", "multiple", "true_false")[n % 3]
        raw = {
            "type": kind,
            "stem": f"第{n + 1}题：关于第{n * 7 + 3}号样本的观察，下列说法哪一项正确？",
            "options": [] if kind == "true_false" else [f"选项{n}-{k}" for k in "甲乙丙丁"],
            "key": {"single": "B", "multiple": "AC", "true_false": True}[kind],
            "explanation": "压测题目。",
            "dimension": dimensions[(n // 3) % 4],
            "topic": "environment",
            "difficulty": "medium",
            "source": "bench",
        }
        version = services.question_create(bank=bank, author=owner, raw=raw).versions.get()
        services.version_submit(version=version, actor=owner)
        services.version_publish(version=version, reviewer=reviewer)
    paper = blueprint_create(
        bank=bank, name="压测练习卷", cells=FIXED_START, actor=owner, exposure_cap=1.0
    )
    blueprint_open_to_players(blueprint=paper, actor=owner, is_open=True)
    daily = daily_blueprint_create(bank=bank, name="压测每日答题", actor=owner, cells=DAILY_START)
    blueprint_open_to_players(blueprint=daily, actor=owner, is_open=True)

    # One PBKDF2 hash for every player that signs in (the same password): hashing each
    # would take 0.3 s a player before the run.
    password = get_random_string(16)
    hashed = make_password(password)
    total = args.players + args.fresh + args.logins
    users = User.objects.bulk_create(
        User(username=f"p{n}", password=hashed if n >= total - args.logins else "!" + str(n))
        for n in range(total)
    )
    expires = timezone.now() + timedelta(days=1)
    store = SessionStore()
    sessions, signed_in = [], []
    for user in users[: args.players + args.fresh]:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expires)
        )
        # The CSRF cookie's secret, sent back as the header and form field as a page does.
        signed_in.append({"session": key, "csrf": get_random_string(32)})
    Session.objects.bulk_create(sessions, batch_size=500)
    return {
        "paper_start": f"/papers/start/{paper.pk}/",
        "daily_start": f"/practice/daily/{daily.pk}/start/",
        "players": signed_in[: args.players],
        "fresh": signed_in[args.players :],
        "logins": [{"username": u.username, "password": password} for u in users[-args.logins :]]
        if args.logins
        else [],
    }

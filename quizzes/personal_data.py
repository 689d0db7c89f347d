"""quizzes' personal data, registered with accounts.personal_data (QuizzesConfig.ready).

What a player has here: papers (with their items, answers, challenge and self-test
results), progress, XP, personal bests, topic mastery, weekly cohorts, mistake review.
What a teacher or organizer has: banks they own, review or share, the questions and
versions they wrote or reviewed, their audit entries, calibration runs and
blueprints.

On deletion results stay, anonymised (they point at the user row, which deletion
anonymises), so school and district figures keep adding up; what a person typed in
(fill-in answers) is blanked; the self-test's copy of the birth year goes; the person
leaves their weekly cohorts (a small league of named players).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from accounts.personal_data import blank_answers, register, row, rows
from quizzes.bank.answers import FILL
from quizzes.models import (
    AdaptiveTest,
    AuditEntry,
    Bank,
    Blueprint,
    CalibrationRun,
    Challenge,
    CohortMember,
    Paper,
    PaperDraft,
    PersonalBest,
    Progress,
    Question,
    QuestionVersion,
    Response,
    ReviewAnswer,
    ReviewCard,
    ReviewSession,
    TopicMastery,
    XpAward,
)

RESULTS_KEPT = (
    "results and progress stay for school and district figures; they point at the user "
    "row, which deletion anonymises, and hold no name"
)
WORK_KEPT = (
    "a record of work done for a bank (authorship, the four-eyes review, the audit trail); "
    "it points at the user row, which deletion anonymises"
)


def _papers(user) -> list[dict[str, Any]]:
    papers = (
        Paper.objects.filter(user=user)
        .select_related("blueprint")
        .prefetch_related("items__version", "responses")
        .order_by("pk")
    )
    challenges = {c.paper_id: c for c in Challenge.objects.filter(paper__user=user)}
    adaptive = {a.paper_id: a for a in AdaptiveTest.objects.filter(paper__user=user)}
    result = []
    for paper in papers:
        answers = {r.item_id: r for r in paper.responses.all()}
        data = row(paper)
        data["blueprint"] = paper.blueprint.name
        data["mode"] = paper.blueprint.mode
        data["items"] = [
            {
                "position": item.position,
                "question": str(item.version.question_id),
                "version": item.version.number,
                "type": item.version.type,
                "points": item.points,
                "response": row(answers[item.pk]) if item.pk in answers else None,
            }
            for item in paper.items.all()
        ]
        if paper.pk in challenges:
            data["challenge"] = row(challenges[paper.pk])
        if paper.pk in adaptive:
            data["self_test"] = row(adaptive[paper.pk], leave_out=("state",))
        result.append(data)
    return result


def _erase_papers(user) -> None:
    blank_answers(Response.objects.filter(paper__user=user, item__version__type=FILL), "answer")
    # Saved answers of papers not submitted (quizzes.papers.autosave) may be typed text too.
    PaperDraft.objects.filter(paper__user=user).delete()
    AdaptiveTest.objects.filter(paper__user=user).update(birth_year=None)


def _review_sessions(user) -> list[dict[str, Any]]:
    sessions = ReviewSession.objects.filter(user=user).prefetch_related(
        Prefetch("answers", queryset=ReviewAnswer.objects.order_by("pk"))
    )
    return [
        {**row(session), "answers": [row(answer) for answer in session.answers.all()]}
        for session in sessions.order_by("pk")
    ]


def _banks(user) -> list[dict[str, Any]]:
    roles = {"owner": "owners", "reviewer": "reviewers", "shared": "shared_with"}
    found: dict[int, dict[str, Any]] = {}
    for role, field in roles.items():
        for bank in Bank.objects.filter(**{field: user}).order_by("pk"):
            entry = found.setdefault(bank.pk, {"id": bank.pk, "name": bank.name, "roles": []})
            entry["roles"].append(role)
    return list(found.values())


def _versions(user) -> list[dict[str, Any]]:
    """Versions the person wrote or reviewed: which, when and in what role (the
    question's text is the bank's, not personal data)."""
    result = []
    for version in QuestionVersion.objects.filter(author=user) | QuestionVersion.objects.filter(
        reviewer=user
    ):
        result.append(
            {
                "id": version.pk,
                "question": str(version.question_id),
                "number": version.number,
                "status": version.status,
                "author": version.author_id == user.pk,
                "reviewer": version.reviewer_id == user.pk,
                "created_at": row(version)["created_at"],
            }
        )
    return sorted(result, key=lambda v: v["id"])


def _only(model, field: str, *fields: str):
    def export(user) -> list[dict[str, Any]]:
        return [
            {name: row(obj)[name] for name in ("id", *fields)}
            for obj in model.objects.filter(**{field: user}).order_by("pk")
        ]

    return export


def register_quizzes() -> None:
    _register_play()
    _register_work()


def _register_play() -> None:
    """What a player has: papers, progress, cohorts, mistake review."""
    register(
        Paper,
        key="papers",
        user_fields=("user",),
        export=_papers,
        erase=_erase_papers,
    )
    register(
        Progress,
        key="progress",
        user_fields=("user",),
        export=lambda user: rows(Progress.objects.filter(user=user)),
        kept=RESULTS_KEPT,
    )
    for model, key in (
        (XpAward, "xp_awards"),
        (PersonalBest, "personal_bests"),
        (TopicMastery, "topic_mastery"),
    ):
        register(
            model,
            key=key,
            user_fields=("user",),
            export=lambda user, model=model: rows(model.objects.filter(user=user)),
            kept=RESULTS_KEPT,
        )
    register(
        CohortMember,
        key="cohorts",
        user_fields=("user",),
        export=lambda user: [
            {**row(m), "tier": m.cohort.tier, "cohort_number": m.cohort.number}
            for m in CohortMember.objects.filter(user=user).select_related("cohort")
        ],
        erase=lambda user: CohortMember.objects.filter(user=user).delete(),
    )
    register(
        ReviewCard,
        key="review_cards",
        user_fields=("user",),
        export=lambda user: rows(ReviewCard.objects.filter(user=user)),
        kept=RESULTS_KEPT,
    )
    register(
        ReviewSession,
        key="review_sessions",
        user_fields=("user",),
        export=_review_sessions,
        erase=lambda user: blank_answers(
            ReviewAnswer.objects.filter(session__user=user, version__type=FILL), "answer"
        ),
    )


def _register_work() -> None:
    """What a teacher or organizer has: banks, questions, reviews, audit, blueprints."""
    register(
        Bank,
        key="banks",
        user_fields=("owners", "reviewers", "shared_with"),
        export=_banks,
        kept=WORK_KEPT,
    )
    register(
        Question,
        key="questions_created",
        user_fields=("created_by",),
        export=_only(Question, "created_by", "uid", "bank", "created_at"),
        kept=WORK_KEPT,
    )
    register(
        QuestionVersion,
        key="question_versions",
        user_fields=("author", "reviewer"),
        export=_versions,
        kept=WORK_KEPT,
    )
    register(
        AuditEntry,
        key="bank_audit",
        user_fields=("actor",),
        export=_only(AuditEntry, "actor", "bank", "question", "action", "at"),
        kept=WORK_KEPT,
    )
    register(
        CalibrationRun,
        key="calibration_runs",
        user_fields=("started_by",),
        export=_only(CalibrationRun, "started_by", "bank", "status", "created_at"),
        kept=WORK_KEPT,
    )
    register(
        Blueprint,
        key="blueprints",
        user_fields=("created_by",),
        export=_only(Blueprint, "created_by", "bank", "name", "mode", "created_at"),
        kept=WORK_KEPT,
    )

"""The quizzes app's models, importable as `quizzes.models` (Django looks here).

bank.py: question banks, questions and their versions, the audit trail, item
statistics and IRT calibrations; papers.py: blueprints, papers, their items and
responses, exposure counts, the daily set, challenges and self-tests; progress.py: XP,
streaks, mastery, personal bests, cohorts; review.py: the mistake review deck (FSRS
cards) and its sessions.
"""

from .bank import (
    AUDIENCES,
    CHOICE_TYPES,
    OPEN_STATUSES,
    AuditEntry,
    Bank,
    CalibrationRun,
    Difficulty,
    Dimension,
    GradeBand,
    ItemParameters,
    ItemStatistics,
    Question,
    QuestionType,
    QuestionVersion,
    Topic,
    VersionStatus,
)
from .papers import (
    AdaptiveTest,
    Blueprint,
    Challenge,
    DailySet,
    ItemExposure,
    Paper,
    PaperDraft,
    PaperItem,
    Response,
)
from .progress import Cohort, CohortMember, PersonalBest, Progress, TopicMastery, XpAward
from .review import ReviewAnswer, ReviewCard, ReviewSession

__all__ = [
    "AUDIENCES",
    "CHOICE_TYPES",
    "OPEN_STATUSES",
    "AdaptiveTest",
    "AuditEntry",
    "Bank",
    "Blueprint",
    "CalibrationRun",
    "Challenge",
    "Cohort",
    "CohortMember",
    "DailySet",
    "Difficulty",
    "Dimension",
    "GradeBand",
    "ItemExposure",
    "ItemParameters",
    "ItemStatistics",
    "Paper",
    "PaperDraft",
    "PaperItem",
    "PersonalBest",
    "Progress",
    "Question",
    "QuestionType",
    "QuestionVersion",
    "Response",
    "ReviewAnswer",
    "ReviewCard",
    "ReviewSession",
    "Topic",
    "TopicMastery",
    "VersionStatus",
    "XpAward",
]

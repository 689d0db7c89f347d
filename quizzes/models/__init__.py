"""The quizzes app's models, importable as `quizzes.models` (Django looks here).

bank.py: question banks, questions and their versions, blueprints, papers and
responses, the adaptive and practice records, IRT parameters and item statistics;
progress.py: XP, streaks, mastery, personal bests, cohorts; review.py: the mistake
review deck (FSRS cards) and its sessions.
"""

from .bank import (
    AUDIENCES,
    CHOICE_TYPES,
    OPEN_STATUSES,
    AdaptiveTest,
    AuditEntry,
    Bank,
    Blueprint,
    CalibrationRun,
    Challenge,
    DailySet,
    Difficulty,
    Dimension,
    GradeBand,
    ItemExposure,
    ItemParameters,
    ItemStatistics,
    Paper,
    PaperItem,
    Question,
    QuestionType,
    QuestionVersion,
    Response,
    Topic,
    VersionStatus,
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

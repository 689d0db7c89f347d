from django.urls import path

from quizzes.play.views import adaptive as adaptive_views
from quizzes.play.views import practice as practice_views
from quizzes.play.views import progress as progress_views
from quizzes.play.views import review as review_views

app_name = "practice"

urlpatterns = [
    path("", practice_views.practice_home, name="home"),
    path("progress/", progress_views.progress_page, name="progress"),
    path("tests/<int:blueprint_id>/start/", adaptive_views.test_start, name="test_start"),
    path("tests/paper/<int:paper_id>/", adaptive_views.test_detail, name="test"),
    path("tests/paper/<int:paper_id>/answer/", adaptive_views.test_answer, name="test_answer"),
    path("daily/<int:blueprint_id>/start/", practice_views.daily_start, name="daily_start"),
    path("daily/paper/<int:paper_id>/", practice_views.daily_detail, name="daily"),
    path("daily/paper/<int:paper_id>/submit/", practice_views.daily_submit, name="daily_submit"),
    path("daily/paper/<int:paper_id>/answers/", practice_views.daily_answers, name="daily_answers"),
    path(
        "challenges/<int:blueprint_id>/start/",
        practice_views.challenge_start,
        name="challenge_start",
    ),
    path("challenges/paper/<int:paper_id>/", practice_views.challenge_detail, name="challenge"),
    path(
        "challenges/paper/<int:paper_id>/answer/",
        practice_views.challenge_answer,
        name="challenge_answer",
    ),
    path("review/", review_views.review_home, name="review"),
    path("review/start/", review_views.review_start, name="review_start"),
    path("review/<int:session_id>/", review_views.review_session, name="review_session"),
    path("review/<int:session_id>/answer/", review_views.review_answer, name="review_answer"),
    path(
        "review/<int:session_id>/cards/<int:card_id>/",
        review_views.review_answered,
        name="review_answered",
    ),
    path("themes/", practice_views.themes, name="themes"),
    path(
        "themes/<int:bank_id>/<slug:topic>/start/",
        practice_views.theme_start,
        name="theme_start",
    ),
    path("themes/paper/<int:paper_id>/", practice_views.themed_detail, name="themed"),
    path("themes/paper/<int:paper_id>/submit/", practice_views.themed_submit, name="themed_submit"),
    path(
        "themes/paper/<int:paper_id>/answers/",
        practice_views.themed_answers,
        name="themed_answers",
    ),
]

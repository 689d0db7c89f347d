from django.urls import path

from . import adaptive_views as views

app_name = "practice"

urlpatterns = [
    path("", views.practice_home, name="home"),
    path("tests/<int:blueprint_id>/start/", views.test_start, name="test_start"),
    path("tests/paper/<int:paper_id>/", views.test_detail, name="test"),
    path("tests/paper/<int:paper_id>/answer/", views.test_answer, name="test_answer"),
]

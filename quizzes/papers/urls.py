from django.urls import path

from quizzes.papers import views

app_name = "papers"

urlpatterns = [
    path("", views.paper_list, name="list"),
    path("start/<int:blueprint_id>/", views.paper_start, name="start"),
    path("<int:paper_id>/", views.paper_detail, name="detail"),
    path("<int:paper_id>/submit/", views.paper_submit, name="submit"),
    path("<int:paper_id>/answers/", views.paper_answers, name="answers"),
    path("<int:paper_id>.json", views.paper_data, name="data"),
]

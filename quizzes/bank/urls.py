from django.urls import path

from quizzes.bank import views
from quizzes.bank.io import views as io_views
from quizzes.papers import authoring_views as blueprint_views

app_name = "quizzes"

urlpatterns = [
    path("", views.bank_list, name="banks"),
    path("new/", views.bank_create, name="bank_create"),
    path("<int:bank_id>/", views.bank_detail, name="bank"),
    path("<int:bank_id>/new/", views.question_create, name="question_create"),
    path("<int:bank_id>/review/", views.review_queue, name="review_queue"),
    path("<int:bank_id>/import/", io_views.bank_import, name="bank_import"),
    path(
        "<int:bank_id>/import/confirm/",
        io_views.bank_import_confirm,
        name="bank_import_confirm",
    ),
    path("<int:bank_id>/export/", io_views.bank_export, name="bank_export"),
    path("<int:bank_id>/calibration/", views.calibration, name="calibration"),
    path("<int:bank_id>/blueprints/", blueprint_views.blueprint_list, name="blueprints"),
    path(
        "<int:bank_id>/blueprints/new/",
        blueprint_views.blueprint_create,
        name="blueprint_create",
    ),
    path(
        "<int:bank_id>/blueprints/<int:blueprint_id>/edit/",
        blueprint_views.blueprint_edit,
        name="blueprint_edit",
    ),
    path("monitoring/literacy/", views.literacy_monitoring, name="literacy_monitoring"),
    path("import/template.xlsx", io_views.import_template, name="import_template"),
    path("q/<int:question_id>/", views.question_detail, name="question"),
    path("q/<int:question_id>/edit/", views.question_edit, name="question_edit"),
    path("preview/", views.question_preview, name="preview"),
    path("images/", views.image_create, name="image_create"),
    path(
        "v/<int:version_id>/<str:action>/",
        views.version_action,
        name="version_action",
    ),
]

from django.urls import path

from . import views

app_name = "directory"

urlpatterns = [
    path("", views.schools, name="schools"),
    path("schools/new/", views.school_edit, name="school_new"),
    path("schools/<int:school_id>/", views.school_edit, name="school"),
    path("schools/<int:school_id>/merge/", views.school_merge, name="school_merge"),
    path("units/", views.units, name="units"),
    path("units/new/", views.unit_edit, name="unit_new"),
    path("units/<int:unit_id>/", views.unit_edit, name="unit"),
    path("units/<int:unit_id>/merge/", views.unit_merge, name="unit_merge"),
    path("pending/", views.pending, name="pending"),
    path("import/", views.directory_import, name="import"),
    path("import/confirm/", views.directory_import_confirm, name="import_confirm"),
    path("template.xlsx", views.template, name="template"),
    path("export.xlsx", views.export, name="export"),
    path("sample.csv", views.sample, name="sample"),
]

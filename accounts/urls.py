from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.me, name="me"),
    path("consent/<str:token>/", views.consent, name="consent"),
]

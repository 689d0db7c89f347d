from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.me, name="me"),
    path("play/", views.play, name="play"),
    path("export.json", views.export, name="export"),
    path("delete/", views.delete, name="delete"),
    # "resend" comes before the token patterns so it is never read as a token.
    path("consent/resend/", views.consent_resend, name="consent_resend"),
    path("consent/<str:token>/", views.consent, name="consent"),
    path("consent/<str:token>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
]

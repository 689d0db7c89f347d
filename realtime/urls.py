from django.urls import path, re_path

from . import views

app_name = "realtime"

PIN = r"(?P<pin>[0-9]{6})"

urlpatterns = [
    path("", views.enter, name="enter"),
    path("new/", views.round_new, name="new"),
    path("nickname/", views.nickname, name="nickname"),
    path("pk/", views.pk_page, name="pk"),
    re_path(rf"^{PIN}/$", views.player, name="play"),
    re_path(rf"^{PIN}/teams/$", views.teams, name="teams"),
    re_path(rf"^{PIN}/host/$", views.host, name="host"),
    re_path(rf"^{PIN}/host/teams/$", views.host_team_add, name="host_team_add"),
    re_path(rf"^{PIN}/host/turns/$", views.host_turns, name="host_turns"),
    re_path(rf"^{PIN}/host/roster/$", views.host_roster, name="host_roster"),
    re_path(rf"^{PIN}/host/slips/$", views.host_slips, name="host_slips"),
    re_path(rf"^{PIN}/host/results\.xlsx$", views.host_results, name="host_results"),
    re_path(rf"^{PIN}/screen/$", views.screen, name="screen"),
]

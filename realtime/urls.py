from django.urls import path, re_path

from .live.views import host, player, screen

app_name = "realtime"

PIN = r"(?P<pin>[0-9]{6})"

urlpatterns = [
    path("", player.enter, name="enter"),
    path("new/", host.round_new, name="new"),
    path("nickname/", player.nickname, name="nickname"),
    path("pk/", player.pk_page, name="pk"),
    re_path(rf"^{PIN}/$", player.player, name="play"),
    re_path(rf"^{PIN}/teams/$", player.teams, name="teams"),
    re_path(rf"^{PIN}/host/$", host.host, name="host"),
    re_path(rf"^{PIN}/host/teams/$", host.host_team_add, name="host_team_add"),
    re_path(rf"^{PIN}/host/turns/$", host.host_turns, name="host_turns"),
    re_path(rf"^{PIN}/host/roster/$", host.host_roster, name="host_roster"),
    re_path(rf"^{PIN}/host/slips/$", host.host_slips, name="host_slips"),
    re_path(rf"^{PIN}/host/results\.xlsx$", host.host_results, name="host_results"),
    re_path(rf"^{PIN}/screen/$", screen.screen, name="screen"),
]

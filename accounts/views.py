from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import consent_state, user_can_play


@login_required
def me(request):
    return render(
        request,
        "accounts/me.html",
        {"can_play": user_can_play(user=request.user), "consent": consent_state(user=request.user)},
    )


def consent(request, token):
    raise NotImplementedError

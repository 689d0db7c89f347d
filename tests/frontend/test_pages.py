"""The page frame and the home page: language, elder mode, landmarks, no CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Profile
from tests.factories import PASSWORD, adult

pytestmark = pytest.mark.django_db

ELDER = settings.ELDER_MODE_COOKIE_NAME


class _Page(HTMLParser):
    """Just enough of a page to check its frame: tags, attributes, assets."""

    def __init__(self):
        super().__init__()
        self.html_attrs: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.html_attrs = attributes
        self.tags.append((tag, attributes))

    def find(self, tag, **wanted):
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and all(attrs.get(k.rstrip("_")) == v for k, v in wanted.items())
        ]

    def asset_urls(self):
        for tag, attrs in self.tags:
            if tag in {"script", "img", "iframe", "audio", "video", "source"} and attrs.get("src"):
                yield attrs["src"]
            if tag == "link" and attrs.get("href"):
                yield attrs["href"]


def parse(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    return page


def html_classes(response) -> set[str]:
    return set(parse(response).html_attrs.get("class", "").split())


# --- Language ---------------------------------------------------------------------------


def test_home_is_chinese_by_default_even_when_the_browser_asks_for_english(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert parse(response).html_attrs["lang"] == "zh-hans"
    assert response.headers["Content-Language"] == "zh-hans"
    # "Home" is in Django's own Chinese catalogue, so this holds before ours is built.
    assert "首页" in response.content.decode()


def test_set_language_switches_to_english_and_back(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    english = client.get("/")
    assert parse(english).html_attrs["lang"] == "en"
    body = english.content.decode()
    assert '<h1 id="home-title">SciArena</h1>' in body
    assert "Results are not used for school admissions." in body

    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert parse(client.get("/")).html_attrs["lang"] == "zh-hans"


def test_an_unknown_language_cookie_falls_back_to_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert parse(client.get("/")).html_attrs["lang"] == "zh-hans"


def test_language_switch_offers_both_languages_named_in_themselves(client):
    page = parse(client.get("/"))
    forms = page.find("form", action=reverse("set_language"))
    assert forms and forms[0]["method"] == "post"
    buttons = {attrs["value"]: attrs for attrs in page.find("button", name="language")}
    assert set(buttons) == {"zh-hans", "en"}
    assert buttons["zh-hans"].get("aria-current") == "true"
    assert "aria-current" not in buttons["en"]
    body = client.get("/").content.decode()
    assert "简体中文" in body and "English" in body


# --- Elder mode -------------------------------------------------------------------------


def test_elder_mode_is_off_by_default(client):
    response = client.get("/")
    assert "elder" not in html_classes(response)
    toggles = parse(response).find("button", **{"aria-pressed": "false"})
    assert toggles, "the elder-mode toggle says it is not pressed"


def test_elder_toggle_sets_a_lasting_cookie_and_the_next_page_is_in_elder_mode(client):
    response = client.post(reverse("frontend:elder_mode"), {"elder": "1", "next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = response.cookies[ELDER]
    assert cookie.value == "1"
    assert int(cookie["max-age"]) >= 364 * 24 * 3600
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"

    page = client.get("/")
    assert "elder" in html_classes(page)
    assert parse(page).find("button", **{"aria-pressed": "true"})
    # ...and it stays on for other pages.
    assert "elder" in html_classes(client.get(reverse("account_login")))

    response = client.post(reverse("frontend:elder_mode"), {"elder": "0", "next": "/"})
    assert response.cookies[ELDER].value == "0"
    assert "elder" not in html_classes(client.get("/"))


def test_elder_toggle_without_a_wanted_state_flips_the_current_one(client):
    client.post(reverse("frontend:elder_mode"), {"next": "/"})
    assert "elder" in html_classes(client.get("/"))
    client.post(reverse("frontend:elder_mode"), {"next": "/"})
    assert "elder" not in html_classes(client.get("/"))


def test_elder_toggle_answers_json_for_scripts(client):
    response = client.post(
        reverse("frontend:elder_mode"), {"elder": "1"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"elder_mode": True}
    assert response.cookies[ELDER].value == "1"


def test_elder_toggle_accepts_post_only(client):
    assert client.get(reverse("frontend:elder_mode")).status_code == 405


def test_elder_toggle_needs_a_csrf_token():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("frontend:elder_mode"), {"elder": "1"}).status_code == 403


def test_elder_mode_is_saved_on_the_profile_of_a_signed_in_user(client):
    user = adult()
    client.force_login(user)
    client.post(reverse("frontend:elder_mode"), {"elder": "1", "next": "/me/"})
    assert Profile.objects.get(user=user).elder_mode is True

    # Another device, no cookie yet: the profile brings elder mode along.
    other_device = type(client)()
    assert other_device.login(username=user.username, password=PASSWORD)
    assert "elder" in html_classes(other_device.get("/"))

    client.post(reverse("frontend:elder_mode"), {"elder": "0", "next": "/"})
    assert Profile.objects.get(user=user).elder_mode is False


def test_a_choice_made_on_this_device_wins_over_the_profile(client):
    user = adult(elder_mode=True)
    client.force_login(user)
    assert "elder" in html_classes(client.get("/"))
    client.cookies[ELDER] = "0"
    assert "elder" not in html_classes(client.get("/"))


def test_elder_toggle_works_for_an_account_without_a_profile(client, django_user_model):
    user = django_user_model.objects.create_user(username="bare", password=PASSWORD)
    client.force_login(user)
    response = client.post(reverse("frontend:elder_mode"), {"elder": "1", "next": "/"})
    assert response.status_code == 302
    assert "elder" in html_classes(client.get("/"))


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/",
        "//evil.example.com/",
        "http://evil.example.com/me/",
        "///evil.example.com",
        "javascript:alert(1)",
        "",
    ],
)
def test_elder_toggle_never_follows_next_off_site(client, next_url):
    response = client.post(reverse("frontend:elder_mode"), {"elder": "1", "next": next_url})
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("frontend:home")


def test_elder_toggle_follows_a_local_next_with_its_query(client):
    response = client.post(
        reverse("frontend:elder_mode"), {"elder": "1", "next": "/accounts/login/?next=/me/"}
    )
    assert response.headers["Location"] == "/accounts/login/?next=/me/"


def test_the_toggle_forms_send_the_visitor_back_to_the_page_they_were_on(client):
    page = parse(client.get(reverse("account_login") + "?next=/me/"))
    nexts = [attrs["value"] for attrs in page.find("input", name="next", type="hidden")]
    assert nexts.count("/accounts/login/?next=/me/") == 2  # language switch and elder toggle


# --- Frame: landmarks, navigation, footer, assets ---------------------------------------

PAGES = ["/", "/accounts/login/", "/accounts/signup/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_landmarks_a_skip_link_and_a_title(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = parse(response)
    for landmark in ("header", "nav", "main", "footer"):
        assert page.find(landmark), f"{path} has no <{landmark}>"
    assert page.find("main", id="main")
    assert page.find("a", href="#main", class_="skip-link")
    assert page.find("meta", name="viewport")
    body = response.content.decode()
    assert re.search(r"<title>[^<]+</title>", body)
    assert "Results are not used for school admissions." in body or "不作为" in body


@pytest.mark.parametrize("path", PAGES)
def test_no_page_loads_anything_from_another_host(client, path):
    """Works in China: no CDN, web font, analytics or captcha from elsewhere."""
    response = client.get(path)
    page = parse(response)
    for url in page.asset_urls():
        if url.startswith("data:"):  # inline, such as the favicon
            continue
        parsed = urlparse(url)
        assert not parsed.scheme and not parsed.netloc, f"{path} loads {url}"
        assert url.startswith("/"), f"{path} loads {url}"
    assert "fonts.googleapis" not in response.content.decode()


def test_the_stylesheet_and_scripts_are_local_and_load_no_fonts(client):
    from django.contrib.staticfiles import finders

    for name in ("css/site.css", "js/site.js", "vendor/htmx/htmx.min.js"):
        path = finders.find(name)
        assert path, f"{name} is missing"
        text = Path(path).read_text(encoding="utf-8")
        assert "@font-face" not in text and "@import" not in text
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), f"{name} loads from afar"
    css = Path(finders.find("css/site.css")).read_text(encoding="utf-8")
    for font in ('"PingFang SC"', '"Microsoft YaHei"', '"Noto Sans CJK SC"', "sans-serif"):
        assert font in css
    assert ":focus-visible" in css and "prefers-reduced-motion" in css and "html.elder" in css
    assert finders.find("vendor/htmx/VERSION") and finders.find("vendor/htmx/LICENSE")


def test_nav_for_visitors_offers_sign_in_and_sign_up(client):
    page = parse(client.get("/"))
    assert page.find("a", href=reverse("account_login"))
    assert page.find("a", href=reverse("account_signup"))
    assert not page.find("form", action=reverse("account_logout"))
    assert page.find("nav")[0].get("aria-label"), "the main nav is named"


def test_nav_for_a_signed_in_user_offers_the_account_and_a_sign_out_form(client):
    client.force_login(adult())
    page = parse(client.get("/"))
    assert page.find("a", href=reverse("accounts:me"))
    logout = page.find("form", action=reverse("account_logout"))
    assert logout and logout[0]["method"] == "post"
    assert not page.find("a", href=reverse("account_signup"))
    assert not page.find("a", href=reverse("admin:index")), "only staff see the admin link"


def test_staff_see_the_admin_link(client):
    client.force_login(adult(user__is_staff=True))
    assert parse(client.get("/")).find("a", href=reverse("admin:index"))


def test_messages_are_shown_with_a_text_label(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    user = adult()
    response = client.post(
        reverse("account_login"), {"login": user.username, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain, "the login redirects"
    body = response.content.decode()
    # allauth says "Successfully signed in as ..." through the messages framework.
    assert 'class="messages"' in body
    assert "Done:" in body


# --- Home page --------------------------------------------------------------------------


def test_home_leads_each_kind_of_visitor_to_a_page_that_exists(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/")
    body = response.content.decode()
    for heading in ("For citizens", "For students", "For organisers and teachers"):
        assert heading in body
    assert "PIN" in body and "QR" in body

    page = parse(response)
    local_links = {attrs["href"] for attrs in page.find("a") if attrs.get("href", "/")[:1] == "/"}
    for href in local_links - {"#main"}:
        status = client.get(href).status_code
        assert status in {200, 302}, f"the home page links to {href}, which answers {status}"
    assert reverse("account_signup") in local_links
    assert reverse("account_login") in local_links

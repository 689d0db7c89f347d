import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from quizzes.rich_text import sanitise
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def organizer(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = UserFactory(role="organizer")
    assert client.login(username=user.username, password=PASSWORD)
    return user


def upload(client, name, data):
    return client.post(reverse("quizzes:image_create"), {"image": SimpleUploadedFile(name, data)})


def test_an_uploaded_png_is_stored_under_media_and_survives_sanitising(client, organizer, tmp_path):
    response = upload(client, "cell.png", PNG)
    assert response.status_code == 200
    html = response.content.decode()
    src = html.split('src="')[1].split('"')[0]
    assert src.startswith("/media/questions/") and src.endswith(".png")
    assert (tmp_path / src.removeprefix("/media/")).read_bytes() == PNG
    assert sanitise(f'<img src="{src}" alt="">').html == f'<img src="{src}" alt="">'


@pytest.mark.parametrize(
    "name, data",
    [
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("x.png", b"<html>not an image</html>"),
        ("big.png", PNG + b"\x00" * (2 * 1024 * 1024)),
    ],
)
def test_scriptable_unknown_or_oversized_files_are_refused(client, organizer, tmp_path, name, data):
    response = upload(client, name, data)
    assert response.status_code == 400
    assert not (tmp_path / "questions").exists() or not any((tmp_path / "questions").iterdir())


def test_players_cannot_upload(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from tests.factories import adult

    assert client.login(username=adult().username, password=PASSWORD)
    assert upload(client, "cell.png", PNG).status_code == 403

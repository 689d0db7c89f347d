import pytest

from realtime.live.nicknames import BLOCKED, NicknameError, clean_nickname, generated_nickname


@pytest.mark.parametrize(
    "raw", ["傻 逼", "ＳＢ123", "S B", "F u C k", "你妈的", "x" * 21, "  ", "a\u0000b"]
)
def test_abusive_empty_long_or_control_nicknames_are_refused(raw):
    with pytest.raises(NicknameError):
        clean_nickname(raw)


@pytest.mark.parametrize(
    "raw, clean",
    [("  小明  ", "小明"), ("Ｔｏｍ", "Tom"), ("海淀 二中", "海淀 二中"), ("Gatsby", "Gatsby")],
)
def test_ordinary_nicknames_are_kept_tidied(raw, clean):
    assert clean_nickname(raw) == clean


def test_generated_nicknames_pass_the_filter():
    for _ in range(200):
        name = generated_nickname()
        assert clean_nickname(name) == name
    assert all(word == word.casefold() for word in BLOCKED)

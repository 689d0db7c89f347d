"""The Simplified Chinese catalogue is complete, well-formed and compiled.

Checks frontend/locale/zh_Hans/LC_MESSAGES/django.po and the django.mo built from it:
no untranslated, fuzzy or conflicting obsolete entries, placeholders kept, whitespace
kept, one plural form, and a .mo that matches the .po (run `compilemessages` after
editing the .po).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
LC_MESSAGES = ROOT / "frontend" / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# printf-style conversions as Python's % operator reads them; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?"  # optional mapping key
    r"[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"  # flags, width, precision, length
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)


def placeholders(text: str) -> Counter[str]:
    """Named placeholders by name, unnamed ones by position-free conversion ("%s", "%d")."""
    found: Counter[str] = Counter()
    for match in PLACEHOLDER.finditer(text):
        if match.group("conv") == "%":
            continue
        name = match.group("name")
        found[f"%({name})" if name is not None else f"%{match.group('conv')}"] += 1
    return found


def named_or_positional(text: str) -> tuple[set[str], Counter[str]]:
    """Named placeholders compare as a set (order and repeats are free); unnamed by count."""
    found = placeholders(text)
    named = {key for key in found if key.startswith("%(")}
    unnamed = Counter({key: n for key, n in found.items() if not key.startswith("%(")})
    return named, unnamed


@pytest.fixture(scope="module")
def po() -> polib.POFile:
    assert PO_PATH.exists(), f"missing catalogue {PO_PATH}"
    return polib.pofile(str(PO_PATH))


def active(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def label(entry: polib.POEntry) -> str:
    return (f"[{entry.msgctxt}] " if entry.msgctxt else "") + repr(entry.msgid[:80])


def test_header(po: polib.POFile) -> None:
    assert not po.metadata_is_fuzzy, "the header is still marked fuzzy"
    assert po.metadata.get("Language") == "zh_Hans"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    plural_forms = re.sub(r"\s+", " ", po.metadata.get("Plural-Forms", "")).strip()
    assert plural_forms == "nplurals=1; plural=0;", plural_forms


def test_catalogue_is_not_empty(po: polib.POFile) -> None:
    assert len(active(po)) > 100
    assert any(entry.msgid == "SciArena" for entry in active(po))


def test_every_entry_is_translated(po: polib.POFile) -> None:
    untranslated = []
    for entry in active(po):
        if entry.msgid_plural:
            forms = entry.msgstr_plural
            if set(forms) != {0} or not all(value.strip() for value in forms.values()):
                untranslated.append(label(entry))
        elif not entry.msgstr.strip():
            untranslated.append(label(entry))
    listing = "\n".join(untranslated)
    assert not untranslated, f"{len(untranslated)} untranslated entries:\n{listing}"


def test_no_fuzzy_entries(po: polib.POFile) -> None:
    fuzzy = [label(entry) for entry in active(po) if "fuzzy" in entry.flags]
    listing = "\n".join(fuzzy)
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries (check, then drop the flag):\n{listing}"


def test_no_obsolete_entry_shadows_an_active_one(po: polib.POFile) -> None:
    live = {(entry.msgctxt, entry.msgid) for entry in active(po)}
    clashing = [
        label(entry) for entry in po if entry.obsolete and (entry.msgctxt, entry.msgid) in live
    ]
    assert not clashing, "obsolete (#~) entries duplicate active ones:\n" + "\n".join(clashing)
    keys = [(entry.msgctxt, entry.msgid) for entry in active(po)]
    duplicates = [key for key, n in Counter(keys).items() if n > 1]
    assert not duplicates, f"duplicate entries: {duplicates}"


def test_python_format_placeholders_match(po: polib.POFile) -> None:
    problems = []
    for entry in active(po):
        if "python-format" not in entry.flags and not placeholders(entry.msgid):
            continue
        if entry.msgid_plural:
            source = entry.msgid_plural
            targets = list(entry.msgstr_plural.values())
        else:
            source = entry.msgid
            targets = [entry.msgstr]
        expected = named_or_positional(source)
        for target in targets:
            if target and named_or_positional(target) != expected:
                problems.append(f"{label(entry)}: {target!r}")
    assert not problems, "placeholders differ from the msgid:\n" + "\n".join(problems)


def test_leading_and_trailing_whitespace_kept(po: polib.POFile) -> None:
    def edges(text: str) -> tuple[str, str]:
        return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]

    problems = []
    for entry in active(po):
        source = entry.msgid_plural or entry.msgid
        targets = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for target in targets:
            if target and edges(target) != edges(source):
                problems.append(label(entry))
    assert not problems, "leading/trailing whitespace differs:\n" + "\n".join(problems)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU msgfmt is not installed")
def test_msgfmt_check_passes() -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(PO_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compiled_catalogue_matches_po(po: polib.POFile) -> None:
    assert MO_PATH.exists(), "django.mo is missing: run manage.py compilemessages"
    mo = polib.mofile(str(MO_PATH))

    def mapping(entries) -> dict:
        result = {}
        for entry in entries:
            if entry.obsolete or entry.msgid == "" or "fuzzy" in getattr(entry, "flags", []):
                continue
            if entry.msgid_plural:
                value = (entry.msgid_plural, tuple(sorted(entry.msgstr_plural.items())))
            else:
                value = entry.msgstr
            result[(entry.msgctxt or None, entry.msgid)] = value
        return result

    expected, compiled = mapping(po), mapping(mo)
    stale = sorted(
        str(key[1])[:80]
        for key in expected.keys() | compiled.keys()
        if expected.get(key) != compiled.get(key)
    )
    assert not stale, (
        f"django.mo does not match django.po for {len(stale)} entries "
        "(run manage.py compilemessages):\n" + "\n".join(stale[:30])
    )


def test_django_s_own_messages_are_not_reworded(po: polib.POFile) -> None:
    """Our catalogue comes first (LOCALE_PATHS), so a msgid that Django itself also
    translates, such as "This field is required.", must keep Django's wording: otherwise
    the same error reads differently on different forms."""
    import django

    core = Path(django.__file__).parent / "conf" / "locale" / "zh_Hans" / "LC_MESSAGES"
    django_mo = core / "django.mo"
    if not django_mo.exists():
        pytest.skip("Django ships no zh_Hans catalogue here")
    theirs = {entry.msgid: entry.msgstr for entry in polib.mofile(str(django_mo))}
    reworded = [
        f"{entry.msgid!r}: {entry.msgstr!r} (Django: {theirs[entry.msgid]!r})"
        for entry in active(po)
        if not entry.msgid_plural
        and entry.msgid in theirs
        and theirs[entry.msgid]
        and entry.msgstr != theirs[entry.msgid]
    ]
    assert not reworded, "\n".join(reworded)


def test_site_name_in_chinese() -> None:
    with translation.override("zh-hans"):
        assert translation.gettext("SciArena") == "科学擂台"
        # One plural form: the same Chinese text whatever the count.
        one = translation.ngettext("%(counter)s question", "%(counter)s questions", 1)
        many = translation.ngettext("%(counter)s question", "%(counter)s questions", 5)
        assert one == many != "%(counter)s questions"

"""`seed_demo` at test speed: seeded for real once per test process, then copied.

`manage.py seed_demo` takes seconds (400 questions published through the services).
Many tests only look at what it made. The first such test in a process runs the
command for real and records, table by table, the rows it added or changed; a later
test whose database holds exactly the rows (by primary key, in every table) that the
first one started from gets those rows inserted as they were, primary keys
included, in a few bulk INSERTs: the same database as a real run, in a fraction of
the time. Any other starting point (a test that made rows of its own first, a
transactional test's flush that gave permissions new ids) runs the command for real
and records that run instead.

Rows are written inside the test's own transaction (a transactional test's are
flushed with the rest), so nothing outlives the test. What a copy does not repeat:
the messages a first run sends after its commit (the guardian's consent request),
and anything outside the database. Tests about those run `seed_demo` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import override_settings

Row = tuple
Fingerprint = dict[str, frozenset]


def _models() -> list:
    """Every table Django writes, the auto-created many-to-many tables included."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]


def _columns(model) -> list:
    # local fields only: a multi-table child's own table (its parent's is its own model)
    return [f for f in model._meta.local_concrete_fields if not getattr(f, "generated", False)]


def _rows(model, using: str) -> dict:
    """{pk: row} of the model's table, row in _columns order."""
    names = [f.attname for f in _columns(model)]
    pk_at = names.index(model._meta.pk.attname)
    return {
        row[pk_at]: row for row in model._base_manager.using(using).values_list(*names).iterator()
    }


def fingerprint(using: str = DEFAULT_DB_ALIAS) -> Fingerprint:
    """Which rows the database holds: the primary keys of every non-empty table."""
    found = {}
    for model in _models():
        pks = frozenset(model._base_manager.using(using).values_list("pk", flat=True))
        if pks:
            found[model._meta.label] = pks
    return found


@dataclass
class DemoCopy:
    """What one real run did to a database that held `before`, and what it printed."""

    before: Fingerprint
    output: str
    inserted: list[tuple[type, list[Row]]] = field(default_factory=list)
    updated: list[tuple[type, list[Row]]] = field(default_factory=list)
    deleted: list[tuple[type, list]] = field(default_factory=list)

    def apply(self, using: str = DEFAULT_DB_ALIAS) -> None:
        connection = connections[using]
        with transaction.atomic(using=using):
            for model, pks in self.deleted:
                model._base_manager.using(using).filter(pk__in=pks).delete()
            for model, rows in self.updated:
                columns = _columns(model)
                pk_name = model._meta.pk.attname
                for row in rows:
                    values = {f.attname: value for f, value in zip(columns, row, strict=True)}
                    pk = values.pop(pk_name)
                    model._base_manager.using(using).filter(pk=pk).update(**values)
            for model, rows in self.inserted:
                columns = _columns(model)
                names = [f.attname for f in columns]
                objects = [model.from_db(using, names, row) for row in rows]
                size = connection.ops.bulk_batch_size(columns, objects) or len(objects)
                for start in range(0, len(objects), size):
                    model._base_manager.using(using)._insert(
                        objects[start : start + size], fields=columns, raw=True, using=using
                    )
            # PostgreSQL's identity sequences do not move for explicit ids (SQLite's do)
            statements = connection.ops.sequence_reset_sql(
                no_style(), [model for model, _ in self.inserted]
            )
            if statements:
                with connection.cursor() as cursor:
                    for sql in statements:
                        cursor.execute(sql)


_copies: list[DemoCopy] = []


def seed_demo(using: str = DEFAULT_DB_ALIAS) -> str:
    """The database as `manage.py seed_demo` leaves it; returns what it printed.
    Needs database access (a test's `db` or `transactional_db`)."""
    before = fingerprint(using)
    for copy in _copies:
        if copy.before == before:
            copy.apply(using)
            return copy.output
    copy = _run_and_record(before, using)
    _copies[:] = [copy]  # the newest starting point is the likeliest next one
    return copy.output


def _run_and_record(before: Fingerprint, using: str) -> DemoCopy:
    models = _models()
    old = {model: _rows(model, using) for model in models if model._meta.label in before}
    out = StringIO()
    # seed_demo refuses to run with DEBUG off; the copy must be of a DEBUG run
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)
    copy = DemoCopy(before=before, output=out.getvalue())
    for model in models:
        now = _rows(model, using)
        was = old.get(model, {})
        added = [row for pk, row in now.items() if pk not in was]
        changed = [row for pk, row in now.items() if pk in was and was[pk] != row]
        gone = [pk for pk in was if pk not in now]
        if added:
            copy.inserted.append((model, added))
        if changed:
            copy.updated.append((model, changed))
        if gone:
            copy.deleted.append((model, gone))
    return copy

"""The canonical form of an email address (core.emails) and the migration that applied it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.emails import EmailInvalid, canonical_email


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        ("ada@B\u00fccher.example", "ada@xn--bcher-kva.example"),
        ("ada@g\u0131thub.com", "ada@xn--gthub-n4a.com"),  # A dotless i in the domain is another domain.
        ("first.last+tag@example.com", "first.last+tag@example.com"),
    ],
)
def test_canonical_form(address, canonical):
    assert canonical_email(address) == canonical


@pytest.mark.parametrize(
    "address",
    [
        "adm\u0131n@github.com",  # dotless i
        "ADM\u0130N@github.com",  # dotted capital I: lower() makes "i" and a combining dot
        "stra\u00dfe@example.com",
        "no-at-sign",
        "@example.com",
        "ada@",
        "ada@exa mple.com",
        "ada@-example-.com",
    ],
)
def test_addresses_without_a_canonical_form_are_refused(address):
    with pytest.raises(EmailInvalid):
        canonical_email(address)


@pytest.mark.django_db(transaction=True)
def test_the_migration_canonicalises_existing_emails_and_clears_the_ones_it_cannot_keep():
    executor = MigrationExecutor(connection)
    executor.migrate([("core", "0001_initial")])
    old = executor.loader.project_state([("core", "0001_initial")]).apps.get_model("core", "User")
    kept = old.objects.create(email="Ada@Example.COM", password="!")
    idna = old.objects.create(email="grace@B\u00fccher.example", password="!")
    lookalike = old.objects.create(email="adm\u0131n@github.com", password="!")
    nobody = old.objects.create(email=None, password="!")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps.get_model("core", "User")

    rows = {user.pk: (user.email, user.email_verified) for user in new.objects.all()}
    assert rows == {
        kept.pk: ("ada@example.com", True),
        idna.pk: ("grace@xn--bcher-kva.example", True),
        lookalike.pk: (None, False),
        nobody.pk: (None, False),
    }

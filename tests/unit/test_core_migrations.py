from django.core.management import call_command


def test_every_model_change_has_a_migration(db):
    # Exits with SystemExit(1) and names the app when a migration is missing.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

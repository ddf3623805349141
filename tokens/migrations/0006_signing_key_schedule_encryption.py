"""Publish-before-signing (`signs_from`, `published_until`) and private keys encrypted at rest.

Existing keys signed from their creation and are published as long as they verify. Their
private keys are encrypted under JWT_KEY_ENCRYPTION_KEYS when it is set; without it (debug,
`make run`) they stay as they are, and tokens.E013 refuses to start with debug off until
`manage.py reencrypt_signing_keys` has run.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def schedule_and_encrypt(apps, schema_editor):
    from tokens import kek

    SigningKey = apps.get_model("tokens", "SigningKey")
    SigningKey.objects.update(signs_from=F("created_at"), published_until=F("verifies_until"))
    if not kek.encryption_configured():
        return
    for row in SigningKey.objects.all():
        if not kek.is_sealed(row.private_key):
            row.private_key = kek.private_key_seal(row.private_key)
            row.save(update_fields=["private_key"])


def decrypt(apps, schema_editor):
    from tokens import kek

    SigningKey = apps.get_model("tokens", "SigningKey")
    for row in SigningKey.objects.all():
        if kek.is_sealed(row.private_key):
            row.private_key = kek.private_key_open(row.private_key)
            row.save(update_fields=["private_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0005_one_current_key_everywhere"),
    ]

    operations = [
        migrations.AddField(
            model_name="signingkey",
            name="signs_from",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="signingkey",
            name="published_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="signingkey",
            name="state",
            field=models.CharField(
                choices=[
                    ("current", "Current: the newest key, signs from `signs_from`"),
                    ("retired", "Retired: signs until `retired_at`, then verifies until its tokens expire"),
                ],
                default="current",
                max_length=8,
            ),
        ),
        migrations.RunPython(schedule_and_encrypt, decrypt),
    ]

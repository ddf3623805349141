"""Signals of the ground, for the apps above it to act on without core importing them."""

from django.dispatch import Signal

# Sent with `user_ids` after a bulk `User.objects.filter(...).update(is_active=False)`, which
# sends no post_save: the apps that keep sessions end them (accounts.signals).
users_disabled = Signal()

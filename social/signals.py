"""What the social app tells the apps above it."""

from django.dispatch import Signal

# A provider told us its user unlinked the app there (Kakao's unlink callback); the identity is
# gone. Sent with `user_id`: accounts ends the user's sessions when nothing else signs them in.
identity_unlinked_by_provider = Signal()

"""Kakao Login: settings, protocol, mapping, the unlink webhook, and its test fixtures."""

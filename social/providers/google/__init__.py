"""Sign in with Google: settings, protocol, mapping, and its test fixtures."""

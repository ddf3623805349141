"""Sign in with Apple: settings, protocol, mapping, the signed client secret, and its test fixtures."""

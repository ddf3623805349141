"""Naver Login: settings, protocol, mapping, and its test fixtures."""

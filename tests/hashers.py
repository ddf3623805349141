"""A fast password hasher for tests that counts its work (tests/conftest.py installs it).

Argon2 is slow on purpose; the suite hashes hundreds of passwords. Counting hashes and
checks, rather than timing them, is how the enumeration tests compare the work done for
known and unknown addresses (test_argon2_is_the_default_hasher covers the real setting).
"""

from collections import Counter

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    calls: Counter = Counter()

    _verifying = False

    def encode(self, password, salt):
        # MD5's verify encodes to compare: count that as the check it is, not as a hash.
        if not self._verifying:
            CountingHasher.calls["encode"] += 1
        return super().encode(password, salt)

    def verify(self, password, encoded):
        CountingHasher.calls["verify"] += 1
        self._verifying = True
        try:
            return super().verify(password, encoded)
        finally:
            self._verifying = False

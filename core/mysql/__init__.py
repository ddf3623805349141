"""Django's MySQL backend for MySQL 8.0+ and MariaDB 10.6+, with two corrections (base.py)."""

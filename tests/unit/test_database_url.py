"""core.database_url: DATABASE_URL as dj-database-url reads it, and libpq's several hosts too."""

import dj_database_url
import pytest

from core.database_url import database_from_url


def test_a_database_url_with_several_hosts_reaches_libpq_as_its_host_and_port_lists():
    url = "postgresql://u:p%40ss@db-a:5432,db-b:5433,[::1]/auth?target_session_attrs=read-write"
    config = database_from_url(url, conn_max_age=60)
    assert (config["HOST"], config["PORT"]) == ("db-a,db-b,::1", "5432,5433,5432")
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("auth", "u", "p@ss")
    assert config["OPTIONS"] == {"target_session_attrs": "read-write"}
    assert config["CONN_MAX_AGE"] == 60


@pytest.mark.parametrize("url", ["postgresql://u@db-a:5432/auth?sslmode=require", "sqlite:////tmp/auth.sqlite3"])
def test_a_database_url_with_one_host_is_parsed_as_dj_database_url_does(url):
    assert database_from_url(url) == dj_database_url.parse(url)

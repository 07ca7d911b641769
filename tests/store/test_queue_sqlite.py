"""The SQLite queue writes times in exactly the form SQLAlchemy's column type stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from clarion.store.queue_sqlite import db_time
from clarion.store.tables import UTCDateTime

_table = sa.Table("t", sa.MetaData(), sa.Column("at", UTCDateTime()))
_engine = sa.create_engine("sqlite://")
_table.create(_engine)


def _stored_by_sqlalchemy(value: datetime) -> str:
    with _engine.begin() as conn:
        conn.execute(_table.delete())
        conn.execute(_table.insert().values(at=value))
        return str(conn.exec_driver_sql("SELECT at FROM t").scalar_one())


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31)),
    st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]),
)
def test_db_time_matches_what_sqlalchemy_stores(moment: datetime, zone: timezone) -> None:
    value = moment.replace(tzinfo=zone)
    assert db_time(value) == _stored_by_sqlalchemy(value)


def test_none_stays_null() -> None:
    assert db_time(None) is None

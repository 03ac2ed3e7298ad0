"""Login-throttling counters (throttle.py) in the database (tables.login_throttle), shared by
every process, so workers and replicas count together."""

from collections.abc import Collection

from sqlalchemy import delete, select, update

from .database import transaction
from .dialect import insert
from .stores import CounterChange, ThrottleCounter, ThrottleStore
from .tables import login_throttle

FIELDS = ThrottleCounter.__struct_fields__  # the table's columns besides the key


def row_of(counter: ThrottleCounter) -> dict:
    return {name: getattr(counter, name) for name in FIELDS}


class SqlThrottleStore:
    async def update(self, keys: Collection[str], change: CounterChange) -> None:
        keys = sorted(keys)  # every transaction locks rows in one order: no deadlocks
        async with transaction() as connection:
            # A write first, so that the transaction holds its locks before it reads (dialect.py says
            # which locks), and the rows exist for FOR UPDATE.
            add_missing = insert(login_throttle).on_conflict_do_nothing()
            await connection.execute(add_missing, [{"key": key, **row_of(ThrottleCounter())} for key in keys])
            query = select(login_throttle).where(login_throttle.c.key.in_(keys)).order_by("key").with_for_update()
            rows = await connection.execute(query)
            found = {row.key: ThrottleCounter(**{name: getattr(row, name) for name in FIELDS}) for row in rows}
            for key, counter in change(found).items():
                where = login_throttle.c.key == key
                if counter is None:
                    await connection.execute(delete(login_throttle).where(where))
                else:
                    await connection.execute(update(login_throttle).where(where).values(row_of(counter)))

    async def forget(self, started_before: float, now: float) -> None:
        old = (login_throttle.c.window_start < started_before) & (login_throttle.c.blocked_until <= now)
        async with transaction() as connection:
            await connection.execute(delete(login_throttle).where(old))


throttle_store: ThrottleStore = SqlThrottleStore()

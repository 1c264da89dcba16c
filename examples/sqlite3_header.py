"""sqlite3 bound from its header: `ferrotype.include("sqlite3.h", ...)` runs the C
preprocessor on the header and binds every function, structure, callback type and
`#define` constant it declares; nothing is written by hand. Then an in-memory database is
created, filled and queried, rows arriving in a Python callback (`sqlite3_exec`) and
through a prepared statement.

Needs a C compiler, sqlite3's header (`libsqlite3-dev` on Debian) and its library; without
them it says why and exits 0."""

import sys

import ferrotype
from ferrotype.util import find_library

lib = find_library("sqlite3")
try:
    if lib is None:
        raise OSError("libsqlite3 is not installed")
    sq = ferrotype.include("sqlite3.h", lib)
except (OSError, ferrotype.CCompilerError) as e:
    print(f"skipped: cannot bind sqlite3.h: {str(e).splitlines()[0]}")
    sys.exit(0)

print(f"sqlite3 {sq.sqlite3_libversion().decode()} (header {sq.SQLITE_VERSION.decode()}):")
print(f"  {sq.__found__} declarations read, {len(sq.__refused__)} refused, e.g.:")
for r in sq.__refused__[:3]:
    print(f"    {r.name}: {r.reason}")

db = ferrotype.POINTER(sq.sqlite3)()
assert sq.sqlite3_open(b":memory:", ferrotype.byref(db)) == sq.SQLITE_OK
errmsg = ferrotype.c_char_p()
NO_CALLBACK = sq.sqlite3_callback()  # a NULL function pointer


def run(sql, callback=NO_CALLBACK):
    rc = sq.sqlite3_exec(db, sql, callback, None, ferrotype.byref(errmsg))
    if rc != sq.SQLITE_OK:
        raise RuntimeError(f"{sql!r}: {errmsg.value.decode()}")


run(b"CREATE TABLE metal (name TEXT, symbol TEXT, density REAL)")
run(
    b"INSERT INTO metal VALUES ('iron', 'Fe', 7.87), ('copper', 'Cu', 8.96), "
    b"('aluminium', 'Al', 2.70), ('gold', 'Au', 19.3)"
)

rows = []


@sq.sqlite3_callback
def collect(_ctx, ncols, values, names):
    rows.append({names[i].decode(): values[i].decode() for i in range(ncols)})
    return 0  # non-zero would abort the query


run(b"SELECT name, symbol, density FROM metal WHERE density > 5 ORDER BY density", collect)
print("metals denser than 5 g/cm3, through a callback:")
for row in rows:
    print(f"  {row['name']:<8} {row['symbol']:<3} {row['density']}")
assert [r["symbol"] for r in rows] == ["Fe", "Cu", "Au"]

stmt = ferrotype.POINTER(sq.sqlite3_stmt)()
sql = b"SELECT count(*), avg(density) FROM metal"
assert sq.sqlite3_prepare_v2(db, sql, -1, ferrotype.byref(stmt), None) == sq.SQLITE_OK
assert sq.sqlite3_step(stmt) == sq.SQLITE_ROW
count, mean = sq.sqlite3_column_int(stmt, 0), sq.sqlite3_column_double(stmt, 1)
print(f"through a prepared statement: {count} metals, mean density {mean:.2f}")
assert count == 4 and abs(mean - (7.87 + 8.96 + 2.70 + 19.3) / 4) < 1e-9
sq.sqlite3_finalize(stmt)
assert sq.sqlite3_close(db) == sq.SQLITE_OK

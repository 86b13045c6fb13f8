"""Coverage views and street intervals stored once per set, shared by the scenario-levels that
computed the same ones.

A run whose cameras all have a listed range shorter than every DORI distance gives every
scenario and level the same visible regions (in 2-D) and so the same street intervals; the
rows were stored once per scenario-level (12 copies in a full run). Now:

- ``coverage_view_rows`` holds each set of views once (``views``: the set's number),
- ``street_seen_rows`` each set of street intervals once (``seen``: the set's number),
- ``coverage_sets`` says which sets each (scenario, level) reads,

and ``coverage_views`` and ``street_seen`` are SQL views with the former columns, so readers
are unchanged. ``INSTEAD OF`` triggers keep them writable: an insert files its row under the
scenario-level's own sets (created on its first row); a delete removes the stored row, and is
refused for a set shared by several scenario-levels (a survatlas run replaces them all). The
``ON DELETE CASCADE`` of ``device_id`` and ``street_id`` moved to the row tables: deleting a
camera or a street still deletes its rows. Existing rows are converted with one set per
scenario-level.
"""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration

#: the columns of ``coverage_views`` after scenario and level, in order
VIEW_COLUMNS = ("view", "device_id", "x", "y", "start", "fov", "radius", "status", "area_m2",
                "sector_m2", "angles", "radii")
#: the columns of ``street_seen`` after street_id, scenario and level, in order
SEEN_COLUMNS = ("start_m", "end_m", "camera_id")


@migration("m0131_shared_coverage_rows")
def shared_coverage_rows(conn: sqlite3.Connection) -> None:
    """Create the set tables, move the rows into them, and put views in place of the tables."""
    conn.execute("CREATE TABLE coverage_sets (scenario TEXT NOT NULL, level TEXT NOT NULL, "
                 "views INTEGER NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY (scenario, level))")
    # lets a reader of one camera's views start from its rows (coverage_view_rows_device):
    # the web map's regions of a device take 0.2 ms instead of a scan of the whole set
    conn.execute("CREATE INDEX coverage_sets_views ON coverage_sets(views)")
    conn.execute("CREATE INDEX coverage_sets_seen ON coverage_sets(seen)")
    conn.execute(
        """CREATE TABLE coverage_view_rows (
            views INTEGER NOT NULL, view INTEGER NOT NULL,
            device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
            x REAL NOT NULL, y REAL NOT NULL, start REAL NOT NULL, fov REAL NOT NULL,
            radius REAL NOT NULL, status INTEGER NOT NULL,
            area_m2 REAL NOT NULL, sector_m2 REAL NOT NULL,
            angles BLOB NOT NULL, radii BLOB NOT NULL,
            PRIMARY KEY (views, view))"""
    )
    conn.execute("CREATE INDEX coverage_view_rows_device ON coverage_view_rows(device_id)")
    conn.execute(
        """CREATE TABLE street_seen_rows (
            seen INTEGER NOT NULL,
            street_id INTEGER NOT NULL REFERENCES streets(id) ON DELETE CASCADE,
            start_m REAL NOT NULL, end_m REAL NOT NULL, camera_id INTEGER NOT NULL)"""
    )
    conn.execute("CREATE INDEX street_seen_rows_key ON street_seen_rows(seen, street_id)")
    conn.execute(
        "INSERT INTO coverage_sets (scenario, level, views, seen) "
        "SELECT scenario, level, row_number() OVER w, row_number() OVER w FROM "
        "(SELECT scenario, level FROM coverage_views UNION SELECT scenario, level FROM "
        "street_seen) WINDOW w AS (ORDER BY scenario, level)")
    views = ", ".join(VIEW_COLUMNS)
    conn.execute(f"INSERT INTO coverage_view_rows (views, {views}) SELECT s.views, "
                 f"{', '.join('v.' + c for c in VIEW_COLUMNS)} FROM coverage_views v JOIN "
                 "coverage_sets s USING (scenario, level) ORDER BY s.views, v.view")
    conn.execute("INSERT INTO street_seen_rows (seen, street_id, start_m, end_m, camera_id) "
                 "SELECT s.seen, t.street_id, t.start_m, t.end_m, t.camera_id FROM street_seen t "
                 "JOIN coverage_sets s USING (scenario, level) ORDER BY t.rowid")
    conn.execute("DROP TABLE coverage_views")
    conn.execute("DROP TABLE street_seen")
    _create_views(conn)


def _create_views(conn: sqlite3.Connection) -> None:
    """The ``coverage_views`` and ``street_seen`` views and their write triggers."""
    conn.execute(f"CREATE VIEW coverage_views AS SELECT s.scenario, s.level, "
                 f"{', '.join('r.' + c for c in VIEW_COLUMNS)} FROM coverage_sets s "
                 "JOIN coverage_view_rows r ON r.views = s.views")
    conn.execute("CREATE VIEW street_seen AS SELECT r.street_id, s.scenario, s.level, "
                 f"{', '.join('r.' + c for c in SEEN_COLUMNS)} FROM coverage_sets s "
                 "JOIN street_seen_rows r ON r.seen = s.seen")
    new_set = ("INSERT OR IGNORE INTO coverage_sets (scenario, level, views, seen) VALUES "
               "(NEW.scenario, NEW.level, (SELECT coalesce(max(views), 0) + 1 FROM coverage_sets), "
               "(SELECT coalesce(max(seen), 0) + 1 FROM coverage_sets));")
    own = "FROM coverage_sets WHERE scenario = {0}.scenario AND level = {0}.level"
    shared = ("SELECT RAISE(ABORT, 'these {0} rows are shared by several scenario-levels: "
              "replace the results with survatlas coverage') WHERE (SELECT count(*) FROM "
              "coverage_sets WHERE {1} = (SELECT {1} " + own.format("OLD") + ")) > 1;")
    conn.execute(
        "CREATE TRIGGER coverage_views_insert INSTEAD OF INSERT ON coverage_views BEGIN "
        f"{new_set} INSERT INTO coverage_view_rows (views, {', '.join(VIEW_COLUMNS)}) VALUES "
        f"((SELECT views {own.format('NEW')}), "
        f"{', '.join('NEW.' + c for c in VIEW_COLUMNS)}); END")
    conn.execute(
        "CREATE TRIGGER coverage_views_delete INSTEAD OF DELETE ON coverage_views BEGIN "
        f"{shared.format('coverage_views', 'views')} DELETE FROM coverage_view_rows WHERE "
        f"views = (SELECT views {own.format('OLD')}) AND view = OLD.view; END")
    conn.execute(
        "CREATE TRIGGER street_seen_insert INSTEAD OF INSERT ON street_seen BEGIN "
        f"{new_set} INSERT INTO street_seen_rows (seen, street_id, {', '.join(SEEN_COLUMNS)}) "
        f"VALUES ((SELECT seen {own.format('NEW')}), NEW.street_id, "
        f"{', '.join('NEW.' + c for c in SEEN_COLUMNS)}); END")
    conn.execute(
        "CREATE TRIGGER street_seen_delete INSTEAD OF DELETE ON street_seen BEGIN "
        f"{shared.format('street_seen', 'seen')} DELETE FROM street_seen_rows WHERE rowid = "
        "(SELECT rowid FROM street_seen_rows WHERE seen = (SELECT seen "
        f"{own.format('OLD')}) AND street_id = OLD.street_id AND start_m = OLD.start_m AND "
        "end_m = OLD.end_m AND camera_id = OLD.camera_id LIMIT 1); END")

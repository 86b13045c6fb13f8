"""Device history: every version of every device with valid-from/valid-to, and the snapshots seen.

``device_versions`` keeps one row per state of a device (the ``devices`` columns, plus
``valid_from``/``valid_to``, what changed from the state before and why it ended); ``devices``
stays the current view (the latest state). ``snapshots`` lists the imports that saw an area at a
date (an OSM extract, a fetch, a history file), which is what lets a later snapshot say that a
device *disappeared* rather than was never mapped.
"""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration

_SENS = (
    "sensitivity TEXT NOT NULL DEFAULT 'public' "
    "CHECK (sensitivity IN ('public', 'restricted', 'confidential'))"
)


@migration("m0800_device_history")
def device_history(conn: sqlite3.Connection) -> None:
    """Create ``snapshots`` and ``device_versions``."""
    conn.execute(
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'history')),
            as_of TEXT NOT NULL,
            scope TEXT,
            min_x REAL NOT NULL, min_y REAL NOT NULL, max_x REAL NOT NULL, max_y REAL NOT NULL,
            recorded_at TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    conn.execute(
        f"""CREATE TABLE device_versions (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            osm_type TEXT, osm_id INTEGER, osm_version INTEGER, osm_timestamp TEXT,
            content_sha TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            valid_to TEXT,
            change TEXT NOT NULL
                CHECK (change IN ('added', 'reappeared', 'moved', 'retagged', 'moved+retagged',
                                  'edited')),
            ended TEXT CHECK (ended IN ('deleted', 'untagged', 'absent', 'superseded')),
            ended_source_id INTEGER REFERENCES sources(id),
            device_type TEXT NOT NULL,
            area TEXT, zone TEXT, mount TEXT, camera_type TEXT,
            views TEXT NOT NULL DEFAULT '[]',
            tilt_down_deg REAL, height_m REAL,
            operator TEXT, manufacturer TEXT, model TEXT, name TEXT,
            fov_deg REAL, range_m REAL, focal_mm REAL, sensor_width_mm REAL, width_px INTEGER,
            lon REAL NOT NULL, lat REAL NOT NULL,
            geom BLOB NOT NULL,
            tags TEXT NOT NULL DEFAULT '{{}}',
            {_SENS}
        )"""
    )
    conn.execute("CREATE INDEX device_versions_origin ON device_versions(origin, valid_from)")
    conn.execute("CREATE INDEX device_versions_open ON device_versions(valid_to)")
    conn.execute("CREATE INDEX device_versions_from ON device_versions(valid_from)")

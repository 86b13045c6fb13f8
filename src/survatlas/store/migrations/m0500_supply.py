"""Supply chain: vendors and models, programmes, constraints, comparators, trade flows."""

from __future__ import annotations

import sqlite3

from survatlas.store._migrations import migration
from survatlas.vocab import CONSTRAINT_KINDS, FLOWS, ORIGINS

_SENS = (
    "sensitivity TEXT NOT NULL DEFAULT 'public' "
    "CHECK (sensitivity IN ('public', 'restricted', 'confidential'))"
)


def _check(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


@migration("m0500_supply")
def supply(conn: sqlite3.Connection) -> None:
    """Create the supply-chain tables."""
    _vendors(conn)
    _programmes(conn)
    _claim_extras(conn)
    _trade(conn)


def _vendors(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"""CREATE TABLE vendors (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'manufacturer',
            country TEXT,
            parent_id INTEGER REFERENCES vendors(id),
            wikidata TEXT,
            model_prefixes TEXT NOT NULL DEFAULT '[]',
            source_id INTEGER REFERENCES sources(id),
            note TEXT,
            {_SENS},
            created_at TEXT NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE vendor_aliases (
            alias_norm TEXT PRIMARY KEY,
            alias TEXT NOT NULL,
            vendor_id INTEGER NOT NULL REFERENCES vendors(id) ON DELETE CASCADE
        )"""
    )
    conn.execute(
        """CREATE TABLE vendor_restrictions (
            id INTEGER PRIMARY KEY,
            vendor_id INTEGER NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
            list_key TEXT NOT NULL,
            list_name TEXT NOT NULL,
            jurisdiction TEXT,
            listed_from TEXT,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            confidence TEXT NOT NULL DEFAULT 'medium',
            note TEXT,
            UNIQUE (vendor_id, list_key)
        )"""
    )
    conn.execute(
        """CREATE TABLE device_models (
            id INTEGER PRIMARY KEY,
            vendor_id INTEGER NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            model_norm TEXT NOT NULL,
            focal_mm REAL, focal_max_mm REAL, sensor_width_mm REAL,
            width_px INTEGER, height_px INTEGER, fov_deg REAL, ir_range_m REAL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            UNIQUE (vendor_id, model_norm)
        )"""
    )
    conn.execute(
        """CREATE TABLE device_vendors (
            device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
            vendor_id INTEGER NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
            model_id INTEGER REFERENCES device_models(id) ON DELETE SET NULL,
            matched_key TEXT NOT NULL,
            matched_value TEXT NOT NULL,
            method TEXT NOT NULL,
            attributed_at TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX device_vendors_vendor ON device_vendors(vendor_id)")


def _programmes(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"""CREATE TABLE programmes (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            country TEXT NOT NULL,
            operator TEXT,
            modalities TEXT NOT NULL DEFAULT '[]',
            data_collected TEXT NOT NULL DEFAULT '[]',
            sites TEXT NOT NULL DEFAULT '[]',
            origin TEXT NOT NULL DEFAULT 'unknown' CHECK (origin IN ({_check(ORIGINS)})),
            centralisation TEXT NOT NULL DEFAULT 'unknown',
            first_reported TEXT,
            description TEXT,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            confidence TEXT NOT NULL DEFAULT 'medium'
                CHECK (confidence IN ('high', 'medium', 'low')),
            {_SENS},
            created_at TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX programmes_country ON programmes(country)")
    conn.execute(
        """CREATE TABLE programme_vendors (
            programme_id INTEGER NOT NULL REFERENCES programmes(id) ON DELETE CASCADE,
            vendor_id INTEGER NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
            role TEXT,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            confidence TEXT NOT NULL DEFAULT 'medium',
            PRIMARY KEY (programme_id, vendor_id)
        )"""
    )
    conn.execute(
        f"""CREATE TABLE infra_constraints (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            country TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ({_check(CONSTRAINT_KINDS)})),
            claim_id INTEGER NOT NULL REFERENCES claims(id) ON DELETE CASCADE
        )"""
    )
    conn.execute(
        """CREATE TABLE constraint_programmes (
            constraint_id INTEGER NOT NULL REFERENCES infra_constraints(id) ON DELETE CASCADE,
            programme_id INTEGER NOT NULL REFERENCES programmes(id) ON DELETE CASCADE,
            PRIMARY KEY (constraint_id, programme_id)
        )"""
    )
    conn.execute(
        """CREATE TABLE comparators (
            id INTEGER PRIMARY KEY,
            place TEXT NOT NULL,
            country TEXT,
            metric TEXT NOT NULL,
            claim_id INTEGER NOT NULL UNIQUE REFERENCES claims(id) ON DELETE CASCADE
        )"""
    )


def _claim_extras(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE claim_details (
            claim_id INTEGER PRIMARY KEY REFERENCES claims(id) ON DELETE CASCADE,
            key TEXT UNIQUE,
            country TEXT,
            topic TEXT,
            attribution TEXT,
            derived_from INTEGER REFERENCES claims(id),
            formula TEXT,
            readings TEXT NOT NULL DEFAULT '[]',
            note TEXT
        )"""
    )
    conn.execute("CREATE INDEX claim_details_country ON claim_details(country)")


def _trade(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"""CREATE TABLE trade_flows (
            id INTEGER PRIMARY KEY,
            reporter TEXT NOT NULL,
            partner TEXT NOT NULL,
            flow TEXT NOT NULL CHECK (flow IN ({_check(FLOWS)})),
            hs_code TEXT NOT NULL,
            hs_edition TEXT,
            year INTEGER NOT NULL,
            period TEXT NOT NULL,
            value_usd REAL,
            quantity REAL,
            quantity_unit TEXT,
            net_weight_kg REAL,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            row_key TEXT NOT NULL UNIQUE,
            {_SENS}
        )"""
    )
    conn.execute("CREATE INDEX trade_flows_parties ON trade_flows(reporter, partner)")
    conn.execute("CREATE INDEX trade_flows_partner ON trade_flows(partner)")

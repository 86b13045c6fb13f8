"""Trade flows (UN Comtrade CSV layout), surveillance-relevant HS codes and sanctions screening.

``import_comtrade`` reads a Comtrade extract (the current ``refYear, reporterISO, flowCode,
cmdCode, primaryValue …`` layout or the classic ``Year, Reporter ISO, Trade Flow, Commodity
Code, Trade Value (US$) …`` layout) into ``trade_flows``. ``screen_flows`` compares every flow
with a cited rules table (bundled: UN Security Council resolution 2397 (2017) paragraphs 6 and 7)
and returns one flag per flow and rule, with the rule's citation. A flag is a lead for
investigation, not a finding of violation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError
from survatlas.provenance.sources import file_sha256, file_source, insert_import
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.gate import audience_clause
from survatlas.supply.countries import country_code

__all__ = [
    "Flag",
    "HsCode",
    "SanctionRule",
    "TradeImportSummary",
    "TradeRow",
    "hs_category",
    "hs_table",
    "import_comtrade",
    "read_comtrade",
    "sanction_rules",
    "screen_flows",
    "screen_rows",
]

#: Column names accepted for each field, current Comtrade layout first, then the classic one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "year": ("refYear", "Year", "yr"),
    "period": ("period", "Period", "refPeriodId"),
    "reporter": (
        "reporterISO",
        "Reporter ISO",
        "reporterCode",
        "Reporter Code",
        "reporterDesc",
        "Reporter",
        "reporter",
    ),
    "partner": (
        "partnerISO",
        "Partner ISO",
        "partnerCode",
        "Partner Code",
        "partnerDesc",
        "Partner",
        "partner",
    ),
    "flow": ("flowCode", "Trade Flow Code", "flowDesc", "Trade Flow", "flow"),
    "hs_code": ("cmdCode", "Commodity Code", "hs_code", "cmd"),
    "edition": ("classificationCode", "Classification"),
    "value": ("primaryValue", "Trade Value (US$)", "value", "TradeValue"),
    "quantity": ("qty", "Qty", "quantity"),
    "quantity_unit": ("qtyUnitAbbr", "Qty Unit", "quantity_unit"),
    "net_weight": ("netWgt", "Netweight (kg)", "net_weight_kg"),
}
_FLOWS = {
    "m": "import",
    "import": "import",
    "imports": "import",
    "1": "import",
    "x": "export",
    "export": "export",
    "exports": "export",
    "2": "export",
    "rx": "re-export",
    "re-export": "re-export",
    "re-exports": "re-export",
    "3": "re-export",
    "rm": "re-import",
    "re-import": "re-import",
    "re-imports": "re-import",
    "4": "re-import",
    "mip": "import",
    "mop": "import",
    "xip": "export",
    "xop": "export",
}
_WORLD = {"0", "w00", "wld", "world", "all", ""}
_AGGREGATE_CODES = {"TOTAL", "AG2", "AG4", "AG6", "ALL"}


# ---------------------------------------------------------------- reference tables


@dataclass(frozen=True)
class HsCode:
    """One row of the surveillance-relevant HS table."""

    code: str
    label: str
    category: str
    editions: tuple[str, ...]
    note: str
    sources: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class HsTable:
    """The versioned HS table."""

    version: str
    note: str
    codes: tuple[HsCode, ...]


@cache
def _bundled(name: str) -> dict[str, Any]:
    return json.loads(resources.files("survatlas.data.supply").joinpath(name).read_text("utf-8"))


def _load_json(path: Path | None, bundled: str) -> dict[str, Any]:
    if path is None:
        return _bundled(bundled)
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise InputFileNotFoundError(f"no file {path}") from exc
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{path} is not valid JSON ({exc}); fix the file") from exc


def hs_table(path: Path | None = None) -> HsTable:
    """The surveillance-relevant HS codes (bundled, or a user file of the same layout)."""
    data = _load_json(path, "hs_codes.json")
    codes = tuple(
        HsCode(
            code=str(c["code"]),
            label=c["label"],
            category=c["category"],
            editions=tuple(c.get("editions", ())),
            note=c.get("note", ""),
            sources=tuple(c.get("sources", ())),
        )
        for c in data["codes"]
    )
    for c in codes:
        if not c.sources:
            raise InputError(f"HS code {c.code} has no source: every row of the table is cited")
    return HsTable(version=data["version"], note=data.get("note", ""), codes=codes)


def hs_category(code: str, table: HsTable | None = None) -> HsCode | None:
    """The table row whose code is the longest prefix of ``code`` (``None`` if not listed)."""
    table = table or hs_table()
    hits = [c for c in table.codes if code.startswith(c.code)]
    return max(hits, key=lambda c: len(c.code)) if hits else None


@dataclass(frozen=True)
class SanctionRule:
    """A sanctions measure on trade in goods, as data: who, which HS chapters, when, citation."""

    id: str
    instrument: str
    paragraph: str
    direction: str  # supply_to | export_from
    target: str
    hs_chapters: tuple[tuple[int, int], ...]
    in_force_from: date
    in_force_to: date | None
    scope: str
    quote: str
    exceptions: str
    verification: str
    confidence: str
    sources: tuple[dict[str, str], ...]
    version: str = ""

    def covers_code(self, hs_code: str) -> bool:
        """Whether the HS code's chapter lies in one of the rule's chapter ranges."""
        if len(hs_code) < 2 or not hs_code[:2].isdigit():
            return False
        chapter = int(hs_code[:2])
        return any(lo <= chapter <= hi for lo, hi in self.hs_chapters)

    def citation(self) -> str:
        """Short citation, e.g. ``S/RES/2397 (2017), paragraph 7``."""
        return f"{self.instrument}, paragraph {self.paragraph}"


def sanction_rules(path: Path | None = None) -> list[SanctionRule]:
    """The sanctions rules table (bundled, or a user file of the same layout)."""
    data = _load_json(path, "sanctions.json")
    rules = []
    for r in data["rules"]:
        if r["direction"] not in ("supply_to", "export_from"):
            raise InputError(f"rule {r['id']}: direction must be supply_to or export_from")
        if not r.get("sources"):
            raise InputError(f"rule {r['id']} has no source: every rule is cited")
        rules.append(
            SanctionRule(
                id=r["id"],
                instrument=r["instrument"],
                paragraph=str(r["paragraph"]),
                direction=r["direction"],
                target=country_code(r["target"], strict=True),
                hs_chapters=tuple((int(lo), int(hi)) for lo, hi in r["hs_chapters"]),
                in_force_from=date.fromisoformat(r["in_force_from"]),
                in_force_to=date.fromisoformat(r["in_force_to"]) if r.get("in_force_to") else None,
                scope=r.get("scope", ""),
                quote=r.get("quote", ""),
                exceptions=r.get("exceptions", ""),
                verification=r.get("verification", ""),
                confidence=r.get("confidence", "medium"),
                sources=tuple(r["sources"]),
                version=data.get("version", ""),
            )
        )
    return rules


# ---------------------------------------------------------------- reading Comtrade files


@dataclass(frozen=True)
class TradeRow:
    """One trade flow as read from a file (countries as ISO alpha-2 where known)."""

    reporter: str
    partner: str
    flow: str
    hs_code: str
    year: int
    period: str
    value_usd: float | None = None
    quantity: float | None = None
    quantity_unit: str | None = None
    net_weight_kg: float | None = None
    hs_edition: str | None = None

    @property
    def supplier(self) -> str:
        """The country the goods leave (reporter for exports, partner for imports)."""
        return self.reporter if self.flow in ("export", "re-export") else self.partner

    @property
    def recipient(self) -> str:
        """The country the goods reach."""
        return self.partner if self.flow in ("export", "re-export") else self.reporter

    def bounds(self) -> tuple[date, date]:
        """First and last day of the flow's period (a year, or a month for ``YYYYMM``)."""
        if len(self.period) == 6 and self.period.isdigit():
            year, month = int(self.period[:4]), int(self.period[4:])
            last = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
            return date(year, month, 1), date.fromordinal(last)
        return date(self.year, 1, 1), date(self.year, 12, 31)

    def key(self) -> str:
        """Identity of the flow (same reporter, partner, flow, code and period)."""
        text = "|".join((self.reporter, self.partner, self.flow, self.hs_code, self.period))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class ReadResult:
    """Rows read from a file and the reasons other rows were left out."""

    rows: list[TradeRow] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    unknown_countries: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count one left-out row."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def read_comtrade(path: Path) -> ReadResult:
    """Read a UN Comtrade CSV extract (either layout); aggregate rows (World, TOTAL) are skipped."""
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"no file {path}: give the path of a Comtrade CSV extract")
    text = path.read_text("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    columns = {name: _pick(header, options) for name, options in COLUMNS.items()}
    missing = [n for n in ("year", "reporter", "partner", "flow", "hs_code") if not columns[n]]
    if missing:
        raise CorruptFileError(
            f"{path.name} is not a Comtrade CSV: no column for {', '.join(missing)} "
            f"(expected e.g. {', '.join(COLUMNS[missing[0]][:2])})"
        )
    result = ReadResult()
    for raw in reader:
        _read_row(raw, columns, result)
    return result


def _pick(header: Sequence[str], options: Sequence[str]) -> list[str]:
    return [o for o in options if o in header]


def _first_value(raw: dict[str, str], names: list[str]) -> str:
    return next((raw[n].strip() for n in names if raw.get(n) and raw[n].strip()), "")


def _country(raw: dict[str, str], names: list[str], result: ReadResult) -> str | None:
    values = [raw[n].strip() for n in names if raw.get(n) and raw[n].strip()]
    if not values or values[0].casefold() in _WORLD:
        return None
    for v in values:
        code = country_code(v)
        if code:
            return code
    result.unknown_countries[values[0]] = result.unknown_countries.get(values[0], 0) + 1
    return values[0].upper()


def _number(value: str) -> float | None:
    value = value.replace(",", "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return None if number < 0 else number


def _read_row(raw: dict[str, str], columns: dict[str, list[str]], result: ReadResult) -> None:
    code = _first_value(raw, columns["hs_code"]).replace(".", "").upper()
    if not code or code in _AGGREGATE_CODES or not code.isdigit():
        result.skip("aggregate or missing commodity code")
        return
    flow = _FLOWS.get(_first_value(raw, columns["flow"]).casefold())
    if flow is None:
        result.skip("unknown flow")
        return
    reporter = _country(raw, columns["reporter"], result)
    partner = _country(raw, columns["partner"], result)
    if reporter is None or partner is None:
        result.skip("World or missing partner/reporter")
        return
    year_text = _first_value(raw, columns["year"])
    if not year_text[:4].isdigit():
        result.skip("missing year")
        return
    year = int(year_text[:4])
    period = _first_value(raw, columns["period"]) or str(year)
    result.rows.append(
        TradeRow(
            reporter=reporter,
            partner=partner,
            flow=flow,
            hs_code=code,
            year=year,
            period=period if period.isdigit() and len(period) in (4, 6) else str(year),
            value_usd=_number(_first_value(raw, columns["value"])),
            quantity=_number(_first_value(raw, columns["quantity"])),
            quantity_unit=_first_value(raw, columns["quantity_unit"]) or None,
            net_weight_kg=_number(_first_value(raw, columns["net_weight"])),
            hs_edition=_first_value(raw, columns["edition"]) or None,
        )
    )


# ---------------------------------------------------------------- storing


@dataclass
class TradeImportSummary:
    """Counts of one Comtrade import."""

    file: str
    source_id: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    unknown_countries: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def import_comtrade(
    store: Store, path: Path, *, sensitivity: str = "public", title: str | None = None
) -> TradeImportSummary:
    """Import a Comtrade CSV extract into ``trade_flows`` (all-or-nothing, idempotent), with a
    custody-log entry counting the rows added, updated and unchanged."""
    path = Path(path)
    read = read_comtrade(path)
    started = now_iso()
    with store.transaction() as conn:
        source_id = file_source(
            conn,
            kind="trade_record",
            title=title or f"UN Comtrade extract {path.name}",
            uri=path.name,
            sha256=file_sha256(path),
            retrieved_at=started,
            attribution="UN Comtrade (United Nations Statistics Division)",
            publisher="UN Comtrade",
            sensitivity=sensitivity,
        )
        summary = TradeImportSummary(
            file=path.name,
            source_id=source_id,
            skipped=read.skipped,
            unknown_countries=read.unknown_countries,
        )
        for row in read.rows:
            _upsert(conn, row, source_id, sensitivity, summary)
        insert_import(
            conn,
            source_id=source_id,
            command="trade import",
            started=started,
            summary=summary.to_dict(),
            counts={
                "added": summary.added,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
            },
        )
    return summary


def _upsert(
    conn: Any, row: TradeRow, source_id: int, sensitivity: str, summary: TradeImportSummary
) -> None:
    values = (row.value_usd, row.quantity, row.quantity_unit, row.net_weight_kg)
    old = conn.execute(
        "SELECT id, value_usd, quantity, quantity_unit, net_weight_kg FROM trade_flows "
        "WHERE row_key = ?",
        (row.key(),),
    ).fetchone()
    if old is None:
        conn.execute(
            "INSERT INTO trade_flows (reporter, partner, flow, hs_code, hs_edition, year, period, "
            "value_usd, quantity, quantity_unit, net_weight_kg, source_id, row_key, sensitivity) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.reporter,
                row.partner,
                row.flow,
                row.hs_code,
                row.hs_edition,
                row.year,
                row.period,
                *values,
                source_id,
                row.key(),
                sensitivity,
            ),
        )
        summary.added += 1
    elif tuple(old[1:]) != values:
        conn.execute(
            "UPDATE trade_flows SET value_usd = ?, quantity = ?, quantity_unit = ?, "
            "net_weight_kg = ?, source_id = ? WHERE id = ?",
            (*values, source_id, old[0]),
        )
        summary.updated += 1
    else:
        summary.unchanged += 1


# ---------------------------------------------------------------- screening


@dataclass(frozen=True)
class Flag:
    """A trade flow that falls inside a sanctions rule's scope and period."""

    rule_id: str
    citation: str
    coverage: str  # full | partial (the rule came into force during the flow's period)
    supplier: str
    recipient: str
    row: TradeRow
    hs_label: str | None
    rule_url: str | None
    exceptions: str
    flow_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["row"] = asdict(self.row)
        return data


def _coverage(rule: SanctionRule, start: date, end: date) -> str | None:
    if end < rule.in_force_from or (rule.in_force_to and start > rule.in_force_to):
        return None
    inside = start >= rule.in_force_from and (rule.in_force_to is None or end <= rule.in_force_to)
    return "full" if inside else "partial"


def screen_rows(
    rows: Iterable[TradeRow],
    rules: Sequence[SanctionRule] | None = None,
    *,
    table: HsTable | None = None,
    ids: Sequence[int | None] | None = None,
) -> list[Flag]:
    """Flags for every (row, rule) pair where the row's goods, direction and period fall under
    the rule (pure function)."""
    rules = sanction_rules() if rules is None else rules
    table = table or hs_table()
    flags = []
    for i, row in enumerate(rows):
        start, end = row.bounds()
        for rule in rules:
            party = row.recipient if rule.direction == "supply_to" else row.supplier
            if party != rule.target or not rule.covers_code(row.hs_code):
                continue
            coverage = _coverage(rule, start, end)
            if coverage is None:
                continue
            hs = hs_category(row.hs_code, table)
            flags.append(
                Flag(
                    rule_id=rule.id,
                    citation=rule.citation(),
                    coverage=coverage,
                    supplier=row.supplier,
                    recipient=row.recipient,
                    row=row,
                    hs_label=hs.label if hs else None,
                    rule_url=rule.sources[0].get("url") if rule.sources else None,
                    exceptions=rule.exceptions,
                    flow_id=ids[i] if ids else None,
                )
            )
    return flags


def stored_rows(
    store: Store, *, country: str | None = None, audience: str = "public"
) -> tuple[list[TradeRow], list[int], list[int]]:
    """Stored flows visible to ``audience`` (optionally those involving ``country``):
    rows, their ids and their source ids."""
    where = audience_clause(audience)
    params: tuple = ()
    if country:
        where += " AND (reporter = ? OR partner = ?)"
        params = (country, country)
    records = store.query(f"SELECT * FROM trade_flows WHERE {where} ORDER BY year, id", params)
    rows = [
        TradeRow(
            reporter=r["reporter"],
            partner=r["partner"],
            flow=r["flow"],
            hs_code=r["hs_code"],
            year=r["year"],
            period=r["period"],
            value_usd=r["value_usd"],
            quantity=r["quantity"],
            quantity_unit=r["quantity_unit"],
            net_weight_kg=r["net_weight_kg"],
            hs_edition=r["hs_edition"],
        )
        for r in records
    ]
    return rows, [r["id"] for r in records], [r["source_id"] for r in records]


def screen_flows(
    store: Store,
    *,
    rules: Sequence[SanctionRule] | None = None,
    country: str | None = None,
    audience: str = "public",
) -> list[Flag]:
    """Screen the stored trade flows against the sanctions rules."""
    code = country_code(country, strict=True) if country else None
    rows, ids, _ = stored_rows(store, country=code, audience=audience)
    return screen_rows(rows, rules, ids=ids)

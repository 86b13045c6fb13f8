"""Comtrade import and sanctions screening (UN Security Council resolution 2397 (2017))."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from survatlas.cli import main
from survatlas.errors import CorruptFileError
from survatlas.store import Store
from survatlas.supply.trade import (
    TradeRow,
    hs_category,
    hs_table,
    import_comtrade,
    read_comtrade,
    sanction_rules,
    screen_flows,
    screen_rows,
)

PLUS_HEADER = (
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,reporterDesc,"
    "flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,classificationCode,cmdCode,cmdDesc,"
    "qtyUnitAbbr,qty,netWgt,primaryValue\n"
)


def _plus_row(
    year: int,
    reporter: str,
    flow: str,
    partner: str,
    code: str,
    value: float,
    period: str | None = None,
) -> str:
    codes = {"CHN": 156, "PRK": 408, "RUS": 643, "W00": 0}
    return (
        f"C,A,{year}0101,{year},52,{period or year},{codes[reporter]},{reporter},x,{flow},x,"
        f"{codes[partner]},{partner},x,H5,{code},x,u,100,50,{value}\n"
    )


@pytest.fixture
def comtrade(tmp_path: Path) -> Path:
    path = tmp_path / "comtrade.csv"
    path.write_text(
        PLUS_HEADER
        + _plus_row(2019, "CHN", "X", "PRK", "852580", 345000)
        + _plus_row(2015, "CHN", "X", "PRK", "852580", 200000)
        + _plus_row(2019, "CHN", "X", "W00", "852580", 9e9)
        + _plus_row(2019, "CHN", "X", "PRK", "TOTAL", 1e8)
        + _plus_row(2019, "CHN", "X", "PRK", "030617", 5000)
    )
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "t.db")
    yield s
    s.close()


def test_2019_camera_export_to_dprk_is_flagged_citing_2397_and_2015_is_not(
    store: Store, comtrade: Path
) -> None:
    import_comtrade(store, comtrade)
    flags = screen_flows(store)
    assert [(f.row.year, f.row.hs_code) for f in flags] == [(2019, "852580")]
    flag = flags[0]
    assert "2397" in flag.citation and flag.citation.endswith("paragraph 7")
    assert flag.rule_id == "UNSC-2397-OP7"
    assert flag.coverage == "full"
    assert (flag.supplier, flag.recipient) == ("CN", "KP")
    assert flag.rule_url and "2397" in flag.rule_url
    assert "camera" in (flag.hs_label or "").lower()


def test_aggregates_are_skipped_and_reimport_is_idempotent(store: Store, comtrade: Path) -> None:
    first = import_comtrade(store, comtrade)
    assert first.added == 3
    assert sum(first.skipped.values()) == 2
    second = import_comtrade(store, comtrade)
    assert (second.added, second.unchanged) == (0, 3)
    assert store.scalar("SELECT count(*) FROM trade_flows") == 3


def test_classic_layout_and_mirror_import_are_read(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "classic.csv"
    path.write_text(
        "Classification,Year,Period,Trade Flow Code,Trade Flow,Reporter Code,Reporter,"
        "Reporter ISO,Partner Code,Partner,Partner ISO,Commodity Code,Commodity,Qty Unit,Qty,"
        "Netweight (kg),Trade Value (US$)\n"
        "H4,2018,2018,1,Import,408,Dem. People's Rep. of Korea,PRK,156,China,CHN,8521,"
        'Video recording,No Quantity,,1200,"45,000"\n'
    )
    rows = read_comtrade(path).rows
    assert rows == [
        TradeRow(
            reporter="KP",
            partner="CN",
            flow="import",
            hs_code="8521",
            year=2018,
            period="2018",
            value_usd=45000.0,
            quantity=None,
            quantity_unit="No Quantity",
            net_weight_kg=1200.0,
            hs_edition="H4",
        )
    ]
    import_comtrade(store, path)
    flags = screen_flows(store, country="KP")
    assert len(flags) == 1 and flags[0].supplier == "CN" and flags[0].recipient == "KP"


def test_dprk_exports_of_hs85_fall_under_paragraph_6(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "x.csv"
    path.write_text(PLUS_HEADER + _plus_row(2019, "PRK", "X", "RUS", "851762", 1000))
    import_comtrade(store, path)
    assert [f.rule_id for f in screen_flows(store)] == ["UNSC-2397-OP6"]


def test_month_before_and_after_adoption(tmp_path: Path) -> None:
    rules = sanction_rules()
    row = {"reporter": "CN", "partner": "KP", "flow": "export", "hs_code": "852580", "year": 2017}
    november = TradeRow(period="201711", **row)
    december = TradeRow(period="201712", **row)
    january = TradeRow(period="201801", **{**row, "year": 2018})
    assert screen_rows([november], rules) == []
    assert [f.coverage for f in screen_rows([december], rules)] == ["partial"]
    assert [f.coverage for f in screen_rows([january], rules)] == ["full"]


def test_not_a_comtrade_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CorruptFileError, match="not a Comtrade CSV"):
        read_comtrade(path)


@given(
    year=st.integers(1995, 2030),
    chapter=st.integers(1, 97),
    flow=st.sampled_from(["export", "import"]),
)
def test_supply_ban_flags_exactly_covered_chapters_from_2018(
    year: int, chapter: int, flow: str
) -> None:
    reporter, partner = ("CN", "KP") if flow == "export" else ("KP", "CN")
    row = TradeRow(
        reporter=reporter,
        partner=partner,
        flow=flow,
        hs_code=f"{chapter:02d}0000",
        year=year,
        period=str(year),
    )
    rule = next(r for r in sanction_rules() if r.id == "UNSC-2397-OP7")
    covered = 72 <= chapter <= 89
    flagged = screen_rows([row], [rule])
    assert bool(flagged) == (covered and year >= 2017)
    if flagged:
        assert flagged[0].coverage == ("partial" if year == 2017 else "full")


def test_hs_table_is_cited_and_prefix_matched() -> None:
    table = hs_table()
    assert all(
        c.sources and all(s["url"].startswith("http") for s in c.sources) for c in table.codes
    )
    assert hs_category("85219000", table).code == "8521"
    assert hs_category("852589", table).code == "852589"
    assert hs_category("030617", table) is None


def test_cli_trade_import_and_screen(tmp_path: Path, comtrade: Path) -> None:
    db = tmp_path / "cli.db"
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(db), "trade", "import", str(comtrade)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--db", str(db), "trade", "screen", "--json"])
    assert result.exit_code == 0, result.output
    assert '"UNSC-2397-OP7"' in result.output and '"year": 2015' not in result.output

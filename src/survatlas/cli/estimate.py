"""``survatlas estimate``: how many devices really exist, with honest intervals."""

from __future__ import annotations

from pathlib import Path

import click

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import json_option
from survatlas.errors import EstimationError, InputError
from survatlas.estimate import (
    CaptureTable,
    Estimate,
    Quantity,
    audit_correct,
    chapman,
    compose,
    estimate_total,
    lincoln_petersen,
    load_device_lists,
    mse,
    published_table,
    stratified_total,
)
from survatlas.estimate.compose import DISTRIBUTIONS
from survatlas.estimate.histories import PUBLISHED
from survatlas.estimate.samplefiles import read_audit, read_unit_counts
from survatlas.store import open_store

level_option = click.option(
    "--level",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the interval.",
)
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
model_option = click.option(
    "--model",
    default="aic",
    show_default=True,
    help="independence, aic, bic, pairwise, or terms like A:B,B:C (three or more lists).",
)


@click.group("estimate")
def estimate_group() -> None:
    """Estimate true totals from incomplete lists and samples (capture–recapture, MSE)."""


@estimate_group.command("two-list")
@click.argument("n1", type=click.IntRange(0))
@click.argument("n2", type=click.IntRange(0))
@click.argument("m", type=click.IntRange(0))
@level_option
@json_option
def two_list_cmd(n1: int, n2: int, m: int, level: float, as_json: bool) -> None:
    """Chapman (and Lincoln–Petersen) from list sizes N1, N2 and their overlap M."""
    result = chapman(n1, n2, m, level)
    try:
        other: Estimate | None = lincoln_petersen(n1, n2, m, level)
    except EstimationError:
        other = None
    out = result.to_dict()
    out["alternatives"] = {"lincoln_petersen": other.to_dict() if other else None}
    if as_json:
        emit_json(out)
        return
    _print_estimate(result)
    if other:
        click.echo(f"Lincoln–Petersen: {_range(other)}")


@estimate_group.command("mse")
@click.argument("histories", type=click.Path(path_type=Path), required=False)
@click.option(
    "--example",
    type=click.Choice(sorted(PUBLISHED)),
    help="Use a published table shipped with survatlas instead of a file.",
)
@model_option
@click.option(
    "--interval",
    type=click.Choice(["profile", "bootstrap"]),
    default="profile",
    show_default=True,
    help="Profile likelihood (Cormack 1992) or parametric bootstrap.",
)
@click.option(
    "--boot",
    "n_boot",
    type=click.IntRange(100),
    default=1000,
    show_default=True,
    help="Bootstrap replicates (with --interval bootstrap).",
)
@seed_option
@level_option
@json_option
def mse_cmd(
    histories: Path | None,
    example: str | None,
    model: str,
    interval: str,
    n_boot: int,
    seed: int,
    level: float,
    as_json: bool,
) -> None:
    """Multiple systems estimation from a CSV of capture histories.

    HISTORIES has one 0/1 column per list and a `count` column; patterns not listed count 0.
    The model is chosen by a stepwise AIC/BIC search unless given; the spread of estimates
    across the models examined is always shown.
    """
    if (histories is None) == (example is None):
        raise InputError("give a HISTORIES.csv file or --example kosovo|uk (one of them)")
    table = published_table(example) if example else CaptureTable.from_csv(histories)
    result = mse(table, model=model, level=level, interval=interval, n_boot=n_boot, seed=seed)
    _emit(result, as_json)


@estimate_group.command("total")
@click.option("--sources", required=True, help="Comma-separated source ids or titles (2 or more).")
@click.option(
    "--match-distance",
    type=click.FloatRange(0, min_open=True),
    default=15.0,
    show_default=True,
    help="Metres within which two records may be one device.",
)
@click.option(
    "--include-restricted",
    is_flag=True,
    help="Also count restricted/confidential devices (default: public only).",
)
@model_option
@level_option
@json_option
@click.pass_context
def total_cmd(
    ctx: click.Context,
    sources: str,
    match_distance: float,
    include_restricted: bool,
    model: str,
    level: float,
    as_json: bool,
) -> None:
    """Match devices across sources in the store and estimate the true total."""
    refs = [s.strip() for s in sources.split(",") if s.strip()]
    with open_store(db_path(ctx)) as store:
        lists = load_device_lists(store, refs, include_restricted)
    result = estimate_total(lists, match_distance=match_distance, model=model, level=level)
    _emit(result, as_json)


@estimate_group.command("sample")
@click.argument("units", type=click.Path(path_type=Path))
@click.option(
    "--population",
    "population",
    multiple=True,
    required=True,
    help="Units in the population: N, or STRATUM=N (repeat per stratum).",
)
@click.option(
    "--audit",
    type=click.Path(path_type=Path),
    help="CSV of audited units: survey, expert[, weight][, stratum] columns.",
)
@click.option(
    "--boot",
    "n_boot",
    type=click.IntRange(100),
    default=2000,
    show_default=True,
    help="Bootstrap replicates.",
)
@seed_option
@level_option
@json_option
def sample_cmd(
    units: Path,
    population: tuple[str, ...],
    audit: Path | None,
    n_boot: int,
    seed: int,
    level: float,
    as_json: bool,
) -> None:
    """Total from counts in sampled units (CSV: count[, stratum]), optionally audit-corrected."""
    sample = read_unit_counts(units)
    sizes = _population(population)
    strata = sample.strata if isinstance(sizes, dict) else None
    result = stratified_total(sample.counts, sizes, strata, level, n_boot, seed)
    if audit is not None:
        rows = read_audit(audit)
        result = audit_correct(
            result, rows.survey, rows.expert, rows.weight, rows.stratum, level, n_boot, seed
        )
    _emit(result, as_json)


@estimate_group.command("compose")
@click.argument("expression")
@click.option(
    "--q",
    "quantities",
    multiple=True,
    required=True,
    help="NAME=LOW..HIGH[:DISTRIBUTION] (repeat); distributions: " + ", ".join(DISTRIBUTIONS) + ".",
)
@click.option("--source", "sources", multiple=True, help="NAME=where the range comes from.")
@click.option("--assume", multiple=True, help="An assumption behind the expression (repeat).")
@click.option("--draws", type=click.IntRange(1000), default=100_000, show_default=True)
@seed_option
@level_option
@json_option
def compose_cmd(
    expression: str,
    quantities: tuple[str, ...],
    sources: tuple[str, ...],
    assume: tuple[str, ...],
    draws: int,
    seed: int,
    level: float,
    as_json: bool,
) -> None:
    """Monte Carlo value of EXPRESSION over quantities given as ranges, e.g. 'reg / pop'."""
    cited = dict(_split(s, "--source") for s in sources)
    inputs = [_quantity(q, cited) for q in quantities]
    unknown = set(cited) - {q.name for q in inputs}
    if unknown:
        raise InputError(f"--source names {sorted(unknown)} match no --q quantity")
    _emit(compose(expression, inputs, level, draws, seed, assume), as_json)


def _emit(result: Estimate, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_dict())
    else:
        _print_estimate(result)


def _print_estimate(e: Estimate) -> None:
    click.echo(f"Method:     {e.method}")
    if e.n_observed is not None:
        click.echo(f"Observed:   {e.n_observed:,}")
    click.echo(f"Estimate:   {_range(e)}")
    click.echo(f"Interval:   {e.details.get('interval_method', '')}")
    click.echo(f"Model:      {', '.join(e.model)}")
    spread = e.details.get("spread")
    if isinstance(spread, dict) and spread.get("n_models"):
        click.echo(
            f"Spread:     {_fmt(spread['min'])} – {_fmt(spread['max'])} across "
            f"{spread['n_models']} models examined"
        )
        near = e.details["spread_supported"]
        click.echo(
            f"            {_fmt(near['min'])} – {_fmt(near['max'])} across the "
            f"{near['n_models']} within {near['delta']:g} {e.details['criterion'].upper()} of the best"
        )
        for m in e.details.get("models", [])[:8]:
            inter = [t for t in m["terms"] if ":" in t] or ["independence"]
            crit = e.details["criterion"]
            click.echo(
                f"  N̂ {_fmt(m['n_hat']):>10}  {crit.upper()} {m[crit]:9.1f}  {' '.join(inter)}"
            )
    one_in = e.details.get("one_in")
    if one_in:
        click.echo(f"One in:     {one_in['one_in']:.1f} ({one_in['low']:.1f}–{one_in['high']:.1f})")
    for q in e.details.get("inputs", []):
        click.echo(
            f"Input:      {q['name']} {q['low']:g}..{q['high']:g} ({q['distribution']})"
            f" — {q['source'] or 'no source'}"
        )
    click.echo("Assumptions:")
    for a in e.assumptions:
        click.echo(f"  - {a}")
    if e.warnings:
        click.echo("Warnings:")
        for w in e.warnings:
            click.echo(f"  ! {w}")


def _range(e: Estimate) -> str:
    return f"{_fmt(e.n_hat)} ({e.level:.0%} interval {_fmt(e.ci_low)} – {_fmt(e.ci_high)})"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or x != x or abs(x) == float("inf") else f"{x:.4g}"


def _split(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise InputError(f"{option} {text!r} must look like NAME=VALUE")
    return name.strip(), value.strip()


def _quantity(text: str, cited: dict[str, str]) -> Quantity:
    name, spec = _split(text, "--q")
    rng, _, dist = spec.partition(":")
    low, sep, high = rng.partition("..")
    try:
        lo = float(low)
        hi = float(high) if sep else lo
    except ValueError as exc:
        raise InputError(f"--q {text!r}: the range must be LOW..HIGH numbers") from exc
    return Quantity(
        name, lo, hi, dist.strip() or ("uniform" if sep else "fixed"), source=cited.get(name, "")
    )


def _population(values: tuple[str, ...]) -> int | dict[str, int]:
    if len(values) == 1 and "=" not in values[0]:
        return _int(values[0])
    return {name: _int(v) for name, v in (_split(p, "--population") for p in values)}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise InputError(f"--population {text!r} must be a whole number of units") from exc

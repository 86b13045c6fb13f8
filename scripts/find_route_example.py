"""Find a documented example pair: the least-exposed route avoids cameras the shortest passes.

Run after ``survatlas import osm …`` and ``survatlas coverage``:

    python scripts/find_route_example.py --db survatlas.db [--samples 300] [--level detection]

Prints the pair, the command that reproduces it, and a Markdown table of both routes' figures
for the README. Sampling is seeded, so the same store gives the same pair.
"""

from __future__ import annotations

import argparse

from survatlas.routing import LEVELS, find_example_pair, load_network
from survatlas.store import Store


def main() -> None:
    """Search the store's network and print the best pair found."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="survatlas.db")
    ap.add_argument("--profile", default="walk")
    ap.add_argument("--level", default="detection", choices=LEVELS)
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--max-detour", type=float, default=1.25)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with Store(args.db, create=False) as store:
        net = load_network(store, args.profile)
    plan = find_example_pair(
        net,
        level=args.level,
        scenario=args.scenario,
        max_detour=args.max_detour,
        samples=args.samples,
        seed=args.seed,
    )
    if plan is None:
        print("no sampled pair lets the least-exposed route avoid a camera; try more --samples")
        return
    o, d = plan.origin.given, plan.destination.given
    print(
        f"survatlas route --from {o[0]:.5f},{o[1]:.5f} --to {d[0]:.5f},{d[1]:.5f} "
        f"--level {plan.level} --scenario {plan.scenario} --max-detour {plan.max_detour}\n"
    )
    print(f"| route | distance | time | in view ({plan.level}, {plan.scenario}) | cameras |")
    print("|---|---|---|---|---|")
    for r in (plan.shortest, plan.least_exposed):
        seen = r.seen(plan.level)
        lo, hi = r.metres_range(plan.level)
        print(
            f"| {r.kind} | {r.length_m:,.0f} m | {r.time_s / 60:.0f} min | "
            f"{seen.metres:,.0f} m (scenarios {lo:,.0f}–{hi:,.0f} m) | {len(seen.cameras)} |"
        )
    price = plan.to_dict()["price_of_privacy"]
    print(
        f"\nprice of privacy: +{price['extra_metres']:.0f} m to avoid "
        f"{price['cameras_avoided']} camera(s) and {price['metres_in_view_avoided']:.0f} m in view"
    )


if __name__ == "__main__":
    main()

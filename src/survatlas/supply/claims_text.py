"""Rule-based, offline extraction of candidate claims from a report's text.

Nothing here writes to a store: the candidates are proposals, each with the sentence it came
from, for a person to review and accept (:func:`survatlas.supply.accept_candidates`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from survatlas.supply.countries import demonyms

__all__ = ["Candidate", "extract_candidates", "split_sentences"]

_SMALL = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "a hundred": 100,
    "a thousand": 1000,
    "dozens": None,
    "hundreds": None,
    "thousands": None,
}
_SCALE = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}
_QUALIFIERS = {
    "more than": "more_than",
    "over": "more_than",
    "at least": "at_least",
    "as many as": "up_to",
    "up to": "up_to",
    "nearly": "about",
    "almost": "about",
    "about": "about",
    "around": "about",
    "approximately": "about",
    "roughly": "about",
    "some": "about",
    "fewer than": "less_than",
    "less than": "less_than",
    "under": "less_than",
    "~": "about",
}
_UNITS = (
    "cameras",
    "camera",
    "towers",
    "tower",
    "people",
    "residents",
    "subscribers",
    "connections",
    "km",
    "kilometres",
    "kilometers",
    "miles",
    "mi",
    "percent",
    "per cent",
    "%",
    "households",
    "guard posts",
    "watchtowers",
    "personnel",
    "agents",
    "informants",
    "officers",
    "devices",
    "fingerprints",
    "faces",
    "channels",
    "cities",
    "stations",
    "schools",
    "years",
    "seconds",
    "escapees",
    "interviewees",
    "points",
    "TWh",
    "kWh",
    "barrels",
    "tonnes",
    "tons",
    "USD",
    "dollars",
    "yuan",
    "RMB",
    "per 1,000 people",
    "per 1,000",
)
_SITES = {
    "school": ("school", "schools", "kindergarten", "classroom"),
    "university": ("university", "universities", "campus"),
    "workplace": (
        "workplace",
        "workplaces",
        "factory",
        "factories",
        "office",
        "offices",
        "plant",
        "mine",
    ),
    "airport": ("airport", "airports"),
    "border": ("border", "borders", "frontier", "checkpoint"),
    "rail_station": (
        "train station",
        "train stations",
        "railway station",
        "rail station",
        "railway stations",
        "metro station",
    ),
    "road_entrance": (
        "road entrance",
        "road entrances",
        "roads into",
        "highway",
        "motorway",
        "toll gate",
    ),
    "public_space": (
        "square",
        "squares",
        "public place",
        "public places",
        "market",
        "markets",
        "park",
    ),
    "hospital": ("hospital", "hospitals", "clinic"),
    "store": ("store", "stores", "shop", "shops", "mall"),
    "power_station": ("power station", "power stations", "power plant"),
    "government": ("ministry", "police station", "government building"),
    "home": ("home", "homes", "household", "households", "apartment"),
}
_TECH = {
    "cctv": (
        "cctv",
        "surveillance camera",
        "surveillance cameras",
        "security camera",
        "video surveillance",
        "camera",
        "cameras",
    ),
    "face_recognition": (
        "facial recognition",
        "facial-recognition",
        "face recognition",
        "face-recognition",
    ),
    "licence_plate_recognition": (
        "licence-plate recognition",
        "license plate recognition",
        "licence plate",
        "license plate",
        "number plate",
        "number plates",
        "anpr",
        "alpr",
    ),
    "fingerprint": ("fingerprint", "fingerprints"),
    "iris": ("iris scan", "iris recognition", "iris"),
    "blood_type": ("blood type", "blood sample"),
    "biometric_id": ("biometric", "id card", "id cards", "identity card", "identity cards"),
    "fence_sensors": (
        "fence",
        "fences",
        "fencing",
        "sensor",
        "sensors",
        "watchtower",
        "watchtowers",
        "guard post",
        "guard posts",
    ),
    "device_monitoring": (
        "screenshot",
        "screenshots",
        "watermark",
        "watermarks",
        "spyware",
        "monitoring software",
        "signature system",
        "trace viewer",
    ),
    "mobile_network": (
        "cell tower",
        "cell towers",
        "mobile network",
        "subscribers",
        "smartphone",
        "smartphones",
        "mobile phone",
        "mobile phones",
    ),
    "iptv": ("iptv", "set-top box"),
    "informant_network": ("informant", "informants", "neighbourhood unit", "inminban"),
    "drone": ("drone", "drones"),
}
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|"
    "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORDNUM = (
    r"\b(?:" + "|".join(sorted((k for k in _SMALL if _SMALL[k]), key=len, reverse=True)) + r")\b"
)
_QUAL = "|".join(re.escape(q) for q in sorted(_QUALIFIERS, key=len, reverse=True))
_UNIT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_SCALES = r"(?:\s*(?:thousand|million|billion|bn|m)\b)?"

_RATIO = re.compile(
    rf"(?P<qual>{_QUAL})?\s*\b(?P<a>{_NUM}|{_WORDNUM})\s+(?:in|out of)\s+(?:every\s+)?"
    rf"(?P<b>{_NUM}|{_WORDNUM})\b",
    re.IGNORECASE,
)
_RANGE = re.compile(
    rf"(?:between\s+)?(?P<lo>{_NUM})\s*(?P<loscale>thousand|million|billion|bn|m)?\s*"
    rf"(?:–|—|-|to|and)\s*(?P<hi>{_NUM})(?P<scale>{_SCALES})\s*(?P<unit>{_UNIT})?",
    re.IGNORECASE,
)
_QUANT = re.compile(
    rf"(?:(?P<qual>{_QUAL})\s+)?(?P<num>{_NUM}|{_WORDNUM})(?P<scale>{_SCALES})\s*"
    rf"(?P<unit>{_UNIT})?(?![\w-])",
    re.IGNORECASE,
)
_DATE = re.compile(
    rf"\b(?:(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+(?:\d{{1,2}},\s+)?(?:19|20)\d{{2}}|"
    rf"between\s+(?:19|20)\d{{2}}\s+and\s+(?:19|20)\d{{2}}|(?:19|20)\d{{2}}\s*[–-]\s*(?:19|20)\d{{2}}|"
    rf"(?:since|in|by|from|until|early|late|mid-)\s*(?:19|20)\d{{2}}|(?:19|20)\d{{2}}-\d{{2}}-\d{{2}})\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(?:19|20)\d{2}$")


@dataclass(frozen=True)
class Candidate:
    """A proposed claim: what kind, the matched text, the parsed quantity, and the sentence."""

    kind: str  # quantity | ratio | range | site | technology | origin | date
    text: str
    sentence: str
    sentence_index: int
    start: int
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    qualifier: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _soft_wrap(text: str) -> str:
    """``text`` with wrapped-line breaks turned into spaces (same length, same offsets).

    Blank lines, headings, list items and table rows keep their line breaks.
    """
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        nxt = lines[i + 1].lstrip()
        hard = not line.strip() or not nxt or nxt[0] in "#-*|>" or line.lstrip()[:1] in "#|"
        out.append(line + ("\n" if hard else " "))
    out.append(lines[-1])
    return "".join(out)


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Sentences with their start offsets in ``text`` (wrapped lines are joined; 'U.S.' is kept
    whole)."""
    out = []
    for m in re.finditer(r"[^\n]+", _soft_wrap(text)):
        line, base = m.group(0), m.start()
        start = 0
        for end in re.finditer(r"(?<!\b[A-Z])(?<!\bNo)(?<!\bp)[.!?](?=\s+[\"'“(]?[A-Z0-9])", line):
            out += _chunk(line[start : end.end()], base + start)
            start = end.end()
        out += _chunk(line[start:], base + start)
    return out


def _chunk(chunk: str, offset: int) -> list[tuple[int, str]]:
    stripped = chunk.strip()
    return [(offset + len(chunk) - len(chunk.lstrip()), stripped)] if stripped else []


def _number(text: str) -> float | None:
    text = text.strip().lower()
    if text in _SMALL:
        return _SMALL[text]
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _scale(word: str | None) -> float:
    return _SCALE.get((word or "").strip().lower(), 1.0)


def _unit(raw: str | None) -> str | None:
    if not raw:
        return None
    unit = raw.strip()
    return "percent" if unit.lower() in ("%", "per cent") else unit


def _quantities(sentence: str, index: int, base: int) -> list[Candidate]:
    found: list[Candidate] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return all(span[1] <= a or span[0] >= b for a, b in taken)

    for m in _RATIO.finditer(sentence):
        a, b = _number(m.group("a")), _number(m.group("b"))
        if not a or not b or _YEAR.match(m.group("b")):
            continue
        taken.append(m.span())
        qual = m.group("qual")
        found.append(
            Candidate(
                kind="ratio",
                text=m.group(0).strip(),
                sentence=sentence,
                sentence_index=index,
                start=base + m.start(),
                value=a / b,
                unit="fraction",
                qualifier=_QUALIFIERS.get(qual.lower()) if qual else None,
            )
        )
    for m in _RANGE.finditer(sentence):
        lo, hi = _number(m.group("lo")), _number(m.group("hi"))
        if lo is None or hi is None or not free(m.span()):
            continue
        if _YEAR.match(m.group("lo")) and _YEAR.match(m.group("hi")) and not m.group("unit"):
            continue  # a span of years is a date, not a quantity
        scale = _scale(m.group("scale"))
        lo_scale = _scale(m.group("loscale")) if m.group("loscale") else scale
        low, high = lo * lo_scale, hi * scale
        if low > high:
            continue
        taken.append(m.span())
        found.append(
            Candidate(
                kind="range",
                text=m.group(0).strip(),
                sentence=sentence,
                sentence_index=index,
                start=base + m.start(),
                low=low,
                high=high,
                unit=_unit(m.group("unit")),
            )
        )
    for m in _QUANT.finditer(sentence):
        num = _number(m.group("num"))
        if num is None or not free(m.span()):
            continue
        unit, qual, scale = _unit(m.group("unit")), m.group("qual"), m.group("scale").strip()
        if _YEAR.match(m.group("num")) and not unit:
            continue  # a year: reported as a date
        if not unit and not qual and not scale:
            continue  # a bare number without unit or qualifier is too vague to propose
        taken.append(m.span())
        qualifier = _QUALIFIERS.get(qual.lower()) if qual else None
        value = num * _scale(scale)
        found.append(
            Candidate(
                kind="quantity",
                text=m.group(0).strip(),
                sentence=sentence,
                sentence_index=index,
                start=base + m.start(),
                value=value,
                unit=unit,
                qualifier=qualifier,
                low=value if qualifier in ("more_than", "at_least") else None,
                high=value if qualifier in ("up_to", "less_than") else None,
            )
        )
    return found


def _keywords(
    sentence: str, index: int, base: int, table: dict[str, tuple[str, ...]], kind: str
) -> list[Candidate]:
    lower = sentence.lower()
    out = []
    for label, words in table.items():
        for word in sorted(words, key=len, reverse=True):
            m = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lower)
            if m:
                out.append(
                    Candidate(
                        kind=kind,
                        text=sentence[m.start() : m.end()],
                        sentence=sentence,
                        sentence_index=index,
                        start=base + m.start(),
                        label=label,
                    )
                )
                break
    return out


def _origins(sentence: str, index: int, base: int) -> list[Candidate]:
    out: dict[str, Candidate] = {}
    for name, code in sorted(demonyms().items(), key=lambda kv: -len(kv[0])):
        m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence, re.IGNORECASE)
        if m and code not in out and name[0].isalpha():
            if any(c.start <= base + m.start() < c.start + len(c.text) for c in out.values()):
                continue
            out[code] = Candidate(
                kind="origin",
                text=m.group(0),
                sentence=sentence,
                sentence_index=index,
                start=base + m.start(),
                label=code,
            )
    return list(out.values())


def _dates(sentence: str, index: int, base: int) -> list[Candidate]:
    return [
        Candidate(
            kind="date",
            text=m.group(0),
            sentence=sentence,
            sentence_index=index,
            start=base + m.start(),
            label=re.search(r"(?:19|20)\d{2}", m.group(0))[0],
        )
        for m in _DATE.finditer(sentence)
    ]


def extract_candidates(text: str) -> list[Candidate]:
    """Candidate claims in ``text``: quantities (with units, ranges, ratios and qualifiers),
    site categories, technologies, origin countries and dates, each with its sentence."""
    out: list[Candidate] = []
    for index, (base, sentence) in enumerate(split_sentences(text)):
        out += _quantities(sentence, index, base)
        out += _keywords(sentence, index, base, _SITES, "site")
        out += _keywords(sentence, index, base, _TECH, "technology")
        out += _origins(sentence, index, base)
        out += _dates(sentence, index, base)
    return out

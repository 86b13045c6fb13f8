"""One document model for every publication (reports, country profiles), rendered three ways.

A :class:`Document` is a title, key facts, and :class:`Section` s of blocks (paragraphs,
lists of sourced statements, tables, figures, source lists). :func:`render_markdown` writes it
as Markdown, :func:`render_html` through the Jinja2 template ``templates/document.html.j2``
(autoescaped: every data string is text), and :func:`render_pdf` prints that HTML to A4 with
WeasyPrint. A statement's references (``S12``) link to its entry in the source list in all three.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from survatlas.errors import InputError

FORMATS = ("md", "html", "pdf")
#: the label of a statement supported only by reprints (syndicated copies) of its source
REPRINT_LABEL = "attribution verified / reprint only"
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class Item:
    """A line of a list: text with an optional bold lead, a status badge, refs and details.

    ``status``/``confidence``/``derived`` make the badge of a sourced statement; ``reprint``
    labels a statement whose only sources are reprints (syndicated copies); ``refs`` are short
    source references (``S3``); ``children`` are nested items (readings, derived claims).
    """

    text: str
    lead: str | None = None
    refs: list[str] = field(default_factory=list)
    status: str | None = None
    confidence: str | None = None
    derived: bool = False
    details: list[str] = field(default_factory=list)
    children: list[Item] = field(default_factory=list)
    reprint: bool = False

    @property
    def badge(self) -> str | None:
        """``UNVERIFIED, confidence low, derived by survatlas`` (status upper-cased unless verified);
        ``attribution verified / reprint only`` when only reprints support the statement."""
        if self.status is None and self.confidence is None and not self.reprint:
            return None
        parts = []
        if self.status:
            parts.append(self.status if self.status == "verified" else self.status.upper())
        if self.confidence:
            parts.append(f"confidence {self.confidence}")
        if self.derived:
            parts.append("derived by survatlas")
        if self.reprint:
            parts.append(REPRINT_LABEL)
        return ", ".join(parts)


@dataclass
class Fact:
    """A key finding: a headline value, what it measures, and the interval or status behind it."""

    value: str
    label: str
    note: str | None = None
    refs: list[str] = field(default_factory=list)


@dataclass
class Table:
    """A table; ``numeric`` names the columns aligned right."""

    columns: list[str]
    rows: list[list[Any]]
    caption: str | None = None
    numeric: tuple[int, ...] = ()


@dataclass
class Figure:
    """An image (SVG or PNG bytes) with a caption; ``name`` is its file name beside a .md file."""

    name: str
    data: bytes
    caption: str
    alt: str
    mime: str = "image/svg+xml"
    wide: bool = True

    @property
    def data_uri(self) -> str:
        """The image inlined as a ``data:`` URI (HTML and PDF carry no external file)."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass
class Source:
    """An entry of the source list: reference, title, and the facts that let a reader find it."""

    ref: str
    title: str
    kind: str
    url: str | None = None
    bits: list[str] = field(default_factory=list)
    original: str | None = None

    @property
    def anchor(self) -> str:
        """The element id the references link to (``src-S3``)."""
        return f"src-{self.ref}"


@dataclass
class Block:
    """One block of a section: exactly one of its fields is set."""

    paragraph: str | None = None
    items: list[Item] | None = None
    table: Table | None = None
    figure: Figure | None = None
    sources: dict[str, list[Source]] | None = None
    note: str | None = None


@dataclass
class Section:
    """A titled part of a document; ``level`` 2 is a chapter, 3 a subsection."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2
    page_break: bool = False

    def para(self, text: str) -> Section:
        """Append a paragraph; returns the section for chaining."""
        self.blocks.append(Block(paragraph=text))
        return self

    def add_items(self, items: Iterable[Item], empty: str = "None recorded.") -> Section:
        """Append a list (or ``empty`` as a paragraph when there are no items)."""
        items = list(items)
        self.blocks.append(Block(items=items) if items else Block(paragraph=empty))
        return self

    def add_table(self, table: Table) -> Section:
        """Append a table."""
        self.blocks.append(Block(table=table))
        return self

    def add_figure(self, figure: Figure | None) -> Section:
        """Append a figure (``None`` is skipped: a chart with nothing to show)."""
        if figure is not None:
            self.blocks.append(Block(figure=figure))
        return self

    def add_note(self, text: str) -> Section:
        """Append a small-print note (method, caveat)."""
        self.blocks.append(Block(note=text))
        return self


@dataclass
class Document:
    """A publication: title, subtitle, key facts first, then sections."""

    title: str
    subtitle: str
    facts: list[Fact] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    attribution: str | None = None
    lang: str = "en"

    def section(self, title: str, *, level: int = 2, page_break: bool = False) -> Section:
        """Append a new section and return it."""
        sec = Section(title, level=level, page_break=page_break)
        self.sections.append(sec)
        return sec

    @property
    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [b.figure for s in self.sections for b in s.blocks if b.figure is not None]


# ---------------------------------------------------------------- rendering


def render(doc: Document, fmt: str, out: Path | None = None) -> str | bytes:
    """``doc`` as Markdown / HTML text or PDF bytes. Markdown written to ``out`` puts its
    figures beside it in ``<out stem>_files/``; without ``out`` figures are named only."""
    if fmt == "md":
        return render_markdown(doc, out)
    if fmt == "html":
        return render_html(doc)
    if fmt == "pdf":
        return render_pdf(doc)
    raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def write(doc: Document, fmt: str, out: Path) -> None:
    """Render ``doc`` and write it to ``out`` (all or nothing: via a temporary file)."""
    write_output(out, render(doc, fmt, out))


def write_output(out: Path, data: str | bytes) -> None:
    """Write rendered text or bytes to ``out`` all or nothing (a temporary file, then rename)."""
    tmp = out.with_name(f".{out.name}.tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    tmp.replace(out)


def _md(text: Any) -> str:
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _md_refs(refs: Iterable[str]) -> str:
    return " ".join(f"[[{r}]](#{r.lower()})" for r in refs)


def _md_item(item: Item, indent: str = "") -> str:
    line = f"{indent}- "
    if item.lead:
        line += f"**{_md(item.lead)}**: "
    line += _md(item.text)
    if item.badge:
        line += f" — *{_md(item.badge)}*"
    if item.refs:
        line += f" {_md_refs(item.refs)}"
    if item.details:
        line += f"  \n{indent}  {_md('; '.join(item.details))}"
    for child in item.children:
        line += "\n" + _md_item(child, indent + "    ")
    return line


def _md_table(t: Table) -> list[str]:
    out = [f"*{_md(t.caption)}*", ""] if t.caption else []
    out.append("| " + " | ".join(_md(c) for c in t.columns) + " |")
    out.append(
        "|" + "|".join("---:" if i in t.numeric else "---" for i in range(len(t.columns))) + "|"
    )
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in t.rows]
    return out


def _md_source(s: Source) -> str:
    bits = [f'<a id="{s.ref.lower()}"></a>**[{s.ref}]** {_md(s.title)}', *map(_md, s.bits)]
    bits.append(f"<{_md(s.url)}>" if s.url else "(no URL: original not retrieved or not online)")
    if s.original:
        bits.append(f"copy of [[{s.original}]](#{s.original.lower()})")
    return "- " + ". ".join(bits)


def render_markdown(doc: Document, out: Path | None = None) -> str:
    """The document as Markdown; figures are written beside ``out`` when it is given."""
    lines = [f"# {_md(doc.title)}", "", f"*{_md(doc.subtitle)}*", ""]
    if doc.facts:
        lines += ["## Key findings", ""]
        for f in doc.facts:
            line = f"- **{_md(f.value)}** {_md(f.label)}"
            if f.note:
                line += f" ({_md(f.note)})"
            lines.append(line + (f" {_md_refs(f.refs)}" if f.refs else ""))
        lines.append("")
    fig_dir = out.with_name(f"{out.stem}_files") if out is not None else None
    for sec in doc.sections:
        lines += [f"{'#' * sec.level} {_md(sec.title)}", ""]
        for b in sec.blocks:
            lines += _md_block(b, fig_dir)
            lines.append("")
    if doc.attribution:
        lines += ["---", "", _md(doc.attribution), ""]
    return "\n".join(lines)


def _md_block(b: Block, fig_dir: Path | None) -> list[str]:
    if b.paragraph is not None:
        return [_md(b.paragraph)]
    if b.note is not None:
        return [f"<small>{_md(b.note)}</small>"]
    if b.items is not None:
        return [_md_item(i) for i in b.items]
    if b.table is not None:
        return _md_table(b.table)
    if b.figure is not None:
        f = b.figure
        if fig_dir is None:
            return [f"*Figure: {_md(f.caption)} (in the HTML and PDF editions)*"]
        fig_dir.mkdir(parents=True, exist_ok=True)
        (fig_dir / f.name).write_bytes(f.data)
        return [f"![{_md(f.alt)}]({fig_dir.name}/{f.name})", "", f"*{_md(f.caption)}*"]
    lines = []
    for kind, entries in (b.sources or {}).items():
        lines += [f"**{_md(kind)}**", ""] + [_md_source(s) for s in entries] + [""]
    return lines


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["safe_url"] = safe_url
    env.globals["reprint_label"] = REPRINT_LABEL
    return env


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else ``None`` (no ``javascript:`` in a page)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def render_html(doc: Document, *, standalone: bool = True) -> str:
    """The document as one self-contained HTML page (CSS and figures inline, no script)."""
    css = (_TEMPLATES / "document.css").read_text("utf-8")
    return _environment().get_template("document.html.j2").render(
        doc=doc, css=css, standalone=standalone
    )


def render_pdf(doc: Document) -> bytes:
    """The document printed to A4 PDF by WeasyPrint (page numbers, running title)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the pango libraries are missing
        raise InputError(
            f"PDF output needs WeasyPrint and the pango libraries ({exc}); install them or "
            "use --format html"
        ) from exc
    return weasyprint.HTML(string=render_html(doc), base_url=str(_TEMPLATES)).write_pdf()

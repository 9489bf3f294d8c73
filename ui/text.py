"""Data labels shown as text: the one place that escapes them for Streamlit and Plotly.

Every label that comes from a loaded file or the store (ward names and codes, categories and the
council's own category labels, streets, programme names and descriptions, file names, boundary
set names, ingest log and loader messages) is attacker-controlled: a resident can type
``[x](http://evil)`` into a report. Two renderers would otherwise turn such text into markup:

- **Streamlit's Markdown** (``st.markdown``, ``st.caption``, ``st.title``/``header``/
  ``subheader``, ``st.info``/``warning``/``error``/``success``, ``st.toast``, ``st.metric`` label,
  value and delta, widget labels, ``help=`` tooltips, expander, tab and button labels, radio,
  pills and select-slider options, ``st.table`` cells). Streamlit 1.67 parses GitHub-flavoured
  Markdown with remark: links, images, emphasis, code, headings, lists, tables, strikethrough,
  footnotes, raw HTML (shown as text while ``unsafe_allow_html`` is off), plus its own
  extensions: LaTeX ``$…$``, ``:color[…]`` and other text directives, ``:material/…:`` icons,
  ``:streamlit:``, emoji shortcodes such as ``:smile:``, literal autolinks (``http://…``,
  ``www.…``, ``name@host.tld``) and typographic arrows (``->``).
  :func:`md` makes any string render as itself there.
- **Plotly's SVG text** (titles, axis titles and tick labels, legend names, annotations, hover
  text): a small HTML subset (``<a href>``, ``<b>``, ``<br>``, ``<span style>``…), entities and
  ``$…$`` for MathJax. :func:`plotly` makes a string render as itself there.

Plain-text places need nothing and must get the raw string (escaping would show backslashes):
``st.text``, ``st.code``, ``st.dataframe`` cells, ``st.selectbox``/``st.multiselect`` options
(``format_func``), pydeck ``{"text": …}`` tooltips, ``alt=`` and ``st.set_page_config`` titles.

Pure functions (no Streamlit), unit-tested in ``tests/test_ui_text.py``.
"""

from __future__ import annotations

import html
import re
import string
from typing import Any, Final

#: U+2060 WORD JOINER: invisible, and not a word character, so it breaks the patterns remark
#: plugins look for in text that escapes cannot reach (``:smile:``, ``:material_x:``,
#: ``http://``, ``www.``, ``a@b.c``, ``->``) without changing what a reader sees.
JOINER: Final[str] = "\u2060"

#: Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and an escaped
#: one is always literal text (spec §2.4), whatever construct it would have started.
_PUNCTUATION: Final[re.Pattern[str]] = re.compile("([" + re.escape(string.punctuation) + "])")
#: Line breaks, tabs and other control characters (C0, DEL, C1) and Unicode line/paragraph
#: separators: a label is one line (a newline would end a heading or start a list or table).
_BREAKS: Final[re.Pattern[str]] = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\s]+")
#: Places where a remark text transform would still act on unescaped text (see JOINER).
_JOIN_AT: Final[re.Pattern[str]] = re.compile(
    r"(?<=:)|(?=:)"  # directives, icons, emoji, :streamlit:, http://
    r"|(?<=@)"  # e-mail autolinks
    r"|(?<=www)(?=\.)"  # www. autolinks (any case, see flags)
    r"|(?<=[<>~-])(?=[>=-])",  # -> <- <-> -- >= <= ~=
    re.IGNORECASE,
)


def one_line(value: Any, limit: int | None = None) -> str:
    r"""A label as one line of plain text: control characters and line breaks become one space.

    Runs of white space collapse to one space (a browser shows them so anyway). ``limit`` cuts
    the text to that many characters, the last one an ellipsis. ``None`` gives ``""``.

    Examples
    --------
    >>> one_line("North\n\n  Ward\t")
    'North Ward '
    >>> one_line("abcdef", limit=4)
    'abc…'
    """
    if value is None:
        return ""
    text = _BREAKS.sub(" ", str(value))
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def md(value: Any, limit: int | None = None) -> str:
    r"""A label escaped for Streamlit's Markdown, so that it renders as exactly its own text.

    Every ASCII punctuation character is backslash-escaped (CommonMark makes an escaped
    character literal, so no link, image, emphasis, code, heading, list, table, HTML, math,
    directive or entity can start), line breaks become spaces, and an invisible word joiner
    (U+2060) is put beside each ``:``, after ``@``, between ``www`` and ``.`` and inside
    ``->``-like pairs, where Streamlit's plugins match text after escapes are resolved
    (icons, emoji, autolinks, arrows). Safe to concatenate with our own Markdown.

    Parameters
    ----------
    value
        Any label (``str()`` is applied; ``None`` gives ``""``).
    limit
        Cut the text to this many characters first (an ellipsis marks the cut).

    Returns
    -------
    str

    Examples
    --------
    >>> print(md("**St Mary's** [x](y)"))
    \*\*St Mary\'s\*\* \[x\]\(y\)
    >>> md(":smile:") == "\u2060\\:\u2060smile\u2060\\:\u2060"
    True
    """
    text = _JOIN_AT.sub(JOINER, one_line(value, limit))
    return _PUNCTUATION.sub(r"\\\1", text)


def plotly(value: Any, limit: int | None = None) -> str:
    """A label escaped for Plotly's SVG text, so that it renders as exactly its own text.

    Plotly reads ``<…>`` as its HTML subset (links included), ``&…;`` as entities and a
    ``$…$`` string as MathJax; ``%{…}`` is a placeholder in hover templates. ``<``, ``>`` and
    ``&`` become entities and ``$`` and ``%`` numeric references (Plotly decodes them only when
    it draws the text, after those checks). Line breaks become spaces.

    Examples
    --------
    >>> plotly("<a href='http://evil'>x</a> & $5")
    "&lt;a href='http://evil'&gt;x&lt;/a&gt; &amp; &#36;5"
    """
    text = html.escape(one_line(value, limit), quote=False)
    return text.replace("$", "&#36;").replace("%", "&#37;")

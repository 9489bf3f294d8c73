"""Hostile labels and the rules that tell whether a Markdown or Plotly text shows them as text.

Shared by ``tests/test_ui_text.py`` (the escaping functions, in a browser too) and
``tests/test_pages_hostile.py`` (every page on a store full of them).
"""

from __future__ import annotations

import re
import string

#: One construct each that Streamlit's Markdown or Plotly would turn into markup.
HOSTILE_LABELS: tuple[str, ...] = (
    "[x](http://evil.example/a)",
    "![i](http://evil.example/i.png)",
    "<img src=x onerror=alert(1)>",
    "<a href='http://evil.example'>a</a>",
    "**bold** _em_ ~~gone~~",
    "$x^2$ and $$y$$",
    ":red[x] :blue-background[y] :small[z]",
    ":material/home: :streamlit: :smile:",
    "`code` and ``more``",
    "# Heading",
    "| a | b |",
    "line one\nline two\r\n- item\n1. first",
    "> quote",
    "www.evil.example and x@evil.example",
    "http://evil.example/plain",
    "&lt;b&gt; &amp; &#60;",
    "a -> b <- c -- d",
    ":help[tip]",
    "[^1] footnote",
    "%{meta} 50%",
    "\\[escaped\\] back\\slash",
)

#: Text that must never reach a Markdown body unescaped (the raw constructs of HOSTILE_LABELS).
MARKDOWN_PAYLOADS: tuple[str, ...] = (
    "](http",
    "![",
    "<img",
    "<a ",
    "**bold**",
    "_em_",
    "~~gone~~",
    "$x^2$",
    "$$y$$",
    ":red[",
    ":blue-background[",
    ":small[",
    ":material/home:",
    ":streamlit:",
    ":smile:",
    "`code`",
    "# Heading",
    "| a |",
    "> quote",
    ":help[",
    "[^1]",
)
#: What a Markdown text must not hold once its escapes are resolved (remark plugins act there).
TEXT_PAYLOADS: tuple[str, ...] = (
    ":material/home:",
    ":material_home:",
    ":streamlit:",
    ":smile:",
    "http://evil",
    "www.evil",
    "@evil",
    " -> ",
    " <- ",
    " -- ",
)

_ESCAPE = re.compile("\\\\([" + re.escape(string.punctuation) + "])")
JOINER = "\u2060"


def resolved(markdown: str) -> str:
    """The text a CommonMark parser keeps from ``markdown`` after backslash escapes."""
    return _ESCAPE.sub(r"\1", markdown)


def readable(markdown: str) -> str:
    """What a reader sees: escapes resolved, word joiners dropped, white space collapsed."""
    return " ".join(resolved(markdown).replace(JOINER, "").split())


def one_line(label: str) -> str:
    """A hostile label as it should read once shown (line breaks read as spaces)."""
    return " ".join(label.split())


def markdown_problems(body: str) -> list[str]:
    """The raw Markdown constructs from HOSTILE_LABELS found in a Markdown source ``body``."""
    bare = _ESCAPE.sub("\x00", body)  # escaped characters are literal: only bare ones count
    found = [p for p in MARKDOWN_PAYLOADS if p in bare]
    text = resolved(body)
    found += [f"text:{p}" for p in TEXT_PAYLOADS if p in text]
    return found


def plotly_problems(spec: str) -> list[str]:
    """Raw HTML-like tags or TeX from HOSTILE_LABELS found in a Plotly figure's JSON."""
    return [p for p in ("<img", "<a ", "<a\\u0020", "$x^2$", "%{meta}") if p in spec]

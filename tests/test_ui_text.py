"""ui.text: labels escaped for Streamlit's Markdown and for Plotly render as their own text.

The unit tests check the escaped strings by CommonMark's rule (an escaped ASCII punctuation
character is literal text) and by the patterns Streamlit's remark plugins match after escapes
are resolved. ``test_streamlit_renders_escaped_labels_as_text`` renders every hostile label in
every kind of Markdown element in Debian's Chromium and reads the DOM back.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import string
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import HOSTILE_LABELS, markdown_problems, one_line, readable

from conftest import REPO
from ui import text

_PUNCT = set(string.punctuation)


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_every_ascii_punctuation_character_is_escaped(label: str) -> None:
    out = text.md(label)
    i = 0
    while i < len(out):
        if out[i] == "\\":
            assert i + 1 < len(out) and out[i + 1] in _PUNCT, (label, out, i)
            i += 2
            continue
        assert out[i] not in _PUNCT, (label, out, i)  # a bare one could start a construct
        i += 1


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_escaped_label_reads_as_itself_and_holds_no_construct(label: str) -> None:
    out = text.md(label)
    assert "\n" not in out and "\r" not in out  # one line: no heading, list, table or quote
    assert markdown_problems(out) == [], out
    assert readable(out) == one_line(label)


@pytest.mark.parametrize(
    ("label", "broken"),
    [
        (":material_home:", ":material_"),  # the icon plugin's own spelling, after escapes
        (":smile:", ":smile:"),
        (":streamlit:", ":streamlit:"),
        ("https://evil.example", "https://"),
        ("WWW.evil.example", "WWW."),
        ("me@evil.example", "@evil"),
        ("a -> b", "->"),
        ("a >= b", ">="),
    ],
)
def test_text_level_patterns_are_broken_by_a_word_joiner(label: str, broken: str) -> None:
    assert broken not in text.md(label).replace("\\", "")
    assert readable(text.md(label)) == label


def test_control_characters_and_separators_become_one_space() -> None:
    assert text.md("a\u2028b\x00c\x85d\te") == "a b c d e"
    assert text.one_line("a\r\n\r\n    b") == "a b"


def test_limit_cuts_before_escaping() -> None:
    out = text.md("[" * 50, limit=10)
    assert readable(out) == "[" * 9 + "…"


def test_none_is_empty() -> None:
    assert text.md(None) == "" and text.plotly(None) == ""


def test_plain_words_are_untouched() -> None:
    assert text.md("Kirkdale East") == "Kirkdale East"
    assert text.plotly("Kirkdale East") == "Kirkdale East"


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_plotly_text_has_no_tag_entity_tex_or_placeholder(label: str) -> None:
    out = text.plotly(label)
    assert "<" not in out and ">" not in out  # no tag of Plotly's HTML subset can start
    assert "$" not in out  # no MathJax
    assert "%" not in out  # no hover-template placeholder
    # every & starts one of the entities Plotly decodes back to the label's own character
    assert all(
        m in ("&lt;", "&gt;", "&amp;", "&#36;", "&#37;") for m in re.findall(r"&[^;]*;", out)
    )
    decoded = (
        out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#36;", "$")
        .replace("&#37;", "%")
        .replace("&amp;", "&")
    )
    assert decoded == one_line(label)


# --- in a browser ------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

_SCRIPT = """
import plotly.graph_objects as go
import streamlit as st
from ui.text import md, one_line, plotly

def figure(title):
    fig = go.Figure(go.Bar(x=[title], y=[1], name=title, hovertext=[title]))
    fig.update_layout(title={{"text": title}}, height=200, showlegend=True)
    return fig

LABELS = {labels!r}
for i, label in enumerate(LABELS):
    with st.container(key=f"case{{i}}"):
        st.markdown(md(label))
        st.caption(md(label))
        st.header(md(label), anchor=False)
        st.info(md(label))
        st.metric(md(label), md(label), delta=md(label))
        with st.expander(md(label)):
            st.write("inside")
        st.tabs([md(label)])
        st.button(md(label), key=f"b{{i}}")
        st.checkbox(md(label), key=f"c{{i}}")
        st.radio("Pick", [label], format_func=md, key=f"r{{i}}")
        st.table({{"label": [md(label)]}})
    with st.container(key=f"chart{{i}}"):
        st.plotly_chart(figure(plotly(label)), key=f"p{{i}}")
    with st.container(key=f"rawchart{{i}}"):
        st.plotly_chart(figure(label), key=f"q{{i}}")
    with st.container(key=f"raw{{i}}"):
        st.markdown(label)  # unescaped: shows what the escaping prevents
    with st.container(key=f"plain{{i}}"):
        st.selectbox("Pick", [label], format_func=one_line, key=f"s{{i}}")  # plain text
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("render")
    script = folder / "labels.py"
    script.write_text(textwrap.dedent(_SCRIPT.format(labels=HOSTILE_LABELS)))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
        ],  # fmt: skip
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            last = f".st-key-plain{len(HOSTILE_LABELS) - 1}"
            page.wait_for_selector(last, timeout=60_000)
            page.wait_for_timeout(3000)  # lazy plugins (KaTeX, emoji) load after the first paint
            yield page
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


#: Elements Markdown would create from a label (the widgets' own markup is excluded).
_MARKUP = (
    "[data-testid=stMarkdownContainer] a, [data-testid=stMarkdownContainer] img, "
    "[data-testid=stMarkdownContainer] strong, [data-testid=stMarkdownContainer] em, "
    "[data-testid=stMarkdownContainer] del, [data-testid=stMarkdownContainer] code, "
    "[data-testid=stMarkdownContainer] ul, [data-testid=stMarkdownContainer] ol, "
    "[data-testid=stMarkdownContainer] blockquote, [data-testid=stMarkdownContainer] table, "
    "[data-testid=stMarkdownContainer] .katex, [data-testid=stMarkdownContainer] span[role=img], "
    "[data-testid=stMarkdownContainer] span[style], [data-testid=stMarkdownContainer] h1, "
    "[data-testid=stMarkdownContainer] h3, [data-testid=stMarkdownContainer] sup, "
    "[data-testid=stMarkdownContainer] section, [data-testid=stCaptionContainer] a, "
    "[data-testid=stCaptionContainer] img, [data-testid=stCaptionContainer] strong, "
    "[data-testid=stCaptionContainer] span[role=img], [data-testid=stCaptionContainer] .katex"
)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(HOSTILE_LABELS)))
def test_streamlit_renders_escaped_labels_as_text(rendered: object, i: int) -> None:
    label = HOSTILE_LABELS[i]
    box = rendered.locator(f".st-key-case{i}")
    markup = box.locator(_MARKUP)
    assert markup.count() == 0, (label, markup.first.evaluate("e => e.outerHTML"))
    shown = [
        " ".join(t.replace("\u2060", "").split())
        for t in box.locator(
            "[data-testid=stMarkdownContainer], [data-testid=stCaptionContainer]"
        ).all_inner_texts()
    ]
    # markdown, caption, header, info, metric label/value/delta, expander, tab, button,
    # checkbox, radio option and table cell: each reads exactly as the label
    assert shown.count(one_line(label)) >= 12, (label, shown)
    select = rendered.locator(f".st-key-plain{i} [data-testid=stSelectbox]")
    plain = (
        select.inner_text() + " " + " ".join(i.input_value() for i in select.locator("input").all())
    )
    assert one_line(label) in " ".join(plain.split()), (label, plain)


#: Labels that Streamlit turns into markup or other text when they are not escaped.
UNESCAPED_CHANGES = (
    "[x](http://evil.example/a)",
    "![i](http://evil.example/i.png)",
    "**bold** _em_ ~~gone~~",
    "$x^2$ and $$y$$",
    ":red[x] :blue-background[y] :small[z]",
    ":material/home: :streamlit: :smile:",
    "`code` and ``more``",
    "# Heading",
    "> quote",
    "www.evil.example and x@evil.example",
    "http://evil.example/plain",
    "&lt;b&gt; &amp; &#60;",
    "a -> b <- c -- d",
)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("label", UNESCAPED_CHANGES)
def test_the_same_labels_unescaped_do_not_render_as_text(rendered: object, label: str) -> None:
    """The check above has teeth: without ui.text.md each of these is markup or other text."""
    box = rendered.locator(f".st-key-raw{HOSTILE_LABELS.index(label)}")
    text = " ".join(box.inner_text().split())
    assert box.locator(_MARKUP).count() > 0 or text != one_line(label), (label, text)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(HOSTILE_LABELS)))
def test_plotly_renders_escaped_labels_as_text(rendered: object, i: int) -> None:
    """Title, legend entry and tick label of a Plotly chart read as the label, with no link."""
    label = one_line(HOSTILE_LABELS[i])
    chart = rendered.locator(f".st-key-chart{i} .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    chart.locator(".gtitle").wait_for(timeout=30_000)
    assert chart.locator("svg a").count() == 0
    texts = [
        " ".join(t.split())
        for t in chart.locator(".gtitle, .legendtext, .xtick text").all_text_contents()
    ]
    assert texts.count(label) == 3, (label, texts)


@pytest.mark.e2e
@pytest.mark.slow
def test_plotly_unescaped_makes_a_live_link(rendered: object) -> None:
    """Without ui.text.plotly the <a href> label is a link in the chart's title."""
    i = HOSTILE_LABELS.index("<a href='http://evil.example'>a</a>")
    chart = rendered.locator(f".st-key-rawchart{i} .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    chart.locator(".gtitle").wait_for(timeout=30_000)
    assert chart.locator("svg a").count() > 0

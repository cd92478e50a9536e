"""http_api/static/markdown.js in Chromium, loaded into the board's own page (served by a
live server, its Content-Security-Policy and all): what agents and people write renders as
the Markdown they meant, and nothing in it becomes markup, script, an event handler, a
style or a navigation.

Every injection vector and construct also renders in a page whose policy is bypassed: the
renderer must be safe by itself, not because the CSP happens to stop what it let through.
The renderer runs in the page, whatever the store behind the server: these run on SQLite
only."""

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from http_api import Settings
from maestro_mcp.core.vocabulary import PROMPT_MAX
from tests.support.servers import LiveServer, live_server
from tests.support.stores import Databases

pytestmark = pytest.mark.only_store("sqlite")

# The renderer's whole vocabulary, stated here independently of the module: any other
# element or attribute in its output fails the test.
ALLOWED: dict[str, set[str]] = {
    **{tag: set() for tag in ("p", "br", "h3", "h4", "h5", "h6", "strong", "em", "pre")},
    **{tag: set() for tag in ("ul", "li", "blockquote", "hr")},
    "code": {"class"},
    "ol": {"start"},
    "a": {"href", "title", "rel", "target"},
}
LINK_SCHEMES = {"http", "https", "mailto"}
REL = "noopener noreferrer nofollow"
LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+-]+")
SENTINEL = "untouched"
# A job in the page that has not finished by then hangs: its test fails on Playwright's
# timeout. Generous, for a loaded machine; no test asserts how fast a render is.
HANG_MS = 60_000

# A job in the page, run off the evaluate call: a job that hangs leaves the page busy,
# wait_for_function's timeout fails the test, and the page is thrown away (an evaluate
# would wait for it for ever). "render" renders the text into a host element, waits for
# what the DOM could have set off (a fetch round trip, two frames) and describes the
# result: a text node as its string, an element as [tag, attributes, *children] (one
# outside the HTML namespace named namespace:tag). "census" renders the same way but
# counts elements by tag with the attributes each tag has, and other nodes (a huge tree
# is not worth shipping whole). "plain" returns plainText(text, max) of each pair.
START_JOB = """([job, argument]) => {
  window.__job = null;
  setTimeout(async () => {
    try {
      const { renderMarkdown, plainText } = await import("/assets/markdown.js");
      if (job === "plain") {
        window.__job = { excerpts: argument.map(([text, max]) => plainText(text, max)) };
        return;
      }
      let host = document.getElementById("markdown-under-test");
      if (host === null) {
        host = document.createElement("div");
        host.id = "markdown-under-test";
        document.body.append(host);
      }
      host.replaceChildren(renderMarkdown(argument));
      await fetch("/health");
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      const XHTML = "http://www.w3.org/1999/xhtml";
      const tagOf = (node) => node.namespaceURI === XHTML
        ? node.localName : `${node.namespaceURI}:${node.localName}`;
      const describe = (node) => {
        if (node.nodeType === Node.TEXT_NODE) return node.data;
        if (node.nodeType !== Node.ELEMENT_NODE) return ["#" + node.nodeName, {}];
        const attributes = Object.fromEntries([...node.attributes].map((a) => [a.name, a.value]));
        return [tagOf(node), attributes, ...[...node.childNodes].map(describe)];
      };
      const result = { text: host.textContent };
      if (job === "census") {
        result.tags = {};
        result.others = 0;
        const walker = document.createTreeWalker(host, NodeFilter.SHOW_ALL);
        for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
          if (node.nodeType === Node.TEXT_NODE) continue;
          if (node.nodeType !== Node.ELEMENT_NODE) {
            result.others += 1;
            continue;
          }
          const counted = (result.tags[tagOf(node)] ??= { count: 0, attributes: [] });
          counted.count += 1;
          for (const name of node.getAttributeNames()) {
            if (!counted.attributes.includes(name)) counted.attributes.push(name);
          }
        }
      } else {
        result.nodes = [...host.childNodes].map(describe);
      }
      window.__job = result;
    } catch (error) {
      window.__job = { error: String((error && error.stack) || error) };
    }
  });
}"""


class Sandbox:
    """A board page of the live server, for many tests: each checks what its own jobs set
    off (console errors, uncaught exceptions, dialogs, the sentinel). A job that hangs
    closes the page; the next test opens another."""

    def __init__(self, browser: Browser, server: LiveServer, *, bypass_csp: bool) -> None:
        self.browser = browser
        self.url = server.base_url + "/"
        self.bypass_csp = bypass_csp
        self.context: BrowserContext | None = None
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    @property
    def page(self) -> Page:
        if self.context is None:
            self.context = self.browser.new_context(bypass_csp=self.bypass_csp)
            page = self.context.new_page()
            page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: self.errors.append(str(e)))
            page.on("dialog", self._dialog)
            page.goto(self.url)
            expect(page.locator("#welcome")).to_be_visible()  # the board ran: no project yet
        return self.context.pages[0]

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None

    def begin(self) -> None:
        self.errors.clear()
        self.dialogs.clear()
        self.page.evaluate(f"window.__pwned = {SENTINEL!r}")

    def run(self, job: str, argument: Any) -> dict[str, Any]:
        self.page.evaluate(START_JOB, [job, argument])
        try:
            self.page.wait_for_function("() => window.__job !== null", timeout=HANG_MS)
        except PlaywrightTimeoutError:
            self.close()  # still busy: nothing more can be asked of it
            pytest.fail(f"the {job} job did not finish in {HANG_MS // 1000} s: it hangs")
        result: dict[str, Any] = self.page.evaluate("() => window.__job")
        assert "error" not in result, result.get("error")
        return result

    def render(self, text: str, *, census: bool = False) -> dict[str, Any]:
        return self.run("census" if census else "render", text)

    def end(self) -> None:
        if self.context is None:
            return  # a job hung, and failed the test
        assert self.page.evaluate("window.__pwned") == SENTINEL
        assert self.dialogs == []
        assert self.errors == []


@pytest.fixture(scope="module")
def board(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    location = databases.create(tmp_path_factory.mktemp("markdown"))
    with live_server(Settings(database=location, poll_interval=0.02)) as server:
        yield server
    databases.drop(location)


@pytest.fixture(scope="module")
def board_page(browser: Browser, board: LiveServer) -> Iterator[Sandbox]:
    """The board's page as served."""
    sandbox = Sandbox(browser, board, bypass_csp=False)
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def bypassed_page(browser: Browser, board: LiveServer) -> Iterator[Sandbox]:
    """The board's page with its Content-Security-Policy not enforced."""
    sandbox = Sandbox(browser, board, bypass_csp=True)
    yield sandbox
    sandbox.close()


def checked(sandbox: Sandbox) -> Iterator[Sandbox]:
    """``sandbox`` for one test: nothing may run, log an error or open a dialog."""
    sandbox.begin()
    yield sandbox
    sandbox.end()


@pytest.fixture(params=["board_page", "bypassed_page"])
def sandbox(request: pytest.FixtureRequest, board: LiveServer) -> Iterator[Sandbox]:
    """Each page in turn: the test runs in both. (It names ``board`` so that the store's
    parametrisation is known before the page is asked for by name.)"""
    yield from checked(request.getfixturevalue(request.param))


@pytest.fixture
def board_sandbox(board_page: Sandbox) -> Iterator[Sandbox]:
    """The board's page only: for what is about time, not about the policy."""
    yield from checked(board_page)


# --- what is safe -----------------------------------------------------------------------------


def unsafe(nodes: list[Any]) -> list[str]:
    """Everything in a described tree that is not in the renderer's vocabulary."""
    found: list[str] = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            continue
        tag, attributes, *children = node
        stack.extend(children)
        if tag not in ALLOWED:
            found.append(f"element <{tag}>")
            continue
        extra = set(attributes) - ALLOWED[tag]
        if extra:
            found.append(f"<{tag}> attributes {sorted(extra)}")
        if tag == "a":
            href = attributes.get("href", "")
            if urlsplit(href).scheme not in LINK_SCHEMES or href != href.strip():
                found.append(f"<a href={href!r}>")
            if attributes.get("rel") != REL or attributes.get("target") != "_blank":
                found.append(f"<a> rel/target {attributes}")
        if tag == "code" and not LANGUAGE_CLASS.fullmatch(attributes.get("class", "language-x")):
            found.append(f"<code class={attributes['class']!r}>")
        if tag == "ol" and "start" in attributes and not attributes["start"].isdigit():
            found.append(f"<ol start={attributes['start']!r}>")
    return found


PWN = "window.__pwned=1"
VECTORS: dict[str, str] = {
    "script tag": f"<script>{PWN}</script>",
    "script tag in a list": f"- <script>{PWN}</script>",
    "img onerror": f'<img src=x onerror="{PWN}">',
    "svg onload": f'<svg onload="{PWN}"><circle r="1"/></svg>',
    "math": f'<math><mtext><img src=x onerror="{PWN}"></mtext></math>',
    "iframe": f'<iframe src="javascript:{PWN}"></iframe>',
    "iframe srcdoc": f'<iframe srcdoc="<script>{PWN}</script>"></iframe>',
    "object and embed": '<object data="javascript:alert(1)"></object><embed src="x.swf">',
    "style element": "<style>*{display:none}</style>",
    "style attribute": '<p style="position:fixed;inset:0">cover</p>',
    "html comment": f"<!-- <script>{PWN}</script> -->",
    "raw anchor": f'<a href="javascript:{PWN}">click</a>',
    "raw form": '<form action="https://evil.example"><button>go</button></form>',
    "base and meta": '<base href="https://evil.example/"><meta http-equiv="refresh" content="0">',
    "javascript link": f"[click](javascript:{PWN})",
    "mixed-case scheme": f"[click](JaVaScRiPt:{PWN})",
    "tab inside the scheme": f"[click](java\tscript:{PWN})",
    "newline inside the scheme": f"[click](java\nscript:{PWN})",
    "control character first": f"[click](\x01javascript:{PWN})",
    "NUL inside the scheme": f"[click](java\x00script:{PWN})",
    "leading spaces": f"[click](   javascript:{PWN})",
    "leading newline": f"[click](\njavascript:{PWN})",
    "decimal entity": f"[click](&#106;avascript:{PWN})",
    "hex entity": f"[click](&#x6A;&#x61;vascript:{PWN})",
    "entity colon": f"[click](javascript&colon;{PWN})",
    "entity tab": f"[click](java&#9;script:{PWN})",
    "percent-encoded scheme": "[click](%6A%61vascript:alert(1))",
    "percent-encoded colon": "[click](javascript%3Aalert(1))",
    "backslash-escaped colon": f"[click](javascript\\:{PWN})",
    "angle destination": f"[click](<javascript:{PWN}>)",
    "fullwidth letters": "[click](\uff4aavascript:alert(1))",
    "data url": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data url mixed case": "[click](DaTa:text/html,<script>alert(1)</script>)",
    "vbscript": "[click](vbscript:msgbox(1))",
    "file url": "[click](file:///etc/passwd)",
    "javascript url with a host": "[click](javascript://example.com/%0Aalert(1))",
    "javascript autolink with a host": "<javascript://example.com/%0Aalert(1)>",
    "ftp url": "[click](ftp://example.com/file)",
    "protocol-relative": "[click](//evil.example/x)",
    "relative path": "[click](../../api/tokens)",
    "quote breaking out of href": f'[click](https://example.com/"onmouseover="{PWN})',
    "quote and space in href": f'[click](https://example.com/" onmouseover="{PWN}")',
    "link title with a quote": f'[click](https://example.com "x\\" onmouseover=\\"{PWN}")',
    "link title in single quotes": f"[click](https://example.com 'onclick={PWN}')",
    "link title with markup": '[click](https://example.com "<img src=x onerror=alert(1)>")',
    "markup as link text": f'[<img src=x onerror="{PWN}">](https://example.com)',
    "javascript autolink": f"<javascript:{PWN}>",
    "upper-case autolink": "<JAVASCRIPT:alert(1)>",
    "data autolink": "<data:text/html,<script>alert(1)</script>>",
    "bare javascript url": f"javascript:{PWN} and https://example.com/ok",
    "bare url with a quote": f'https://example.com/"><script>{PWN}</script>',
    "image with javascript src": f"![pic](javascript:{PWN})",
    "image with data src": "![pic](data:image/svg+xml,<svg onload=alert(1)>)",
    "image with quote in src": f'![pic](https://example.com/a.png" onerror="{PWN})',
    "image alt with markup": f'![<img src=x onerror="{PWN}">](https://example.com/a.png)',
    "image inside a link": "[![pic](javascript:alert(1))](javascript:alert(1))",
    "reference link": f"[click][1]\n\n[1]: javascript:{PWN}",
    "code fence info string": f'```js" onload="{PWN}\ncode\n```',
    "code fence class injection": "``` x onclick=alert(1)\ncode\n```",
    "numbered list start": "999999999. last\n",
    "entities of markup": f"&lt;script&gt;{PWN}&lt;/script&gt;",
}


@pytest.mark.parametrize("markdown", VECTORS.values(), ids=VECTORS.keys())
def test_nothing_in_the_text_becomes_markup_script_or_navigation(
    sandbox: Sandbox, markdown: str
) -> None:
    result = sandbox.render(markdown)
    assert unsafe(result["nodes"]) == []
    assert result["text"].strip() != ""  # it shows, as text


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
        ("[a **b**](data:text/html,x)", "[a b](data:text/html,x)"),
        ("<javascript:alert(1)>", "<javascript:alert(1)>"),
        ("![pic](javascript:alert(1))", "pic"),
    ],
)
def test_a_refused_link_shows_as_its_text(sandbox: Sandbox, markdown: str, shown: str) -> None:
    result = sandbox.render(markdown)
    assert result["text"] == shown
    assert all(node[0] != "a" for node in walk(result["nodes"]) if not isinstance(node, str))


def walk(nodes: list[Any]) -> Iterator[Any]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, str):
            stack.extend(node[2:])


# --- what renders -----------------------------------------------------------------------------


def h(tag: str, *children: Any, **attributes: str) -> list[Any]:
    return [tag, {name.rstrip("_"): value for name, value in attributes.items()}, *children]


def a(href: str, *children: Any, title: str | None = None) -> list[Any]:
    attributes = {"href": href, "rel": REL, "target": "_blank"}
    if title is not None:
        attributes["title"] = title
    return ["a", attributes, *children]


CODE = "def f(x):\n\treturn x  <b>&amp;</b> \\*not* `tick`\n\n  # indented   \n\"quotes\" 'é' 🎉"
CASES: dict[str, tuple[str, list[Any]]] = {
    "paragraphs and line breaks": (
        "First line\nsecond line\n\nNext paragraph",
        [h("p", "First line", h("br"), "second line"), h("p", "Next paragraph")],
    ),
    "hard breaks keep no marker": (
        "one  \ntwo\\\nthree",
        [h("p", "one", h("br"), "two", h("br"), "three")],
    ),
    "headings one level down": (
        "# One\n## Two\n### Three\n#### Four\n###### Six ##",
        [h("h3", "One"), h("h4", "Two"), h("h5", "Three"), h("h6", "Four"), h("h6", "Six")],
    ),
    "not a heading": ("#hashtag and ####### seven", [h("p", "#hashtag and ####### seven")]),
    "strong, emphasis, code": (
        "**bold** *it* _also_ `a < b && c`",
        [
            h(
                "p",
                h("strong", "bold"),
                " ",
                h("em", "it"),
                " ",
                h("em", "also"),
                " ",
                h("code", "a < b && c"),
            )
        ],
    ),
    "nested emphasis": (
        "***both*** and *a **b** c*",
        [
            h("p", h("em", h("strong", "both")), " and ", h("em", "a ", h("strong", "b"), " c")),
        ],
    ),
    "intraword underscores and lone stars": (
        "snake_case_name, 2 * 3 * 4, **unclosed",
        [h("p", "snake_case_name, 2 * 3 * 4, **unclosed")],
    ),
    "escapes": (
        "\\*not em\\* \\`not code\\` \\[not link\\]",
        [h("p", "*not em* `not code` [not link]")],
    ),
    "code span with backticks inside": ("``a `b` c``", [h("p", h("code", "a `b` c"))]),
    "fenced code, byte for byte": (
        f"```python\n{CODE}\n```",
        [h("pre", h("code", CODE, class_="language-python"))],
    ),
    "tilde fence, no language": (
        "~~~\n<script>x</script>\n~~~",
        [h("pre", h("code", "<script>x</script>"))],
    ),
    "fence info kept only when it is a word": (
        '```c++ extra words\nx\n```\n```"js"\ny\n```',
        [h("pre", h("code", "x", class_="language-c++")), h("pre", h("code", "y"))],
    ),
    "unclosed fence runs to the end": (
        "```\nopen\n\nstill code",
        [h("pre", h("code", "open\n\nstill code"))],
    ),
    "indented code": (
        "para\n\n    indented\n      more",
        [h("p", "para"), h("pre", h("code", "indented\n  more"))],
    ),
    "bullet list": (
        "- one\n- two\n* other list",
        [
            h("ul", h("li", "one"), h("li", "two")),
            h("ul", h("li", "other list")),
        ],
    ),
    "numbered list from 3": (
        "3. three\n4. four",
        [h("ol", h("li", "three"), h("li", "four"), start="3")],
    ),
    "nested lists": (
        "1. first\n   - a\n   - b\n2. second\n   1. deeper\n      - deepest",
        [
            h(
                "ol",
                h("li", "first", h("ul", h("li", "a"), h("li", "b"))),
                h("li", "second", h("ol", h("li", "deeper", h("ul", h("li", "deepest"))))),
            )
        ],
    ),
    "loose list": ("- one\n\n- two", [h("ul", h("li", h("p", "one")), h("li", h("p", "two")))]),
    "list item with code": (
        "- step:\n\n  ```sh\n  make test\n  ```",
        [
            h(
                "ul",
                h("li", h("p", "step:"), h("pre", h("code", "make test", class_="language-sh"))),
            ),
        ],
    ),
    "blockquote": (
        "> quoted **text**\n> > nested\n\nafter",
        [
            h(
                "blockquote",
                h("p", "quoted ", h("strong", "text")),
                h("blockquote", h("p", "nested")),
            ),
            h("p", "after"),
        ],
    ),
    "horizontal rules": ("a\n\n---\n* * *\n___", [h("p", "a"), h("hr"), h("hr"), h("hr")]),
    "links": (
        '[docs](https://example.com/a_(b)?q=1#top "The docs") and [mail](mailto:dev@example.com)',
        [
            h(
                "p",
                a("https://example.com/a_(b)?q=1#top", "docs", title="The docs"),
                " and ",
                a("mailto:dev@example.com", "mail"),
            )
        ],
    ),
    "link text with markup": (
        "[**bold** `code`](http://example.com)",
        [
            h("p", a("http://example.com/", h("strong", "bold"), " ", h("code", "code"))),
        ],
    ),
    "autolinks": (
        "See https://example.com/path?x=1. Or <https://example.com/b> or <dev@example.com> (https://example.com/c)",
        [
            h(
                "p",
                "See ",
                a("https://example.com/path?x=1", "https://example.com/path?x=1"),
                ". Or ",
                a("https://example.com/b", "https://example.com/b"),
                " or ",
                a("mailto:dev@example.com", "dev@example.com"),
                " (",
                a("https://example.com/c", "https://example.com/c"),
                ")",
            )
        ],
    ),
    "bare url inside link text is not a second link": (
        "[see https://a.example](https://b.example)",
        [h("p", a("https://b.example/", "see https://a.example"))],
    ),
    "images are links or text": (
        "![diagram](https://example.com/d.png) ![local](./d.png)",
        [h("p", a("https://example.com/d.png", "diagram"), " local")],
    ),
    "a link with no text shows its address": (
        "[](https://example.com)",
        [
            h("p", a("https://example.com/", "https://example.com")),
        ],
    ),
    "raw html is text": (
        '<b>bold</b> <a href="https://example.com">x</a> <!-- c -->',
        [
            h("p", '<b>bold</b> <a href="https://example.com">x</a> <!-- c -->'),
        ],
    ),
    "entities": (
        "&amp; &lt;b&gt; &#42;not em&#42; &copy; &unknown; &#0;",
        [
            h("p", "& <b> *not em* © &unknown; \ufffd"),
        ],
    ),
    "windows line endings": (
        "one\r\ntwo\r\n\r\n- a\r\n- b",
        [
            h("p", "one", h("br"), "two"),
            h("ul", h("li", "a"), h("li", "b")),
        ],
    ),
}


@pytest.mark.parametrize(("markdown", "expected"), CASES.values(), ids=CASES.keys())
def test_each_construct_renders_with_its_text_kept(
    sandbox: Sandbox, markdown: str, expected: list[Any]
) -> None:
    result = sandbox.render(markdown)
    assert result["nodes"] == expected
    assert unsafe(result["nodes"]) == []


def test_deep_emphasis_nests_so_far_then_shows_its_delimiters(sandbox: Sandbox) -> None:
    depth = 40
    result = sandbox.render("*" * depth + "x" + "*" * depth)
    nested, node = 0, result["nodes"][0]
    while not isinstance(node, str) and len(node) > 2 and node[0] in ("p", "em", "strong"):
        nested += node[0] != "p"
        node = node[2]
    assert 0 < nested < depth // 2
    assert result["text"] == "*" * 8 + "x" + "*" * 8  # 20 levels drawn, 16 as elements


def test_plain_text_is_one_line_without_markup(sandbox: Sandbox) -> None:
    text = (
        "# Login\n\nBuild **the form** with [a link](https://example.com) and `code`.\n\n"
        "- item <b>raw</b>\n\n```\nmake test\n```"
    )
    excerpts = sandbox.run(
        "plain", [[text, 200], [text, 20], ["word " * 100_000, 30], [None, 10], ["🎉" * 10, 4]]
    )["excerpts"]
    assert excerpts == [
        "Login Build the form with a link and code. item <b>raw</b> make test",
        "Login Build the for…",
        "word word word word word word…",
        "",
        "🎉…",  # never half a surrogate pair
    ]


# --- pathological input -----------------------------------------------------------------------

# Five times the longest text a task holds: a renderer that is quadratic anywhere takes
# minutes on these, not seconds, and fails on the timeout; a linear one, a second or two.
SIZE = 5 * PROMPT_MAX


def repeat(unit: str, size: int = SIZE) -> str:
    return unit * (size // len(unit))


def every_backtick_run(size: int = SIZE) -> str:
    runs, length, total = [], 1, 0
    while total < size:
        runs.append("`" * length)
        total += length + 1
        length += 1
    return " ".join(runs)


PATHOLOGICAL: dict[str, str] = {
    "stars": repeat("*"),
    "underscores": repeat("_"),
    "stars between letters": repeat("a*"),
    "star words": repeat("*a "),
    "nested stars": repeat("*", SIZE // 2) + "x" + repeat("*", SIZE // 2),
    "openers of every kind": repeat("**a _b ***c "),
    "brackets": repeat("["),
    "closing brackets": repeat("]"),
    "brackets then closers": repeat("[", SIZE // 2) + repeat("]", SIZE // 2),
    "bracket parens": repeat("[]("),
    "unclosed link tails": repeat("[a](b"),
    "unclosed titles": repeat('[a](https://x.example "'),
    "image openers": repeat("!["),
    "links among image openers": repeat("![", SIZE // 2)
    + repeat("[a](https://x.example)", SIZE // 2),
    "links among link openers": repeat("[", SIZE // 2)
    + repeat("[a](https://x.example)", SIZE // 2),
    "backticks": repeat("`"),
    "backtick runs of every length": every_backtick_run(),
    "alternating backtick runs": repeat("`a``"),
    "angle brackets": repeat("<"),
    "angle words": repeat("<a"),
    "ampersands": repeat("&#"),
    "backslashes": repeat("\\"),
    "url starts": repeat("(http://"),
    "spaces then text": " " * SIZE + "x",
    "heading of spaces": "# " + " " * SIZE + "x",
    "quote markers": repeat(">"),
    "quote markers on every line": repeat("> > > > > > > > > > x\n"),
    "list markers": repeat("- ") + "x",
    "10k list items": "- item\n" * 10_000,
    "10k numbered items": "1. item\n" * 10_000,
    "indented list staircase": "\n".join(" " * (2 * i) + "- x" for i in range(1000)),
    "fences": repeat("```\n"),
    "line breaks": repeat("a\n"),
}


@pytest.mark.parametrize("markdown", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_input_renders(board_sandbox: Sandbox, markdown: str) -> None:
    result = board_sandbox.render(markdown, census=True)
    assert result["tags"] != {}
    assert result["others"] == 0
    for tag, counted in result["tags"].items():
        assert tag in ALLOWED
        assert set(counted["attributes"]) <= ALLOWED[tag]


@pytest.mark.parametrize(
    "markdown",
    # After a word: alone on a line, stars are a thematic break and backticks a fence.
    [
        "x" + repeat("*"),
        "x" + repeat("_"),
        "x" + repeat("`"),
        repeat("["),
        repeat("[]("),
        repeat("<a"),
    ],
    ids=["stars", "underscores", "backticks", "brackets", "bracket parens", "angle words"],
)
def test_pathological_input_keeps_its_text(board_sandbox: Sandbox, markdown: str) -> None:
    assert board_sandbox.render(markdown, census=True)["text"] == markdown


def test_ten_thousand_items_are_ten_thousand_list_items(board_sandbox: Sandbox) -> None:
    result = board_sandbox.render("".join(f"- item {i}\n" for i in range(10_000)))
    [listing] = result["nodes"]
    assert listing[0] == "ul"
    assert listing[2:] == [["li", {}, f"item {i}"] for i in range(10_000)]

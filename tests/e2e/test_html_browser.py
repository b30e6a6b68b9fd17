"""End-to-end test of `rapport render --format html` in a real browser: the
page's visible text, as headless Chromium lays it out, holds session text
exactly as the therapist typed it (PRODUCT.md sections 5 and 9).

A session whose free text is full of Markdown, HTML, entities, backslashes and
scripts other than Latin is rendered to note.html and opened in Chromium
(browser.py drives it). Then:

- every value appears in document.body.innerText, with runs of whitespace
  compared as one space (HTML may lay spaces out; no other character may be
  lost or changed), and the lines of a multi-line value stay lines;
- the page has exactly the elements and attributes that the same session with
  plain words makes: nothing typed became a <script>, <b>, <a>, heading,
  quote, list or table;
- the page opened no dialog and made no network request.

The HTML is cmark-gfm's rendering of the Markdown note, so this is also the
check that the Markdown output means what was typed. The plain-text output is
checked for the same values at the end. Chromium is Debian's `chromium`
package (scripts/deps.sh); without it these tests fail, they do not skip.
"""

import json
import os
import re
import unittest

from browser import Browser
from harness import RapportTest

# The lines of one multi-line value, each a way that typed text could turn
# into markup or be mangled on the way to the page.
LINES = [
    "# not a heading",
    "> not a quote",
    "- [ ] not a task",
    "1. not a numbered list",
    "< > & * _ # [ ] ~ | ! + = : { } ( )",
    "`code` ``two ticks`` ```fence```",
    "**bold** __bold__ *em* _em_ ~~struck~~",
    "<script>alert(1)</script> <b>x</b> <img src=\"http://127.0.0.1:9/i.png\"> <!-- c -->",
    "&amp; &lt; &#10; &#x41; &copy; &nbsp;",
    "[link](http://x) <http://x.example> https://example.com www.example.com a@example.com",
    "![image](http://127.0.0.1:9/i.png) [^1]",
    "[ref]: http://x",
    "| a | b |",
    "|---|---|",
    "'single' \"double\" C:\\path\\to\\file \\\\ \\* ends with a backslash \\",
    "emoji \U0001F600 \U0001F469\u200D\u2695\uFE0F \U0001F1FA\U0001F1E6 "
    "Arabic \u0645\u0631\u062D\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 "
    "Hebrew \u05E9\u05DC\u05D5\u05DD \u05E2\u05D5\u05DC\u05DD",
    "CJK \u4F60\u597D\u4E16\u754C \u65E5\u672C\u8A9E \uD55C\uAD6D\uC5B4 "
    "Devanagari \u0928\u092E\u0938\u094D\u0924\u0947 \u0926\u0941\u0928\u093F\u092F\u093E "
    "Cyrillic \u041F\u0440\u0438\u0432\u0435\u0442, \u043C\u0438\u0440",
    "---",
    "    four spaces first",
    "\ttabs\tbetween",
    "===",
]

# Every value the built-in SOAP layout shows, hostile. Values that start with
# a block marker test the very start of a value as well as a line start.
HOSTILE = {
    "client.id": "C-1042 | <b>x</b>",
    "client.initials": "J.D. *&* <i>",
    "clinician.name": "Dana \"Doc\" O'Brien | <b>x</b> \\ \\|",
    "clinician.credentials": "**LCSW** _x_ [y](z)",
    "subjective": "\n".join(LINES),
    "objective": "# heading at the very start of a value",
    "assessment": "> quote at the very start of a value <script>alert(2)</script>",
    "plan": "- [ ] task at the very start of a value\n1. and a second line\n---",
    "diagnosis": "[link](http://x) `code` <b>x</b> &amp;",
    "risk.notes": "# risk\n> quoted\n- [ ] t",
    "risk.safety_plan": "    four spaces first, then <a href=\"http://x\">a link</a>",
    "homework": ["# heading", "> quote", "- [ ] task", "1) one", "+ plus", "=== ",
                 "<b>x</b> **y**", "---"],
}


def plain(values):
    """The same session with plain words: the same fields, lines and items."""
    out = {}
    for key, value in values.items():
        if isinstance(value, list):
            out[key] = ["item %d" % i for i in range(len(value))]
        else:
            out[key] = "\n".join("words %d" % i for i in range(len(value.split("\n"))))
    return out


def quoted(text):
    # A JSON string is a YAML double-quoted scalar: any text on one line.
    return json.dumps(text, ensure_ascii=False)


def block(text, indent):
    # A literal block, as a therapist types a long value.
    pad = " " * indent
    return "|\n" + "".join(pad + line + "\n" for line in text.split("\n"))


def session(v):
    """PRODUCT.md's SOAP example, with the values in v."""
    return """type: soap
client:
  id: %s
  initials: %s
session: { date: 2026-11-24, number: 7, minutes: 50, modality: video }
clinician:
  name: %s
  credentials: %s
subjective: %sobjective: %s
assessment: %s
plan: %s
diagnoses:
  - code: F41.1
    label: %s
risk:
  level: high
  notes: %s  safety_plan: %s
homework:
%salliance:
  trust: 4
  empathy: { rating: 5, note: "said she felt understood" }
  collaboration: 3
  respect: 5
  authenticity: 4
  challenges:
    countertransference: { noticed: true, plan: bring to supervision }
measures:
  srs: [8.5, 9.0, 7.5, 8.0]
""" % (quoted(v["client.id"]), quoted(v["client.initials"]), quoted(v["clinician.name"]),
       quoted(v["clinician.credentials"]), block(v["subjective"], 2), quoted(v["objective"]),
       quoted(v["assessment"]), quoted(v["plan"]), quoted(v["diagnosis"]),
       block(v["risk.notes"], 4), quoted(v["risk.safety_plan"]),
       "".join("  - %s\n" % quoted(item) for item in v["homework"]))


def texts(values):
    """Every value, one string each (homework items separately)."""
    out = []
    for key, value in values.items():
        out += [(key, item) for item in value] if isinstance(value, list) else [(key, value)]
    return out


def squeeze(text):
    """Runs of HTML's whitespace as one space: what a browser may change."""
    return re.sub(r"[ \t\n\r\f]+", " ", text).strip()


# What the page holds, read in the page. The observer set up before the page
# loads records any load the page's Content-Security-Policy refused, which
# the network log never sees.
WATCH_CSP = ("window.__refused = [];"
             "document.addEventListener('securitypolicyviolation',"
             " e => window.__refused.push(e.violatedDirective + ' ' + e.blockedURI));")
FACTS = """(() => {
  const all = Array.from(document.querySelectorAll('*'));
  return {
    text: document.body.innerText,
    title: document.title,
    elements: all.map(e => [e.localName].concat(
        Array.from(e.attributes, a => a.name + '=' + a.value)).join(' ')),
    resources: performance.getEntriesByType('resource').map(e => e.name),
    refused: window.__refused || [],
  };
})()"""

# Elements that the SOAP layout never makes, so that any of them on the page
# came from typed text.
NEVER = ["script", "b", "i", "a", "img", "iframe", "object", "embed", "link", "blockquote",
         "pre", "code", "em", "del", "ol", "hr", "h3", "h4", "h5", "h6"]


class HtmlInABrowser(RapportTest):
    @classmethod
    def setUpClass(cls):
        # No name resolves, so even a broken page cannot reach past this machine.
        cls.browser = Browser(extra_args=["--host-resolver-rules=MAP * ~NOTFOUND"])

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()

    def open_note(self, values, name):
        """Renders the session with values to NAME.html, opens it in a new
        tab, and returns what the page holds, with the URLs it requested and
        the dialogs it opened."""
        self.write(name + ".yaml", session(values))
        r = self.rapport("render", "--format", "html", "-o", name + ".html", name + ".yaml")
        self.assertEqual((r.code, r.out, r.err), (0, "", ""), r)
        page = self.browser.new_page()
        try:
            page.call("Network.enable")
            page.call("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_CSP})
            url = "file://" + os.path.join(os.path.realpath(self.dir), name + ".html")
            page.goto(url)
            facts = page.evaluate(FACTS)
            facts["url"] = url
            facts["requests"] = [e["request"]["url"]
                                 for e in page.events("Network.requestWillBeSent")]
            facts["dialogs"] = page.events("Page.javascriptDialogOpening")
        finally:
            self.browser.call("Target.closeTarget", {"targetId": page.target})
        return facts

    def test_every_value_is_shown_as_typed(self):
        facts = self.open_note(HOSTILE, "note")
        visible = squeeze(facts["text"])
        for key, value in texts(HOSTILE):
            with self.subTest(field=key, value=value):
                self.assertIn(squeeze(value), visible)
        # Line by line too, so that a failure names the line.
        for line in LINES:
            with self.subTest(line=line):
                self.assertIn(squeeze(line), visible)
        for script in ("<script>alert(1)</script>", "<script>alert(2)</script>"):
            self.assertEqual(facts["text"].count(script), 1, script)
        self.assertEqual(facts["title"], "SOAP note")

    def test_the_lines_of_a_value_stay_lines(self):
        facts = self.open_note(HOSTILE, "note")
        shown = [squeeze(line) for line in facts["text"].split("\n")]
        for key in ("subjective", "plan", "risk.notes"):
            typed = [squeeze(line) for line in HOSTILE[key].split("\n")]
            with self.subTest(field=key):
                starts = [i for i in range(len(shown)) if shown[i:i + len(typed)] == typed]
                self.assertEqual(len(starts), 1, "%s not shown line for line in\n%s"
                                 % (key, facts["text"]))

    def test_no_typed_text_becomes_an_element(self):
        hostile = self.open_note(HOSTILE, "hostile")
        benign = self.open_note(plain(HOSTILE), "benign")
        self.assertEqual(hostile["elements"], benign["elements"])
        tags = [e.split(" ")[0] for e in hostile["elements"]]
        for tag in NEVER:
            self.assertEqual(tags.count(tag), 0, tag)
        self.assertEqual(tags.count("h1"), 1, tags)
        self.assertEqual(hostile["dialogs"], [])

    def test_the_page_requests_nothing(self):
        facts = self.open_note(HOSTILE, "note")
        # The only load is the note itself.
        self.assertEqual(facts["requests"], [facts["url"]])
        self.assertEqual(facts["resources"], [])
        self.assertEqual(facts["refused"], [])


class PlainText(RapportTest):
    # test_notes.py checks one line of such text; these are the values above,
    # line starts and all, and plain text keeps their lines and spaces.
    def test_every_value_is_written_as_typed(self):
        self.write("s.yaml", session(HOSTILE))
        r = self.rapport("render", "--format", "txt", "s.yaml")
        self.assertEqual((r.code, r.err), (0, ""), r)
        for key, value in texts(HOSTILE):
            with self.subTest(field=key, value=value):
                self.assertIn(value, r.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""A small headless-Chromium driver for the end-to-end tests, on the Python
standard library alone.

It speaks the Chrome DevTools Protocol over --remote-debugging-pipe: Chromium
reads commands from its fd 3 and writes replies and events to its fd 4, each
message one JSON object followed by a NUL byte. That needs no websocket
client and no free port.

    with Browser() as browser:
        page = browser.new_page()
        page.goto("file:///.../note.html")
        text = page.evaluate("document.body.innerText")
        page.wait_for("document.title == 'Updated'", timeout=10)

Every wait has a deadline, so a test fails with a message instead of hanging;
the timeouts are generous because a loaded two-core machine can take many
seconds to start a browser. Chromium comes from Debian's `chromium` package
(scripts/deps.sh installs it); $CHROMIUM names another binary.
"""

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

START_TIMEOUT = 30.0  # to start Chromium and hear its first reply
CALL_TIMEOUT = 30.0  # for one command's reply
CLOSE_TIMEOUT = 10.0  # for Chromium to exit once asked, before it is killed

# The flags every run uses. --no-sandbox because tests often run as root (in
# CI containers), where Chromium's sandbox refuses to start; the rest keep a
# test run from reaching the network or doing work nobody asked for.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]


class BrowserError(Exception):
    """Chromium failed to start or answer, or a command returned an error."""


class JavaScriptError(BrowserError):
    """An evaluated expression threw."""


def find_chromium():
    """The Chromium binary's path, or None: $CHROMIUM, /usr/bin/chromium, or
    `chromium` on PATH."""
    for path in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _high_fd(fd):
    """A close-on-exec copy of fd numbered 10 or above (fd itself is closed),
    so that moving two of them to 3 and 4 in the child cannot clobber one
    with the other."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """One headless Chromium in a fresh temporary folder, removed on close.

    extra_args are added to FLAGS; timeout bounds start-up."""

    def __init__(self, executable=None, extra_args=(), timeout=START_TIMEOUT):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("Chromium is not installed: run scripts/deps.sh as root "
                               "(it installs Debian's chromium package), or set CHROMIUM")
        self.events = []  # every event received, oldest first, as (method, params, session)
        self._replies = {}
        self._next_id = 0
        self._inbox = b""
        self._closed = False
        self.gone = False  # Chromium has exited (its end of the pipe closed)
        # The profile, and Chromium's home: it keeps crash reports and caches
        # under $HOME whatever --user-data-dir says, and a test must leave
        # nothing behind.
        self._home = tempfile.mkdtemp(prefix="rapport-chromium-")
        env = dict(os.environ, HOME=self._home,
                   XDG_CONFIG_HOME=os.path.join(self._home, ".config"),
                   XDG_CACHE_HOME=os.path.join(self._home, ".cache"))
        self._stderr = tempfile.TemporaryFile()
        # Commands go down one pipe (Chromium's fd 3), replies come up the
        # other (Chromium's fd 4).
        cmd_read, cmd_write = map(_high_fd, os.pipe())
        out_read, out_write = map(_high_fd, os.pipe())

        def in_child():
            # os.dup2 makes the new fds inheritable; the originals are close-on-exec.
            os.dup2(cmd_read, 3)
            os.dup2(out_write, 4)

        args = [self.executable] + FLAGS + list(extra_args) + [
            "--user-data-dir=" + os.path.join(self._home, "profile"), "about:blank"]
        try:
            # close_fds would close 3 and 4 again after in_child; every other
            # fd Python opens is close-on-exec anyway.
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=self._stderr, stderr=self._stderr,
                                         env=env, preexec_fn=in_child, close_fds=False)
        except BaseException:
            for fd in (cmd_read, cmd_write, out_read, out_write):
                os.close(fd)
            self._stderr.close()
            self._remove_home()
            raise
        # Only Chromium keeps its ends, so its exit shows here as end of file.
        os.close(cmd_read)
        os.close(out_write)
        self._write_fd, self._read_fd = cmd_write, out_read
        os.set_blocking(self._write_fd, False)
        try:
            self.version = self.call("Browser.getVersion", timeout=timeout)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the protocol -------------------------------------------------------

    def send(self, method, params=None, session=None, timeout=CALL_TIMEOUT):
        """Sends a command without waiting for its reply; returns its id."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        deadline = time.monotonic() + timeout
        while data:
            if not select.select([], [self._write_fd], [], self._left(deadline, method))[1]:
                continue
            try:
                data = data[os.write(self._write_fd, data):]
            except BlockingIOError:
                continue
            except OSError as e:  # EPIPE: Chromium has gone
                raise BrowserError("Chromium stopped reading (%s)%s" % (e, self._last_words()))
        return self._next_id

    def call(self, method, params=None, session=None, timeout=CALL_TIMEOUT):
        """Sends a command and returns its result, raising BrowserError for
        an error reply or when no reply comes within timeout seconds."""
        deadline = time.monotonic() + timeout
        call_id = self.send(method, params, session, timeout)
        while call_id not in self._replies:
            self._receive(deadline, method)
        reply = self._replies.pop(call_id)
        if "error" in reply:
            raise BrowserError("%s: %s" % (method, reply["error"].get("message", reply["error"])))
        return reply.get("result", {})

    def wait_event(self, method, match=None, start=0, timeout=CALL_TIMEOUT):
        """The first event METHOD at or after index start of self.events for
        which match(params, session) holds, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.events):
                name, params, session = self.events[i]
                i += 1
                if name == method and (match is None or match(params, session)):
                    return params
            self._receive(deadline, method)

    def pump(self, seconds):
        """Reads whatever arrives in the next `seconds`: events keep being
        recorded (and dialogs answered) while a test waits."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._receive(deadline, "")
        except TimeoutError:
            pass

    def _left(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("Chromium did not answer %s in time%s" % (what, self._last_words()))
        return left

    def _receive(self, deadline, what):
        """Reads at least one message (or raises), and files each one."""
        while b"\0" not in self._inbox:
            if not select.select([self._read_fd], [], [], self._left(deadline, what))[0]:
                continue
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                self.gone = True
                raise BrowserError("Chromium exited (status %s) while waiting for %s%s"
                                   % (self.proc.poll(), what, self._last_words()))
            self._inbox += chunk
        *messages, self._inbox = self._inbox.split(b"\0")
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                session = message.get("sessionId")
                self.events.append((message["method"], message.get("params", {}), session))
                if message["method"] == "Page.javascriptDialogOpening":
                    # An open alert() blocks the page's scripts and our
                    # evaluations; dismiss it. The event stays recorded, so a
                    # test can still see that a dialog opened.
                    self.send("Page.handleJavaScriptDialog", {"accept": False}, session)

    def _last_words(self):
        """The end of Chromium's own output, for error messages."""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return "; Chromium said:\n" + "\n".join(text.splitlines()[-20:]) if text else ""

    # --- pages and shutting down --------------------------------------------

    def new_page(self):
        """A new tab, attached, with page events on."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        page.call("Page.enable")
        page.call("Page.setLifecycleEventsEnabled", {"enabled": True})
        return page

    def close(self):
        """Asks Chromium to exit, kills it if it does not in time, and removes
        its folder. Safe to call twice; never raises for a dead browser."""
        if self._closed:
            return
        self._closed = True
        if getattr(self, "proc", None) is not None:
            if self.proc.poll() is None:
                try:
                    self.call("Browser.close", timeout=CLOSE_TIMEOUT)
                except (BrowserError, TimeoutError, OSError):
                    pass  # it is killed below
                try:
                    self.proc.wait(timeout=CLOSE_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=CLOSE_TIMEOUT)
            os.close(self._write_fd)
            os.close(self._read_fd)
        self._stderr.close()
        self._remove_home()

    def _remove_home(self):
        shutil.rmtree(self._home, ignore_errors=True)


class Page:
    """One tab of a Browser: navigate it, and evaluate JavaScript in it."""

    def __init__(self, browser, target, session):
        self.browser = browser
        self.target = target
        self.session = session

    def call(self, method, params=None, timeout=CALL_TIMEOUT):
        """A command addressed to this page (Page.*, Runtime.*, Network.*)."""
        return self.browser.call(method, params, self.session, timeout)

    def events(self, method):
        """The params of every event METHOD this page has had so far."""
        return [params for name, params, session in self.browser.events
                if name == method and session == self.session]

    def goto(self, url, timeout=CALL_TIMEOUT):
        """Navigates to url (file://, http://127.0.0.1:PORT/...) and waits for
        its load event."""
        mark = len(self.browser.events)
        result = self.call("Page.navigate", {"url": url}, timeout)
        if result.get("errorText"):
            raise BrowserError("cannot open %s: %s" % (url, result["errorText"]))
        loader = result.get("loaderId")
        if loader is None:
            return  # a jump within the same document loads nothing
        self.browser.wait_event(
            "Page.lifecycleEvent", start=mark, timeout=timeout,
            match=lambda p, s: s == self.session and p.get("name") == "load"
            and p.get("loaderId") == loader)

    def evaluate(self, expression, timeout=CALL_TIMEOUT):
        """The value of a JavaScript expression (promises awaited), as JSON
        turns it into Python; undefined is None."""
        result = self.call("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True,
                            "awaitPromise": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise JavaScriptError("%s: %s" % (expression, description))
        return result["result"].get("value")

    def wait_for(self, expression, timeout=CALL_TIMEOUT, interval=0.1):
        """Evaluates expression every interval seconds until it is truthy and
        returns that value. Errors while the page is being replaced (a reload
        destroys the context an evaluation runs in) count as not yet."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("after %gs, still not true: %s (last: %r)"
                                   % (timeout, expression, last))
            try:
                last = self.evaluate(expression, timeout=left)
                if last:
                    return last
            except (BrowserError, TimeoutError) as e:
                if self.browser.gone:
                    raise
                last = e
            self.browser.pump(min(interval, max(0.0, deadline - time.monotonic())))

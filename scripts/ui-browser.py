#!/usr/bin/env python3
"""Drives a real headless Chromium through svcconf-server's review pages (used by UIBrowserTests).

    ui-browser.py CHROMIUM BASE_URL TOKEN_FILE OUT_JSON PATH...

Talks the DevTools protocol over --remote-debugging-pipe (fds 3 and 4; Python stdlib only, no
websocket library): opens BASE_URL/ui/login, types the token (read from TOKEN_FILE, never from argv)
into the sign-in form and submits it, as a user would; then loads every PATH in the same browser
(the session cookie goes along) and writes {"cookies", "documentCookie", "pages": {PATH: {"url",
"html"}}, "after": URL} to OUT_JSON. Every wait has a deadline; any failure is one line on stderr
and exit 1.
"""
import json, os, select, shutil, subprocess, sys, tempfile, time


def main():
    chromium, base, token_file, out_path, *paths = sys.argv[1:]
    token = open(token_file).read().strip()
    profile = tempfile.mkdtemp(prefix="svcconf-chromium-")
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def child_fds():
        os.dup2(to_chrome_r, 3)
        os.dup2(from_chrome_w, 4)

    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
         "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-background-networking", "--disable-sync",
         "--password-store=basic", "about:blank"],
        pass_fds=(3, 4), preexec_fn=child_fds,  # close_fds runs after preexec_fn: keep 3 and 4
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    buf = b""
    next_id = [0]
    events = []

    def send(method, params=None, session=None):
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(to_chrome_w, json.dumps(msg).encode() + b"\0")
        return next_id[0]

    def read_message(deadline):
        nonlocal buf
        while b"\0" not in buf:
            left = deadline - time.time()
            if left <= 0:
                raise RuntimeError("timed out waiting for Chromium")
            r, _, _ = select.select([from_chrome_r], [], [], left)
            if r:
                chunk = os.read(from_chrome_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                buf += chunk
        msg, buf = buf.split(b"\0", 1)
        return json.loads(msg)

    def call(method, params=None, session=None, timeout=30):
        i = send(method, params, session)
        deadline = time.time() + timeout
        while True:
            m = read_message(deadline)
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            events.append(m)

    def wait_event(name, session, timeout=30):
        deadline = time.time() + timeout
        while True:
            for k, m in enumerate(events):
                if m.get("method") == name and m.get("sessionId") == session:
                    del events[: k + 1]
                    return m
            events.append(read_message(deadline))

    def navigate(session, url):
        events.clear()
        r = call("Page.navigate", {"url": url}, session)
        if r.get("errorText"):
            raise RuntimeError(f"cannot load {url}: {r['errorText']}")
        wait_event("Page.loadEventFired", session)

    def evaluate(session, expr):
        r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        call("Page.enable", {}, session)
        call("Network.enable", {}, session)
        navigate(session, base + "/ui/login")
        # Type the token into the form and press the button (DevTools input, not a page script:
        # the page's CSP allows none).
        call("DOM.enable", {}, session)
        root = call("DOM.getDocument", {}, session)["root"]["nodeId"]
        field = call("DOM.querySelector", {"nodeId": root, "selector": "input#token"}, session)["nodeId"]
        if not field:
            raise RuntimeError("the sign-in page has no token field")
        call("DOM.focus", {"nodeId": field}, session)
        call("Input.insertText", {"text": token}, session)
        events.clear()
        evaluate(session, "document.querySelector('form[action=\"/ui/login\"] button[type=submit]').click(); true")
        wait_event("Page.loadEventFired", session)
        after = evaluate(session, "location.href")
        cookies = call("Network.getCookies", {"urls": [base + "/ui/"]}, session)["cookies"]
        for c in cookies:
            c.pop("value", None)  # the token: not written anywhere
        pages = {}
        document_cookie = None
        for p in paths:
            navigate(session, base + p)
            pages[p] = {"url": evaluate(session, "location.href"),
                        "html": evaluate(session, "document.documentElement.outerHTML")}
            document_cookie = evaluate(session, "document.cookie")
        json.dump({"after": after, "cookies": cookies, "documentCookie": document_cookie, "pages": pages},
                  open(out_path, "w"))
        try:
            call("Browser.close", timeout=10)
        except Exception:
            pass
    except Exception as e:
        print(f"ui-browser: error: {e}", file=sys.stderr)
        return 1
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

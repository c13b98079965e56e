#!/usr/bin/env python3
"""Checks the `airlock serve` page in a real headless Chromium, as a person would use it.

Loads URL (the pending-approvals page), waits for an Approve button, saves a screenshot,
clicks the button with real mouse events, waits for the page to say who approved, checks
that no script injected through model or tool output ran, and prints one JSON line.

Chromium is driven over the DevTools protocol on --remote-debugging-pipe (fd 3 in,
fd 4 out, NUL-terminated JSON), so no websocket library and no open debugging port.

    scripts/web-check.py http://127.0.0.1:7420/approvals --screenshot docs/serve-screenshot.png \
        [--after-url http://127.0.0.1:7420/runs/RUN --after-screenshot docs/serve-run.png]

Exit 0 when the click was answered, 1 otherwise, 2 when chromium is missing.
"""
import argparse, base64, json, os, shutil, subprocess, sys, tempfile, time


class Browser:
    def __init__(self, binary, width, height):
        self.profile = tempfile.mkdtemp(prefix="airlock-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def wire_fds():  # in the child: the pipe ends become fds 3 and 4 (copied first: they may be 3 or 4)
            reading, writing = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        args = [binary, "--headless=new", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
        self.process = subprocess.Popen(args, preexec_fn=wire_fds, close_fds=False,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, session=True, timeout=15):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            reply = self.read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        raise TimeoutError(method)

    def read(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, width, height):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        return None

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})
        return self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def screenshot(self, path):
        height = self.evaluate("Math.min(2400, document.documentElement.scrollHeight)")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": max(self.height, int(height)), "deviceScaleFactor": 1, "mobile": False})
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})

    def click(self, selector):
        box = self.evaluate(f"""(() => {{ const b = document.querySelector({json.dumps(selector)});
            if (!b) return null; b.scrollIntoView({{block: 'center'}}); const r = b.getBoundingClientRect();
            return {{x: r.x + r.width / 2, y: r.y + r.height / 2}}; }})()""")
        if not box:
            raise RuntimeError(f"nothing matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                    "button": "left", "clickCount": 1})

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=3)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--after-url")
    parser.add_argument("--after-screenshot")
    parser.add_argument("--decision", default="approve", choices=["approve", "approve_rule", "deny"])
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    options = parser.parse_args()
    if not options.chromium:
        print(json.dumps({"ok": False, "error": "chromium is not installed (apt-get install chromium)"}))
        return 2
    browser = Browser(options.chromium, options.width, options.height)
    browser.width, browser.height = options.width, options.height
    report = {"ok": False}
    try:
        browser.open(options.width, options.height)
        browser.navigate(options.url)
        button = f'.approval button[data-decision="{options.decision}"]:not([disabled])'
        if not browser.wait_for(f"!!document.querySelector({json.dumps(button)})"):
            raise RuntimeError("no pending approval with a button on the page: " +
                               str(browser.evaluate("document.body.innerText.slice(0, 400)")))
        report["call"] = browser.evaluate(f"document.querySelector({json.dumps(button)}).closest('.approval').dataset.call")
        report["run"] = browser.evaluate(f"document.querySelector({json.dumps(button)}).closest('.approval').dataset.run")
        browser.screenshot(options.screenshot)
        report["screenshot"] = options.screenshot
        browser.click(button)
        report["status"] = browser.wait_for(
            "(() => { const s = document.querySelector('.approval .status'); "
            "return s && /^(Approved|Denied|Failed)/.test(s.textContent) ? s.textContent : null; })()")
        # Anything a model or tool printed is text on this page; a script in it must not have run.
        report["injected_script_ran"] = browser.evaluate("window.pwned !== undefined")
        report["ok"] = bool(report["status"]) and report["status"].startswith(("Approved", "Denied")) \
            and not report["injected_script_ran"]
        if options.after_url and options.after_screenshot:
            time.sleep(1.0)
            browser.navigate(options.after_url)
            browser.wait_for("document.querySelectorAll('.entry').length > 0")
            report["after_injected_script_ran"] = browser.evaluate("window.pwned !== undefined")
            report["ok"] = report["ok"] and not report["after_injected_script_ran"]
            browser.screenshot(options.after_screenshot)
            report["after_screenshot"] = options.after_screenshot
    except Exception as error:  # reported, not raised: the caller reads one JSON line
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        browser.close()
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

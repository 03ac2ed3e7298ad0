"""How the browser tests start Debian's Chromium, shared by test_browser.py and
test_recovery_mail.py (a module of its own: importing either test module would skip the other
with it when no browser is installed)."""

CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-background-networking",  # no update checks or other calls home
    "--disable-component-update",
    "--no-first-run",
]
# Records every Content-Security-Policy violation of a page, whether or not it reaches the console.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""

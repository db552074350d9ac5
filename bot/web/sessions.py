"""The session cookie is rewritten only by requests that change the session, and by page loads.

Flask keeps the session in a signed cookie, and a permanent session (staff, web chat) is re-sent on every
response by default to slide its expiry. But a page's images, live refreshes and event stream run alongside
the staff member's own action: an image request that started before the action's POST and ends after it
would write back the session it read, without the flash the action just stored, and the message ("This
status needs a reason.") would never show. So subresource and background requests leave the cookie alone
unless they changed the session themselves; a page load still slides the expiry.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin


class ActionSafeSessionInterface(SecureCookieSessionInterface):
    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        page_load = request.headers.get("Sec-Fetch-Dest", "document") == "document" and not request.headers.get(
            "X-Live")
        return bool(session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"] and page_load)


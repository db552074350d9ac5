"""The staff agent inbox: login, conversations, cases, documents and admin pages under /inbox.

Everything here needs a logged-in staff member, and every form carries a CSRF token; what applicants
wrote is only ever rendered through Jinja's autoescaping. Importing the package registers every page on `bp`.
"""

from bot.web.inbox import actions, admin, auth, dashboard, payments, views  # noqa: F401  (routes register on import)
from bot.web.inbox.blueprint import bp

__all__ = ["bp"]

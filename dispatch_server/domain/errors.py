"""The two ways a command can be refused. The edges map them once: 409/404 over REST
(app.py), `conflict`/`not_found` error frames on the sockets."""


class Conflict(Exception):
    """The current state does not allow this command (an illegal transition)."""


class NotFound(LookupError):
    """No such incident, roll call or member."""

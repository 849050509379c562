"""What the sessions side raises when a user's request cannot be done."""


class SessionError(Exception):
    """Something the user asked for cannot be done; the message says why and the fix."""


class SessionNotFound(SessionError):
    pass

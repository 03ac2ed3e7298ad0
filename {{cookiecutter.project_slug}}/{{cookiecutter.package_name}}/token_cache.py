"""A bounded memory of access tokens whose signature and claims were already verified.

Verifying a JWT costs more than the rest of a protected request put together. A token is added
only after a full verification of that exact string, so a forged or altered token never hits.
A hit still checks the expiry and the kind; the caller still looks the user up, so disabling a
user takes effect at once. There is no `await` in here, so requests cannot interleave inside it.
"""

import time
from collections.abc import Callable

from .tokens import ACCESS, AccessClaims, InvalidToken


class VerifiedTokenCache:
    def __init__(self, verify: Callable[[str], AccessClaims], max_entries: int = 10_000) -> None:
        self._verify = verify
        self._max_entries = max_entries
        self._claims: dict[str, AccessClaims] = {}

    def verify(self, token: str) -> AccessClaims:
        """The token's claims, verified now or before; raises InvalidToken like the verifier."""
        claims = self._claims.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._claims) >= self._max_entries:
                self._claims.pop(next(iter(self._claims)))  # the oldest entry
            self._claims[token] = claims
        elif claims.exp <= time.time() or claims.type != ACCESS:
            del self._claims[token]
            raise InvalidToken("expired")
        return claims

    def __len__(self) -> int:
        return len(self._claims)

"""The LiteLLM master key (Secrets Manager): an admin credential for the platform's own callers (RAG, the local
stack's bootstrap).

One cache (core.secrets.SecretReader) with two faces: `matches` for the event loop (the authenticator) and
`candidates` for threads (the RAG client, which sends it). Read once and kept, unless a TTL is given.
"""

from __future__ import annotations

import hmac

from core.secrets import SecretReader, SecretUnavailable

RETRY_S = 10.0  # while the secret cannot be read at all, try again this often


class MasterKey:
    def __init__(self, secret_id: str, *, ttl_s: float = float("inf"), grace_s: float = 0.0,
                 reader: SecretReader | None = None) -> None:
        self.secret_id = secret_id
        self.ttl_s = ttl_s
        self._reader = reader or SecretReader(ttl_s, grace_s=grace_s, retry_s=min(RETRY_S, ttl_s))

    async def match(self, credential: str) -> int | None:
        """0 when the credential is the current key, 1 when it is the previous one (within the grace), else None."""
        try:
            accepted = await self._reader.avalues(self.secret_id)
        except SecretUnavailable:
            return None  # only the master key stops working
        given = credential.encode()
        found = [hmac.compare_digest(given, value.encode()) for value in accepted]  # each compared, in constant time
        return found.index(True) if True in found else None

    async def matches(self, credential: str) -> bool:
        return await self.match(credential) is not None

    def candidates(self) -> tuple[str, ...]:
        """What a sender may present, best first: the current value, then (within the grace) the previous one,
        which a peer that has not re-read the secret yet still expects. SecretUnavailable when unreadable."""
        current = self._reader.get(self.secret_id)
        previous = self._reader.previous(self.secret_id)
        return (current, previous) if previous is not None else (current,)

    async def load(self) -> None:
        """Warm the cache (optional: the first caller would otherwise wait for the read)."""
        try:
            await self._reader.aget(self.secret_id)
        except SecretUnavailable:
            pass

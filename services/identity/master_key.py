"""The LiteLLM master key (Secrets Manager): an admin credential for the platform's own callers (RAG, the local
stack's bootstrap).

One TTL cache (core.secrets.SecretReader) with two faces: `matches` for the event loop (the authenticator) and
`candidates` for threads (the RAG client, which sends it). The key is re-read every `ttl_s`, so a rotation reaches
every process within the TTL; the previous value stays accepted for `grace_s` after a process sees the new one, so
processes that have not re-read yet keep talking to each other, and a leaked old key stops working within
TTL + grace. Keep the grace above the TTL: a peer may go on sending the old key until its own next read.
"""

from __future__ import annotations

import hmac

from core.secrets import SecretReader, SecretUnavailable

RETRY_S = 10.0  # while the secret cannot be read at all, try again this often


class MasterKey:
    def __init__(self, secret_id: str, *, ttl_s: float = 30.0, grace_s: float = 40.0,
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

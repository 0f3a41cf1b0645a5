"""Who is calling, for both apps (serve and the api): principals, credentials, IdP JWTs, API tokens, the master key.

- `principal`: the `Principal` every check works with;
- `credentials`: the one credential a request carries (Authorization: Bearer or Api-Key);
- `claims` and `jwks`: IdP JWTs verified against the authority's JWKS;
- `tokens`: API tokens, stored only as their SHA-256 (and the token CLI: `python -m services.identity.tokens`);
- `master_key`: the LiteLLM master key, re-read on a TTL (rotation) with a short grace for the previous value;
- `authenticator`: credential → principal, with bounded caches; `dependencies`: the FastAPI dependencies.
Nothing here imports serve or the api: serve injects its on-loop token reader into the `Authenticator`.
"""

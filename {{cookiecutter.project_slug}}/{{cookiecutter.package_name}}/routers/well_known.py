"""What other services and OAuth2 clients read to check tokens without sharing a secret: the
public signing keys (RFC 7517) and the authorization server metadata (RFC 8414)."""

import msgspec
from FasterAPI import FasterRouter, JSONResponse, Request

from .. import tokens
from ..models import KeySet, PublicKey, ServerMetadata
from ..openapi import TOKEN_URL, body
from ..scopes import SCOPES
from ..settings import settings

router = FasterRouter(prefix="/.well-known", tags=["keys"])

JWKS_PATH = "/.well-known/jwks.json"
# Verifiers keep the keys this long; they fetch again at once when a token names a kid they
# lack, so a new key needs no wait (keys are added before they sign: README "Signing keys").
CACHE = {"Cache-Control": "public, max-age=300"}


@router.get("/jwks.json", responses={200: body(KeySet, "The public keys that verify access tokens")})
async def jwks() -> JSONResponse:
    keys = [msgspec.convert(key, PublicKey) for key in tokens.key_rings().published()]
    return JSONResponse(KeySet(keys=keys), headers=CACHE)


def base_url(request: Request) -> str:
    """TOKEN_ISSUER when it is a URL (the name the service goes by behind a proxy); otherwise
    the address this request came to."""
    if settings.token_issuer.startswith(("https://", "http://")):
        return settings.token_issuer.rstrip("/")
    scheme = request._scope.get("scheme", "http")  # the framework's Request has no public accessor
    return f"{scheme}://{request.headers.get('host', f'{settings.host}:{settings.port}')}"


@router.get("/oauth-authorization-server", responses={200: body(ServerMetadata, "RFC 8414 metadata")})
async def metadata(request: Request) -> JSONResponse:
    base = base_url(request)
    document = ServerMetadata(
        issuer=settings.token_issuer or base,  # the `iss` of every token, when TOKEN_ISSUER is set
        token_endpoint=base + TOKEN_URL,
        jwks_uri=base + JWKS_PATH,
        scopes_supported=list(SCOPES),
        # The token endpoint takes passwords only: refreshing is POST /auth/refresh, with the cookie.
        grant_types_supported=["password"],
        # Public clients: no client secret (the refresh token travels in its own cookie).
        token_endpoint_auth_methods_supported=["none"],
        # No authorization endpoint, so no response_type either: required, hence empty.
        response_types_supported=[],
    )
    return JSONResponse(document, headers=CACHE)

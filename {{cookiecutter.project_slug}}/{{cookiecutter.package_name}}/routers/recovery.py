"""Password reset and e-mail verification over mailed links: HTTP only (the rules are
recovery.py's). Also serves the two small pages the links open, with their script as a file of
its own (the CSP allows no inline script)."""

from importlib.resources import files

from FasterAPI import Depends, Faster, FasterRouter, HTTPException, Request, Response

from .. import client_address, recovery
from ..backend import user_store
from ..dependencies import invalid_field, require_allowed_origin, require_scopes
from ..docs import answer_with
from ..models import Accepted, EmailConfirmation, PasswordReset, ProfileChanges, RecoveryRequest, User
from ..openapi import BAD_ORIGIN, DATABASE_DOWN, INVALID_BODY, OVERLOADED, THROTTLED, TOO_LARGE, body, error
from ..passwords import WeakPassword

LINK_REFUSED = "This link does not work (any more): ask for a new one"
router = FasterRouter(tags=["recovery"])
same_site_only = [Depends(require_allowed_origin)]
BAD_TOKEN = error("The link is unknown, used, expired or voided by a newer one: ask for a new link")
# What the confirmation of a mailed link (either kind) may be refused with.
LINK_REFUSALS = {400: BAD_TOKEN, 403: BAD_ORIGIN, 413: TOO_LARGE, 422: INVALID_BODY}
PAGES = files(__package__.rpartition(".")[0]) / "pages"


@router.post(
    "/auth/password-reset",
    status_code=202,
    dependencies=same_site_only,
    responses={
        202: body(Accepted, "The same answer whether or not the address is anyone's"),
        403: BAD_ORIGIN,
        413: TOO_LARGE,
        422: INVALID_BODY,
        429: THROTTLED,
        **DATABASE_DOWN,
    },
)
async def request_password_reset(request: Request, asked: RecoveryRequest) -> Response:
    """Mails a reset link (PASSWORD_RESET_MINUTES) to the enabled user of that address, if any.
    The address is looked up after this answer, so neither it nor its timing tells."""
    await recovery.admit_request("reset", asked.email, client_address.of_request(request))
    recovery.after_answer(recovery.request_reset(asked.email))
    return Response(ACCEPTED, 202, media_type="application/json")


@router.post(
    "/auth/password-reset/confirm",
    status_code=204,
    dependencies=same_site_only,
    responses={
        204: {"description": "Password set: every session of the user ended (log in again)"},
        **LINK_REFUSALS,
        503: OVERLOADED,
    },
)
async def confirm_password_reset(reset: PasswordReset) -> Response:
    try:
        await recovery.reset_password(reset.token, reset.new_password)
    except WeakPassword as exc:
        raise invalid_field("new_password", str(exc), exc.rule) from None
    except recovery.TokenRefused:
        raise HTTPException(400, LINK_REFUSED) from None
    return Response(status_code=204)


@router.post(
    "/auth/verify-email",
    status_code=202,
    responses={
        202: body(Accepted, "A new link is on its way (unless the address is verified or had its mails this hour)"),
        409: error("The account has no e-mail address"),
    },
)
async def send_verification(current_user: User = Depends(require_scopes("me"))) -> Response:
    user = await user_store.get(current_user.username)
    if user is None or not user.email:
        raise HTTPException(409, "The account has no e-mail address: set one with PATCH /users/me")
    await recovery.send_verification(user)
    return Response(VERIFICATION_SENT, 202, media_type="application/json")


@router.post(
    "/auth/verify-email/confirm",
    status_code=204,
    dependencies=same_site_only,
    responses={
        204: {"description": "The address is verified"},
        **LINK_REFUSALS,
        **DATABASE_DOWN,
    },
)
async def confirm_email(confirmation: EmailConfirmation) -> Response:
    try:
        await recovery.verify_email(confirmation.token)
    except recovery.TokenRefused:
        raise HTTPException(400, LINK_REFUSED) from None
    return Response(status_code=204)


@router.patch(
    "/users/me",
    responses={
        200: body(User, "Changed; a verification link goes to the new address"),
        413: TOO_LARGE,
        422: INVALID_BODY,
    },
)
async def update_me(*, current_user: User = Depends(require_scopes("me")), changes: ProfileChanges) -> User:
    """A new e-mail address is unverified until its user follows the link mailed to it."""
    user = await user_store.get(current_user.username)
    if user is None:
        raise HTTPException(404, "Not Found")
    return (await recovery.change_email(user, changes.email)).public()


ACCEPTED = b'{"detail":"If an account has that address, a link to reset its password is on its way"}'
VERIFICATION_SENT = b'{"detail":"If the address is not verified yet, a link to confirm it is on its way"}'
PAGE_FILES = {
    "/reset-password": ("reset-password.html", "text/html; charset=utf-8"),
    "/verify-email": ("verify-email.html", "text/html; charset=utf-8"),
    "/recovery.js": ("recovery.js", "text/javascript; charset=utf-8"),
}


def add_page_routes(app: Faster) -> None:
    """The pages the mailed links open. Added after the OpenAPI document is made: they are pages
    for people, not API (as /docs is not)."""
    for path, (file_name, media_type) in PAGE_FILES.items():
        page = Response((PAGES / file_name).read_bytes(), 200, media_type=media_type)
        app.get(path, tags=["pages"])(answer_with(page))

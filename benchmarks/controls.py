"""Two control apps that show what the server and the framework cost before any auth runs.

- `bare`: an ASGI function that answers every request with a constant JSON body. Its req/s is
  the most the server can give any app on this machine.
- `no_op_dependency`: the baked service plus one route whose dependency checks nothing and
  returns a constant user. Its req/s against `/health` is what the framework's dependency
  injection costs on its own, the floor of any `Depends(get_current_user)` route.

The measured service itself is served unmodified from another process; these only give context.
"""

from FasterAPI import Depends, Request
from my_service.main import app as no_op_dependency
from my_service.models import User

ALICE = User(username="alice", email="alice@example.com")
START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
BODY = {"type": "http.response.body", "body": b'{"status":"ok"}'}


async def bare(scope: dict, receive, send) -> None:
    if scope["type"] == "http":
        await send(START)
        await send(BODY)


class ChecksNothing:
    """Shaped as the dependency require_scopes makes: a class whose `from_request` the framework
    calls with the request (its cheapest kind of dependency)."""

    @staticmethod
    async def from_request(request: Request) -> User:
        return ALICE


@no_op_dependency.get("/bench/no-op-dependency")
async def read_constant_user(current_user: User = Depends(ChecksNothing)) -> User:
    return current_user

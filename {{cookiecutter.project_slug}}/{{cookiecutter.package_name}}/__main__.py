"""`python -m {{ cookiecutter.package_name }}`: serve the app on HOST:PORT (127.0.0.1:8000 unless set)."""

import uvicorn

from .settings import settings


def main() -> None:
    uvicorn.run(f"{__package__}.main:app", host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()

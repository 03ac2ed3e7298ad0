"""The FastAPI peer with PostgreSQL, written the way the full-stack FastAPI template's backend
writes it (backend/app/api/deps.py): a synchronous SQLAlchemy session per request from a
`get_db` dependency, the token decoded on every request, and the user loaded from the database
on every request (`session.get` there; a lookup by username here, the token's `sub`). psycopg 3
is its driver, as there. It reads the `users` table the baked service's migrations create.

Its token checks equal the template's: HS256 only (a list), exp/iat/sub/jti required, the
`type` claim must be "access", the user must exist and be enabled. No cache.
Serve: SECRET_KEY=... DATABASE_URL=postgresql+psycopg://... uvicorn app_postgres:app
"""

import os
from collections.abc import Generator
from typing import Annotated

# The models, token creation and token checks of the tutorial-style peer, unchanged.
from app import Token, User, UserInDB, check_password, credentials_exception, token_for, username_from
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session

# One connection per thread of FastAPI's pool (40) for sync routes and dependencies. With
# SQLAlchemy's default 5 + 10, wrk's 64 connections stall it: threads wait for a connection that
# only another thread can give back (measured here: 14 req/s, and none at all in some 2 s runs).
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True, pool_size=40, max_overflow=0)
users = Table(
    "users",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("username", String),
    Column("email", String),
    Column("hashed_password", String),
    Column("disabled", Boolean),
)


def get_db() -> Generator[Session, None, None]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
reusable_oauth2 = OAuth2PasswordBearer(tokenUrl="auth/token")
TokenDep = Annotated[str, Depends(reusable_oauth2)]
app = FastAPI()


def get_user(session: Session, username: str) -> UserInDB | None:
    row = session.execute(select(users).where(users.c.username == username)).first()
    return UserInDB(**row._mapping) if row else None


def get_current_user(session: SessionDep, token: TokenDep) -> UserInDB:
    user = get_user(session, username_from(token))
    if user is None:
        raise credentials_exception
    if user.disabled:
        raise HTTPException(status_code=400, detail="Inactive user")
    return user


CurrentUser = Annotated[UserInDB, Depends(get_current_user)]


@app.post("/auth/token")
def login_for_access_token(session: SessionDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    return token_for(check_password(get_user(session, form_data.username), form_data.password))


@app.get("/users/me", response_model=User)
def read_users_me(current_user: CurrentUser) -> User:
    return current_user


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}

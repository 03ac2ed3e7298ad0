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
import secrets
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from jose import JWTError, jwt
from passlib.context import CryptContext
from pydantic import BaseModel
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session

SECRET_KEY = os.environ["SECRET_KEY"]
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30
REQUIRED = {"require_exp": True, "require_iat": True, "require_sub": True, "require_jti": True}

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
pwd_context = CryptContext(schemes=["bcrypt_sha256", "bcrypt"], deprecated="auto")


class Token(BaseModel):
    access_token: str
    token_type: str


class User(BaseModel):
    username: str
    email: str | None = None
    disabled: bool = False


class UserInDB(User):
    hashed_password: str


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


def create_access_token(username: str) -> str:
    now = datetime.now(UTC)
    expire = now + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES)
    claims = {"sub": username, "type": "access", "iat": now, "exp": expire, "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM)


def get_current_user(session: SessionDep, token: TokenDep) -> UserInDB:
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM], options=REQUIRED)
    except JWTError:
        raise credentials_exception from None
    username = payload.get("sub")
    if not isinstance(username, str) or payload.get("type") != "access":
        raise credentials_exception
    user = get_user(session, username)
    if user is None:
        raise credentials_exception
    if user.disabled:
        raise HTTPException(status_code=400, detail="Inactive user")
    return user


CurrentUser = Annotated[UserInDB, Depends(get_current_user)]


@app.post("/auth/token")
def login_for_access_token(session: SessionDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    user = get_user(session, form_data.username)
    if user is None:
        pwd_context.dummy_verify()
    if user is None or not pwd_context.verify(form_data.password, user.hashed_password) or user.disabled:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Token(access_token=create_access_token(user.username), token_type="bearer")


@app.get("/users/me", response_model=User)
def read_users_me(current_user: CurrentUser) -> User:
    return current_user


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}

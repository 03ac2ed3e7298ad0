"""The same service written the way FastAPI's security tutorial writes it ("OAuth2 with Password
(and hashing), Bearer with JWT tokens"): FastAPI + pydantic + OAuth2PasswordBearer, python-jose,
passlib (libpass) + bcrypt, a fake user DB. It is the benchmark's baseline, not a product.

Its token checks equal the template's: HS256 only (a list), exp/iat/sub/jti required, the `type`
claim must be "access", the user must exist and be enabled. No cache: every request re-verifies.
Serve: SECRET_KEY=... uvicorn app:app (from this folder).
"""

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from jose import JWTError, jwt
from passlib.context import CryptContext
from pydantic import BaseModel

SECRET_KEY = os.environ["SECRET_KEY"]
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30
REQUIRED = {"require_exp": True, "require_iat": True, "require_sub": True, "require_jti": True}

pwd_context = CryptContext(schemes=["bcrypt_sha256", "bcrypt"], deprecated="auto")

fake_users_db = {
    "alice": {
        "username": "alice",
        "email": "alice@example.com",
        "hashed_password": "$bcrypt-sha256$v=2,t=2b,r=12$qQOurd9Ti6ly9QqIhjOTke$dJdMoOsDuJNY/YNO7qPgPYywq1c.NNS",
        "disabled": False,
    }
}


class Token(BaseModel):
    access_token: str
    token_type: str


class User(BaseModel):
    username: str
    email: str | None = None
    disabled: bool = False


class UserInDB(User):
    hashed_password: str


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token")
app = FastAPI()


def get_user(db: dict, username: str) -> UserInDB | None:
    if username in db:
        return UserInDB(**db[username])
    return None


def authenticate_user(db: dict, username: str, password: str) -> UserInDB | None:
    return check_password(get_user(db, username), password)


def check_password(user: UserInDB | None, password: str) -> UserInDB | None:
    if not user:
        pwd_context.dummy_verify()
        return None
    if not pwd_context.verify(password, user.hashed_password):
        return None
    return user


def token_for(user: UserInDB | None) -> Token:
    if not user or user.disabled:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Token(access_token=create_access_token(user.username), token_type="bearer")


def create_access_token(username: str) -> str:
    now = datetime.now(UTC)
    expire = now + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES)
    claims = {"sub": username, "type": "access", "iat": now, "exp": expire, "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM)


credentials_exception = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Could not validate credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


def username_from(token: str) -> str:
    """The `sub` of a valid access token (the tutorial's checks, plus the template's)."""
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM], options=REQUIRED)
    except JWTError:
        raise credentials_exception from None
    username = payload.get("sub")
    if not isinstance(username, str) or payload.get("type") != "access":
        raise credentials_exception
    return username


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> UserInDB:
    user = get_user(fake_users_db, username_from(token))
    if user is None:
        raise credentials_exception
    return user


async def get_current_active_user(current_user: Annotated[User, Depends(get_current_user)]) -> User:
    if current_user.disabled:
        raise HTTPException(status_code=400, detail="Inactive user")
    return current_user


@app.post("/auth/token")
async def login_for_access_token(form_data: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    return token_for(authenticate_user(fake_users_db, form_data.username, form_data.password))


@app.get("/users/me", response_model=User)
async def read_users_me(current_user: Annotated[User, Depends(get_current_active_user)]) -> User:
    return current_user


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}

"""``/tokens``: create, list and revoke API tokens (the ``admin`` role only)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import JSONBody, PathParameter
from msgspec import Meta

from incidents.http.auth import tokens_of
from incidents.http.problems import BadRequestError, problem_spec
from incidents.tokens import TOKEN_NAME_PATTERN, Role, TokenError, TokenRecord

_ADMIN = {"role": "admin"}


_ADMIN_PROBLEMS = {
    401: problem_spec("No token, or a token that is unknown, revoked or malformed"),
    403: problem_spec("The token's role is not admin"),
    429: problem_spec("Too many invalid tokens from this address"),
}


class TokenIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /tokens``: the role, and a name (the ``actor`` of its appends)."""

    role: Role
    name: Annotated[str, Meta(pattern=f"^{TOKEN_NAME_PATTERN}$", max_length=64)] | None = None


class TokenOut(msgspec.Struct, frozen=True):
    """A new token: ``token`` is shown this once; only its hash is stored."""

    token: str
    token_id: str
    name: str
    role: Role
    created_at: str


class TokensOut(msgspec.Struct, frozen=True):
    """Every token, revoked ones too, without their secrets."""

    tokens: list[TokenRecord]


class TokenController(Controller):
    """Token management; every route needs the ``admin`` role."""

    path = "/tokens"
    tags = ["tokens"]
    opt = _ADMIN

    @get("/", summary="List API tokens", opt=_ADMIN, responses=_ADMIN_PROBLEMS)
    async def list_tokens(self, request: Request[Any, Any, Any]) -> TokensOut:
        """Every token with its role and whether it is revoked; never a secret."""
        return TokensOut(await tokens_of(request.app).records())

    @post(
        "/",
        status_code=201,
        summary="Create an API token",
        opt=_ADMIN,
        responses={400: problem_spec("A role or name that is not one"), **_ADMIN_PROBLEMS},
    )
    async def create_token(
        self, request: Request[Any, Any, Any], data: JSONBody[TokenIn]
    ) -> TokenOut:
        """A new token with a role; the answer is the only place its secret appears."""
        try:
            issued = await tokens_of(request.app).create(data.role, data.name)
        except TokenError as error:
            raise BadRequestError(str(error)) from error
        record = issued.record
        return TokenOut(issued.token, record.token_id, record.name, record.role, record.created_at)

    @post(
        "/{token_id:str}/revoke",
        status_code=200,
        summary="Revoke an API token",
        opt=_ADMIN,
        responses={
            400: problem_spec("A token id that is not one"),
            404: problem_spec("No token has this id, or it is revoked already"),
            409: problem_spec("The token would revoke itself: use another admin token or the CLI"),
            **_ADMIN_PROBLEMS,
        },
    )
    async def revoke_token(
        self,
        request: Request[Any, Any, Any],
        token_id: Annotated[str, PathParameter(pattern="^[0-9a-f]{12}$")],
    ) -> TokenRecord:
        """Revoke a token: it stops working within a second in every server process.

        A token does not revoke itself here, so an admin cannot lock itself out by mistake.
        """
        if isinstance(request.auth, str) and request.auth.startswith(f"inc_{token_id}_"):
            raise ClientException(
                "a token cannot revoke itself over HTTP: revoke it with another admin token "
                "or with incidents tokens revoke",
                status_code=409,
            )
        try:
            return await tokens_of(request.app).revoke(token_id)
        except TokenError as error:
            raise NotFoundException(str(error)) from error

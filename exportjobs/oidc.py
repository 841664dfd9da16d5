"""Sign-in with the company's identity provider (OpenID Connect), on mozilla-django-oidc.

The library runs the authorization code flow: ``state``, ``nonce`` and PKCE kept in the session, the
token and userinfo calls, the session renewal. What it leaves open (measured on the pinned release,
5.0.2) is done here:

- **the provider** is found by discovery (``OIDC_ISSUER`` + ``/.well-known/openid-configuration``); the
  library only knows endpoints written into settings. The document and the provider's keys (JWKS) are
  kept an hour per worker, and the keys are fetched again when a token names a key not among them;
- **the ID token** is checked in full: its algorithm (an asymmetric one the provider announces: never
  ``none``, never a shared secret), its signature by one of the provider's keys, ``iss``, ``aud`` (and
  ``azp``), ``exp``, ``iat`` and the ``nonce``. The library checks neither ``aud`` nor ``iss``, and an
  expired token or one without ``kid`` escapes it as an exception (a 500);
- **people** are found by the provider's ``sub`` for its issuer (``OIDCIdentity``), not by e-mail, and
  their name and e-mail follow the claims; the groups claim decides Finance and "Can manage alerts"
  at every sign-in.

Every way a sign-in can fail ends in ``SignInRefused`` with a code the sign-in pages turn into words.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import OIDCIdentity

logger = logging.getLogger(__name__)

FINANCE_GROUP = "Finance"  # made by migration 0002, holds "Can view export jobs"
ALERTS_PERMISSION = ("exportjobs", "manage_alerts")  # "Can manage alerts", where a release has added it
# Asymmetric signatures only: the provider's public keys verify them. ``none`` and the HMAC family
# (a secret the desk shares) are never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 60  # seconds of clock difference allowed between the provider and the desk
KEEP_SECONDS = 3600  # how long a worker keeps the discovery document and the keys
SCOPES = ("openid", "email", "profile")


class SignInRefused(PermissionDenied):
    """A sign-in with the provider that ends without the person signed in.

    ``code`` keys the words of the page (``unavailable``, ``expired``, ``cancelled``, ``refused``,
    ``not_allowed``, ``locked``); ``detail`` says what exactly, for the log and for support. A
    ``PermissionDenied``, so that Django's ``authenticate`` stops there and reports a failed sign-in
    (which django-axes counts).
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def quoted(value: object, limit: int = 200) -> str:
    """Text from outside (a provider's error description, a claim) as it may reach a log or a page."""
    text = repr(str(value))
    return text if len(text) <= limit else text[:limit] + "…'"


# --- the provider: discovery and keys --------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str  # empty: the provider has none, and the ID token's claims are all there is
    end_session_endpoint: str  # empty: no RP-initiated logout (Google has none)
    algorithms: tuple[str, ...]


_lock = threading.Lock()
_kept: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def forget() -> None:
    """Drop the kept discovery documents and keys (the next sign-in reads them again)."""
    with _lock:
        _kept.clear()


def _fetch(url: str, what: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SignInRefused("unavailable", f"{what} ({url}) could not be read: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise SignInRefused("unavailable", f"{what} ({url}) is not a JSON object")
    return data


def _kept_or_fetched(kind: str, url: str, what: str, *, again: bool = False) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        kept = _kept.get((kind, url))
    if kept is not None and not again and now - kept[0] < KEEP_SECONDS:
        return kept[1]
    data = _fetch(url, what)
    with _lock:
        _kept[(kind, url)] = (now, data)
    return data


def _endpoint(document: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = document.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not re.match(r"^https?://[^/?#\s]+", value):
        raise ValueError(f"{name} is {quoted(value)}, not a URL")
    return value


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def provider() -> Provider:
    """The provider named by ``OIDC_ISSUER``, from its discovery document (kept an hour)."""
    issuer = str(settings.OIDC_ISSUER)
    url = discovery_url(issuer)
    document = _kept_or_fetched("discovery", url, "The provider's discovery document")
    try:
        if document.get("issuer") != issuer:
            raise ValueError(f"it names the issuer {quoted(document.get('issuer'))}, OIDC_ISSUER is {quoted(issuer)}")
        announced = document.get("id_token_signing_alg_values_supported", ["RS256"])
        algorithms = tuple(alg for alg in ALGORITHMS if isinstance(announced, list) and alg in announced)
        if not algorithms:
            raise ValueError(f"it signs ID tokens with {quoted(announced)}, none of {', '.join(ALGORITHMS)}")
        return Provider(
            issuer=issuer,
            authorization_endpoint=_endpoint(document, "authorization_endpoint"),
            token_endpoint=_endpoint(document, "token_endpoint"),
            jwks_uri=_endpoint(document, "jwks_uri"),
            userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
            end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
            algorithms=algorithms,
        )
    except ValueError as exc:
        with _lock:  # a corrected document is read at the next sign-in
            _kept.pop(("discovery", url), None)
        raise SignInRefused("unavailable", f"The provider's discovery document ({url}) is not usable: {exc}") from None


def _matching_key(jwks: Mapping[str, Any], kid: object, alg: str) -> jwt.PyJWK | None:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return None
    candidates = [
        key
        for key in keys
        if isinstance(key, dict)
        and key.get("use", "sig") == "sig"
        and key.get("alg", alg) == alg
        and (kid is None or key.get("kid") == kid)
    ]
    if len(candidates) != 1:  # none, or several without a kid to tell them apart
        return None
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg)
    except (jwt.PyJWKError, jwt.InvalidKeyError):
        return None


def signing_key(config: Provider, header: Mapping[str, Any]) -> jwt.PyJWK:
    """The provider's key that a token names (by ``kid``); the keys are fetched again once when the
    kept ones lack it (the provider rotated its keys)."""
    kid, alg = header.get("kid"), str(header.get("alg"))
    for again in (False, True):
        jwks = _kept_or_fetched("jwks", config.jwks_uri, "The provider's keys", again=again)
        key = _matching_key(jwks, kid, alg)
        if key is not None:
            return key
    raise SignInRefused("refused", f"The ID token is signed by a key the provider does not publish (kid {quoted(kid)})")


# --- the ID token ----------------------------------------------------------------------------------


def verify_id_token(token: object, *, config: Provider, client_id: str, nonce: str) -> dict[str, Any]:
    """The claims of an ID token, once every check of OpenID Connect Core 3.1.3.7 that applies has passed."""
    if not isinstance(token, str) or not token:
        raise SignInRefused("refused", "The provider's token answer holds no ID token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise SignInRefused("refused", "The ID token is not a signed JWT") from None
    alg = header.get("alg")
    if alg not in config.algorithms:
        raise SignInRefused("refused", f"The ID token's algorithm {quoted(alg)} is not one the desk accepts")
    key = signing_key(config, header)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[str(alg)],
            audience=client_id,
            issuer=config.issuer,
            leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_signature": True},
        )
    except jwt.ExpiredSignatureError:
        raise SignInRefused("refused", "The ID token has expired (exp)") from None
    except jwt.InvalidAudienceError:
        raise SignInRefused("refused", "The ID token is meant for another application (aud)") from None
    except jwt.InvalidIssuerError:
        raise SignInRefused("refused", "The ID token comes from another issuer (iss)") from None
    except jwt.ImmatureSignatureError:
        raise SignInRefused("refused", "The ID token is dated in the future (iat or nbf)") from None
    except jwt.InvalidSignatureError:
        raise SignInRefused("refused", "The ID token's signature does not match the provider's key") from None
    except jwt.InvalidTokenError as exc:
        raise SignInRefused("refused", f"The ID token is not valid: {type(exc).__name__}: {exc}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise SignInRefused("refused", "The ID token was issued to another party (azp)")
    if not isinstance(claims["iat"], (int, float)) or claims["iat"] > time.time() + LEEWAY:
        raise SignInRefused("refused", "The ID token's time of issue (iat) is not a time in the past")
    token_nonce = claims.get("nonce")
    if not nonce or not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce, nonce):
        raise SignInRefused("refused", "The ID token's nonce is not the one this sign-in sent (a replayed token?)")
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
        raise SignInRefused("refused", "The ID token's subject (sub) is not an identifier")
    return claims


# --- mozilla-django-oidc's settings, from the desk's own ----------------------------------------------


def scopes() -> str:
    extra = [scope for scope in settings.OIDC_EXTRA_SCOPES if scope not in SCOPES]
    return " ".join([*SCOPES, *extra])


def library_setting(name: str, *default: Any) -> Any:
    """What mozilla-django-oidc asks its ``get_settings`` for, answered from the desk's settings (its
    backend, views and middleware read their settings through this hook). The provider's endpoints
    are not settings: they come from discovery, when a sign-in needs them."""
    values: dict[str, Any] = {
        "OIDC_RP_CLIENT_ID": settings.OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": scopes(),
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_TOKEN_USE_BASIC_AUTH": True,  # client_secret_basic, which every provider must support
        "OIDC_TIMEOUT": settings.OIDC_TIMEOUT,
        "OIDC_VERIFY_SSL": True,
        "OIDC_PROXY": None,
        "OIDC_STORE_ID_TOKEN": True,  # sent back as id_token_hint when signing out at the provider
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS": settings.OIDC_RENEW_SECONDS,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_authentication_callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
        "OIDC_OP_LOGOUT_URL_METHOD": "exportjobs.oidc_views.provider_logout_url",
        "ALLOW_LOGOUT_GET_METHOD": False,
        "LOGIN_REDIRECT_URL": settings.LOGIN_REDIRECT_URL,
        "LOGOUT_REDIRECT_URL": "signed_out",
        "OIDC_EXEMPT_URLS": ["logout", "signed_out", "healthz", "metrics", "choose_language"],
    }
    if name in values:
        return values[name]
    if default:
        return default[0]
    raise ImproperlyConfigured(f"mozilla-django-oidc asked for the setting {name}, which the desk does not provide")


# --- who the person is, and what the groups claim grants --------------------------------------------


def _groups(claims: Mapping[str, Any]) -> frozenset[str]:
    name = settings.OIDC_GROUPS_CLAIM
    value = claims.get(name)
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    if value is None and name in (claims.get("_claim_names") or {}):
        logger.warning(
            "The provider left the %s claim out (too many groups, Entra ID's overage): assign the groups that "
            "matter to the desk's application so the claim holds only those",
            quoted(name),
        )
    elif value is not None:
        logger.warning("The %s claim is %s, not a list of names: read as no groups", quoted(name), type(value).__name__)
    return frozenset()


def groups_sync(*, user: User, groups: frozenset[str]) -> None:
    """Finance (``OIDC_FINANCE_GROUPS``) and "Can manage alerts" (``OIDC_ALERT_ADMIN_GROUPS``, where the
    permission exists) as the provider's groups say. A setting left empty leaves that grant to /admin/."""
    if settings.OIDC_FINANCE_GROUPS:
        finance = Group.objects.filter(name=FINANCE_GROUP).first()
        if finance is not None:
            member = user.groups.filter(pk=finance.pk).exists()
            if groups & set(settings.OIDC_FINANCE_GROUPS) and not member:
                user.groups.add(finance)
            elif member and not groups & set(settings.OIDC_FINANCE_GROUPS):
                user.groups.remove(finance)
    if settings.OIDC_ALERT_ADMIN_GROUPS:
        app_label, codename = ALERTS_PERMISSION
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            holds = user.user_permissions.filter(pk=permission.pk).exists()
            if groups & set(settings.OIDC_ALERT_ADMIN_GROUPS) and not holds:
                user.user_permissions.add(permission)
            elif holds and not groups & set(settings.OIDC_ALERT_ADMIN_GROUPS):
                user.user_permissions.remove(permission)


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else None


def _new_user(claims: Mapping[str, Any]) -> User:
    """A user for a person the desk has not seen: named by their user name at the provider (or e-mail)."""
    user_model = get_user_model()
    wanted = _text(claims, "preferred_username", 140) or _text(claims, "email", 140) or ""
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140]
    if not base:
        base = "person-" + hashlib.sha256(str(claims["sub"]).encode()).hexdigest()[:10]
    name, number = base, 2
    while user_model.objects.filter(username=name).exists():
        name, number = f"{base}-{number}", number + 1
    user: User = user_model.objects.create_user(name)  # no usable password
    return user


def _account_to_take_over(claims: Mapping[str, Any]) -> User | None:
    """An existing password account for the person's first sign-in with the provider: only by an
    e-mail address the provider says is verified, only when exactly one active account has it, and
    never a superuser's or a break-glass account."""
    email = _text(claims, "email", 254)
    if email is None or claims.get("email_verified") is not True:
        return None
    found = list(
        get_user_model()
        .objects.filter(email__iexact=email, is_active=True, is_superuser=False, oidc_identity__isnull=True)
        .exclude(username__in=settings.BREAK_GLASS_USERS)[:2]
    )
    return found[0] if len(found) == 1 else None


def _update_person(user: User, claims: Mapping[str, Any]) -> None:
    given, family = _text(claims, "given_name", 150), _text(claims, "family_name", 150)
    if given is None and family is None:
        given = _text(claims, "name", 150)
    wanted = {
        "email": _text(claims, "email", 254) or user.email,
        "first_name": given or "",
        "last_name": family or "",
    }
    changed = [field for field, value in wanted.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, wanted[field])
    if changed:
        user.save(update_fields=changed)


def person_sign_in(*, issuer: str, claims: Mapping[str, Any]) -> User:
    """The desk's user for the person the provider signed in (made on first sight), with their name,
    e-mail and groups as the claims say now."""
    sub = str(claims["sub"])
    with transaction.atomic():
        identity = OIDCIdentity.objects.select_related("user").filter(issuer=issuer, sub=sub).first()
        if identity is None:
            user = _account_to_take_over(claims) or _new_user(claims)
            try:
                with transaction.atomic():
                    identity = OIDCIdentity.objects.create(user=user, issuer=issuer, sub=sub)
            except IntegrityError:  # the same person's first sign-in in two tabs at once
                raise SignInRefused("expired", "The same person was signing in twice at once") from None
        user = identity.user
        _update_person(user, claims)
        groups_sync(user=user, groups=_groups(claims))
        identity.last_sign_in = timezone.now()
        identity.save(update_fields=["last_sign_in"])
    return user


# --- the backend ---------------------------------------------------------------------------------------


class OIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc] # mozilla-django-oidc ships no type information
    """mozilla-django-oidc's backend with the provider from discovery and the checks it leaves open."""

    get_settings = staticmethod(library_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library's own __init__ wants the provider's endpoints in settings; they are read from
        # discovery when a sign-in needs them (a password sign-in builds every backend, and must not).
        self.UserModel = get_user_model()
        self.request: HttpRequest | None = None
        self.config: Provider | None = None

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> User | None:
        """Only the callback's sign-in (a ``nonce`` and a ``code_verifier``, nothing else) is this backend's."""
        if request is None or not settings.OIDC_ISSUER or set(credentials) != {"nonce", "code_verifier"}:
            return None
        try:
            self.config = provider()
            self.OIDC_OP_TOKEN_ENDPOINT = self.config.token_endpoint
            self.OIDC_OP_USER_ENDPOINT = self.config.userinfo_endpoint
            self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
            self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET
            user: User | None = super().authenticate(request, **credentials)
            if user is None:
                raise SignInRefused("refused", "The provider's answer did not name a person")
        except requests.HTTPError as exc:
            raise self._refused(request, _token_error(exc)) from None
        except requests.RequestException as exc:
            refusal = SignInRefused("unavailable", f"The provider did not answer: {type(exc).__name__}")
            raise self._refused(request, refusal) from None
        except SuspiciousOperation as exc:
            raise self._refused(request, SignInRefused("refused", str(exc))) from None
        except SignInRefused as refusal:
            raise self._refused(request, refusal) from None
        return user

    @staticmethod
    def _refused(request: HttpRequest, refusal: SignInRefused) -> SignInRefused:
        request.desk_sign_in_refused = refusal  # type: ignore[attr-defined] # read by the callback's failure page
        return refusal

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        config = self.config or provider()
        nonce = str(kwargs.get("nonce") or "")
        return verify_id_token(token, config=config, client_id=settings.OIDC_CLIENT_ID, nonce=nonce)

    def get_userinfo(
        self,
        access_token: str,
        id_token: str,  # noqa: ARG002 - mozilla-django-oidc's signature; the ID token was checked already
        payload: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The userinfo endpoint's claims (JSON only), about the same ``sub`` as the ID token."""
        config = self.config or provider()
        if not config.userinfo_endpoint or not access_token:
            return {}
        response = requests.get(
            config.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=settings.OIDC_TIMEOUT,
        )
        response.raise_for_status()
        try:
            claims = response.json()
        except ValueError:
            raise SignInRefused("refused", "The provider's userinfo answer is not JSON") from None
        if not isinstance(claims, dict) or claims.get("sub") != payload["sub"]:
            raise SignInRefused("refused", "The provider's userinfo answer is about another subject (sub)")
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: Mapping[str, Any]) -> User:
        config, request = self.config or provider(), self.request
        claims = {**self.get_userinfo(access_token, id_token, payload), **payload}  # the signed token's claims win
        user = person_sign_in(issuer=config.issuer, claims=claims)
        if not user.is_active:
            raise SignInRefused("not_allowed", f"The desk's account {quoted(user.get_username())} is deactivated")
        # A user name locked out from this address (wrong passwords) stays locked for this way in too.
        if request is not None and not AxesProxyHandler.is_allowed(request, {"username": user.get_username()}):
            request.axes_locked_out = True  # type: ignore[attr-defined] # AxesMiddleware answers with its page
            raise SignInRefused("locked", f"Sign-in for {quoted(user.get_username())} is locked from this address")
        return user


def _token_error(exc: requests.HTTPError) -> SignInRefused:
    """The token endpoint said no: a used or expired code is an expired sign-in, anything else the
    provider's (or its configuration's) fault."""
    response = exc.response
    error = ""
    if response is not None:
        try:
            body = response.json()
            error = str(body.get("error", "")) if isinstance(body, dict) else ""
        except ValueError:
            error = ""
    status = response.status_code if response is not None else 0
    code = "expired" if error == "invalid_grant" else "unavailable"
    return SignInRefused(code, f"The provider's token endpoint answered {status} {quoted(error)}")

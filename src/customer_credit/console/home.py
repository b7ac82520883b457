"""Sign-in, sign-out and the dashboard."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from customer_credit import i18n
from customer_credit.clock import now_of
from customer_credit.console import search, trends
from customer_credit.console.session import (
    Visit,
    clear_session_cookie,
    current_visit,
    read_form,
    safe_next,
    set_session_cookie,
    set_signin_cookie,
    signed_in,
    signin_nonce,
    signin_token,
    signin_token_ok,
    signing_out,
)
from customer_credit.console.throttle import SignInThrottled, address_of
from customer_credit.console.web import Message, redirect, render
from customer_credit.dates import store_zone
from customer_credit.errors import InvalidInput, Unauthorized
from customer_credit.i18n import gettext as _
from customer_credit.stores import service as stores
from customer_credit.users import service as users

router = APIRouter(prefix="/admin", include_in_schema=False)


def page_context(visit: Visit, active: str, title: str, **extra) -> dict:
    return {"visit": visit, "p": visit.presentation, "active": active, "title": title, **extra}


def browser_language(request: Request) -> str | None:
    """No store is known before signing in: the sign-in page and its messages follow the
    browser's first language."""
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    return first or None


def _sign_in_page(
    request: Request,
    *,
    status_code=200,
    messages=(),
    email="",
    store="",
    next_target="",
    choices=(),
    headers=None,
):
    nonce, fresh = signin_nonce(request)
    with i18n.activated(browser_language(request)):
        response = render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "token": signin_token(request.app.state.secret_key, nonce),
                "email": email,
                "store": store,
                "next": next_target if next_target and safe_next(next_target) else "",
                "choices": list(choices),
                "messages": list(messages),
            },
            status_code=status_code,
            headers=headers,
        )
    if fresh:
        set_signin_cookie(request, response, nonce)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = ""):  # noqa: A002 - the query parameter's name
    if current_visit(request) is not None:
        return redirect(request, next if next and safe_next(next) else "/admin")
    return _sign_in_page(request, next_target=next)


@router.post("/sign-in")
async def sign_in(request: Request):
    i18n.activate(browser_language(request))
    form = await read_form(request)
    email = str(form.get("email") or "").strip()[:254]
    password = str(form.get("password") or "")
    store_name = str(form.get("store") or "").strip()[:100]
    next_target = str(form.get("next") or "")
    keep = {"email": email, "store": store_name, "next_target": next_target}
    if not signin_token_ok(request, form.get("csrf_token")):
        return _sign_in_page(
            request,
            status_code=403,
            messages=[Message("error", _("The sign-in form expired; try again."))],
            **keep,
        )
    db = request.app.state.db
    throttle = request.app.state.sign_in_throttle
    address = address_of(request.client.host if request.client else None)
    now = now_of(request)

    def work() -> str:
        # The attempt is counted (as a failure) before the password is checked, in its own
        # transaction, so concurrent attempts cannot outrun the limits; see console/throttle.py.
        with db.write() as session:
            throttle.reserve(session, email, address, now)
        try:
            with db.write() as session:
                operator = users.verify_sign_in(session, email, password, store_name or None)
                throttle.succeeded(session, email, address, now)
                return users.start_session(session, operator)
        except InvalidInput:
            # The password was right (for several stores): not a failure.
            with db.write() as session:
                throttle.succeeded(session, email, address, now)
            raise

    try:
        token = await run_in_threadpool(work)
    except SignInThrottled as throttled:
        return _sign_in_page(
            request,
            status_code=429,
            messages=[
                Message(
                    "error",
                    _("Too many failed sign-ins; try again in %(wait)s.")
                    % {"wait": _wait_text(throttled.retry_after_s)},
                )
            ],
            headers={"Retry-After": str(throttled.retry_after_s)},
            **keep,
        )
    except Unauthorized:
        return _sign_in_page(
            request, status_code=401, messages=[Message("error", _("Wrong e-mail or password."))], **keep
        )
    except InvalidInput as error:
        choices = error.details[0].get("choices", []) if error.details else []
        return _sign_in_page(
            request,
            status_code=400,
            messages=[Message("error", _("This e-mail signs in to several stores: choose one."))],
            choices=choices,
            **keep,
        )
    response = redirect(request, next_target if next_target and safe_next(next_target) else "/admin")
    set_session_cookie(request, response, token)
    return response


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return i18n.ngettext("%(num)s second", "%(num)s seconds", seconds) % {"num": seconds}
    minutes = -(-seconds // 60)
    return i18n.ngettext("%(num)s minute", "%(num)s minutes", minutes) % {"num": minutes}


@router.post("/sign-out")
def sign_out(request: Request, visit: Annotated[Visit | None, Depends(signing_out)]):
    if visit is not None:
        i18n.activate(visit.presentation.locale)
        with request.app.state.db.write() as session:
            users.end_session(session, visit.token)
    response = redirect(request, "/admin/sign-in", Message("ok", _("You are signed out.")))
    clear_session_cookie(response)
    return response


@router.get("")
def dashboard(request: Request, visit: Annotated[Visit, Depends(signed_in)]):
    now = now_of(request)
    with request.app.state.db.read() as session:
        config = stores.get_config(session, visit.store.id)
        twelve = trends.twelve_months(session, visit.store.id, now, visit.presentation.zone)
        figures = search.dashboard(
            session,
            visit.store.id,
            now=now,
            zone=store_zone(config),
            paid_this_month_cents=twelve.paid_this_month_cents,
        )
        today = visit.presentation.local_day(now)
        context = page_context(
            visit,
            "dashboard",
            _("Dashboard"),
            d=figures,
            config=config,
            today=today,
            week_end=today + timedelta(days=7),
            aging_bars=trends.aging_bars(figures.aging),
            aging_labels=trends.AGING_LABELS,
            months=twelve.months,
        )
        return render(request, "dashboard.html", context)

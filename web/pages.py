"""The pages: `/` → the login page or the 台账, login and logout, and the 台账 (search and filters,
due dates coloured, provisional dates marked). `install(app)` adds them, their static files and
their redirects to an app."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request as HttpRequest
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from access import sessions
from access.agencies import list_agencies
from core.db import session_scope, short_reads
from reports.ledger import MAX_PAGE, LedgerQuery, export_rows, search, to_xlsx
from web import forms
from states.errors import RuleViolation
from web.labels import APPLICANT_KINDS, CHANNELS, CHOICES, DUE_FILTERS, STAGES, refusal
from web.login import FormRefused, LoginRequired, NotPermitted, form_user, need, page_user, safe_next
from web.attachments import router as attachments_router
from web.dashboard import router as dashboard_router
from web.intake import router as intake_router
from web.request_page import NotVisible, router as request_router
from web.templating import HERE, templates

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(intake_router)  # /requests/new before /requests/{id}
    app.include_router(request_router)
    app.include_router(attachments_router)
    app.include_router(dashboard_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def to_login(http: HttpRequest, exc: LoginRequired):
        return RedirectResponse("/login?" + urlencode({"next": exc.next_path}), status_code=303)

    @app.exception_handler(NotVisible)
    async def not_visible(http: HttpRequest, exc: NotVisible):
        return templates.TemplateResponse(http, "message.html", {
            "title": "未找到", "message": "没有这件申请，或者它不在您的办理范围内。"}, status_code=404)

    @app.exception_handler(NotPermitted)
    async def not_permitted(http: HttpRequest, exc: NotPermitted):
        return templates.TemplateResponse(http, "message.html", {
            "title": exc.title, "message": exc.message}, status_code=403)

    @app.exception_handler(FormRefused)
    async def refused(http: HttpRequest, exc: FormRefused):
        return templates.TemplateResponse(http, "message.html", {
            "title": "操作未执行", "message": "页面已过期或不是从本系统提交的，请返回重新操作。"},
            status_code=403)


def _engine(http: HttpRequest, *, writes: bool = False):
    engine = http.app.state.engine
    return engine if writes else short_reads(engine)


@router.get("/")
def home(http: HttpRequest):
    with session_scope(_engine(http)) as session:
        try:
            user = page_user(http, session)
        except LoginRequired:
            return RedirectResponse("/login", status_code=303)
    # An admin manages accounts and agencies (the API and the command line), not requests.
    return RedirectResponse("/ledger" if user.may("requests.read") else "/docs", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(http: HttpRequest, next: str | None = None):
    return templates.TemplateResponse(http, "login.html", {"next": safe_next(next), "error": None,
                                                           "username": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_post(http: HttpRequest):
    form = await http.form()
    return await run_in_threadpool(_login, http, form)


def _login(http: HttpRequest, form):
    settings = http.app.state.settings
    origin = http.headers.get("origin")
    if origin and origin != f"{http.url.scheme}://{http.url.netloc}":
        # Another site's form (login CSRF): browsers name the page a POST came from.
        raise FormRefused()
    nxt = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
    try:
        username = forms.text(form, "username", "用户名", max_length=64) or ""
        password = form.get("password") if isinstance(form.get("password"), str) else ""
        if not username or not password:
            raise forms.FieldError("username", "用户名和密码", "请填写用户名和密码")
    except forms.FieldError as error:
        return templates.TemplateResponse(http, "login.html", {
            "next": nxt, "error": str(error), "username": ""}, status_code=422)
    remote = http.client.host if http.client else ""
    with session_scope(_engine(http, writes=True)) as session:
        result = sessions.login(session, username, password[:1024], remote=remote,
                                settings=settings)
        session.commit()  # the attempt is on record whatever the outcome
    if result.refusal is not None:
        status = getattr(result.refusal, "status", 401)
        message = ("登录失败次数过多，请稍后再试。" if status == 429 else "用户名或密码不正确。")
        return templates.TemplateResponse(http, "login.html", {
            "next": nxt, "error": message, "username": username}, status_code=status)
    response = RedirectResponse(nxt, status_code=303)
    secure = (settings.cookie_secure if settings.cookie_secure is not None
              else http.url.scheme == "https")
    response.set_cookie(sessions.COOKIE, result.secret, httponly=True, samesite="strict",
                        secure=secure, max_age=settings.session_hours * 3600, path="/")
    return response


@router.post("/logout")
async def logout(http: HttpRequest):
    form = await http.form()
    return await run_in_threadpool(_logout, http, form)


def _logout(http: HttpRequest, form):
    with session_scope(_engine(http, writes=True)) as session:
        form_user(http, session, form)
        sessions.logout(session, http.cookies.get(sessions.COOKIE))
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


def _ledger_query(params, codes: dict[str, int]) -> LedgerQuery:
    """The 台账's search from the query string; FieldError naming a field that breaks its rule."""
    query = LedgerQuery(
        number=forms.text(params, "number", "编号", max_length=64),
        applicant=forms.text(params, "applicant", "申请人", max_length=100),
        keywords=forms.text(params, "keywords", "关键词", max_length=200),
        received_from=forms.date(params, "received_from", "收到日期（起）"),
        received_to=forms.date(params, "received_to", "收到日期（止）"),
        state=forms.choice(params, "state", "办理阶段", STAGES),
        agency_id=codes.get(forms.choice(params, "agency", "机关", codes) or ""),
        due=forms.choice(params, "due", "期限", DUE_FILTERS),
        page=forms.number(params, "page", "页码", low=1, high=MAX_PAGE, default=1))
    if query.received_from and query.received_to and query.received_from > query.received_to:
        raise forms.FieldError("received_to", "收到日期（止）", "不能早于收到日期（起）")
    return query


def _scope(user) -> dict:
    return {"agency_ids": user.agency_ids,
            "unit_id": user.unit_id if user.role == "staff" else None}


@router.get("/ledger", response_class=HTMLResponse)
def ledger(http: HttpRequest):
    """台账."""
    params = http.query_params
    settings = http.app.state.settings
    with session_scope(_engine(http)) as session:
        user = page_user(http, session)
        need(user, "requests.read")
        agencies = [a for a in list_agencies(session) if user.sees_agency(a.id)]
        codes = {a.code: a.id for a in agencies}
        error, page = None, None
        try:
            page = search(session, _ledger_query(params, codes), settings=settings, **_scope(user))
        except forms.FieldError as problem:
            error = problem
        except RuleViolation as broken:  # a calendar year the due-soon window reaches is missing
            error = refusal(broken)
        context = {"user": user, "agencies": agencies, "params": params, "error": error,
                   "page": page, "today": settings.today(), "due_soon_days": settings.due_soon_days,
                   "export": "/ledger.xlsx?" + urlencode(
                       [(k, v) for k, v in params.multi_items() if k != "page"]),
                   "link": lambda n: "/ledger?" + urlencode(
                       [(k, v) for k, v in params.multi_items() if k != "page"] + [("page", n)])}
        return templates.TemplateResponse(http, "ledger.html", context,
                                          status_code=422 if error else 200)


@router.get("/ledger.xlsx")
def ledger_export(http: HttpRequest):
    """台账 as an Excel workbook: every request the same search finds (at most 100,000)."""
    settings = http.app.state.settings
    with session_scope(_engine(http)) as session:
        user = page_user(http, session)
        need(user, "requests.read")
        codes = {a.code: a.id for a in list_agencies(session) if user.sees_agency(a.id)}
        try:
            query = _ledger_query(http.query_params, codes)
        except forms.FieldError as problem:
            return templates.TemplateResponse(http, "message.html", {
                "title": "无法导出", "message": str(problem), "user": user}, status_code=422)
        except RuleViolation as broken:
            return templates.TemplateResponse(http, "message.html", {
                "title": "无法导出", "message": refusal(broken), "user": user}, status_code=422)
        labels = {"channel": CHANNELS, "applicant_kind": APPLICANT_KINDS, "state": STAGES,
                  "outcome": CHOICES["outcome"]}
        content = to_xlsx(export_rows(session, query, settings=settings, labels=labels,
                                      **_scope(user)), title="依申请公开台账")
    name = f"依申请公开台账-{settings.today().isoformat()}.xlsx"
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

"""The API's one ASGI middleware (pure ASGI: no per-call task or body copy): a request id on every
response and log line, a body size limit, and a JSON 500 that keeps the connection alive.

An exception escaping a route is answered here, inside the app, so Starlette's outer error
middleware never sees it: the 500 carries the error shape and `x-request-id`, one JSON log line
names it (masked: core/logging.py), and uvicorn does not drop the keep-alive connection. Nor does
uvicorn print the traceback itself ("Exception in ASGI application"): under its default logging
(no --log-config) that is plain text, masked only by the last-resort filter in core/logging.py.
"""

from __future__ import annotations

import json
import re
import uuid

import structlog

from core.logging import get_logger

log = get_logger("api")


def _json(status: int, kind: str, message: str, request_id: str) -> tuple[dict, dict]:
    body = json.dumps({"error": kind, "message": message, "detail": []}, ensure_ascii=False).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"x-request-id", request_id.encode())]}
    return start, {"type": "http.response.body", "body": body}


# The pages answer in Chinese HTML when the body is too large or something failed.
_PAGE_MESSAGES = {413: ("提交的内容过大", "提交的内容超过上限，未保存。请返回，减少或压缩附件后重试。"),
                  500: ("系统发生错误", "本次操作未保存。请稍后重试；问题持续存在时请联系系统管理员。")}
_NOT_PAGES = ("/api/", "/docs", "/redoc", "/openapi.json")


def _page(status: int, request_id: str) -> tuple[dict, dict]:
    title, text = _PAGE_MESSAGES[status]
    body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
            '<link rel="stylesheet" href="/static/gongkai.css"></head><body><main>'
            f'<h1>{title}</h1><p>{text}</p><p><a href="/">返回首页</a></p></main></body></html>'
            ).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"text/html; charset=utf-8"),
                         (b"content-length", str(len(body)).encode()),
                         (b"x-request-id", request_id.encode())]}
    return start, {"type": "http.response.body", "body": body}


class BodyTooLarge(Exception):
    pass


# The pages' forms that carry files (scans of applications, ID copies) may be larger.
_UPLOAD_PATHS = re.compile(r"^/requests/(new|\d{1,10}/attachments)$")


def _uploads(scope, headers) -> bool:
    return (scope["method"] == "POST" and bool(_UPLOAD_PATHS.match(scope["path"]))
            and headers.get(b"content-type", b"").startswith(b"multipart/form-data"))


class RequestContext:
    def __init__(self, app, max_body_bytes: int, max_upload_bytes: int | None = None):
        self.app, self.max_body_bytes = app, max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if given.isalnum() and len(given) <= 64 else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(http_request_id=request_id)
        state = {"status": None}
        limit = self.max_upload_bytes if _uploads(scope, headers) else self.max_body_bytes

        status_page = not scope["path"].startswith(_NOT_PAGES)

        async def reply(status: int, kind: str, message: str) -> None:
            start, body = (_page(status, request_id) if status_page and status in _PAGE_MESSAGES
                           else _json(status, kind, message, request_id))
            state["status"] = status
            await send(start)
            await send(body)

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            await reply(413, "body_too_large", f"the request body is larger than {limit} bytes")
            log.info("http", method=scope["method"], path=scope["path"], status=413)
            return

        seen = {"bytes": 0}

        async def counted_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    raise BodyTooLarge()
            return message

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        failure = None
        try:
            await self.app(scope, counted_receive, send_with_id)
        except BodyTooLarge:
            if state["status"] is None:
                await reply(413, "body_too_large", f"the request body is larger than {limit} bytes")
        except Exception as exc:  # noqa: BLE001 — every failure gets the error shape, never a bare 500
            failure = exc
        if failure is not None:
            # Outside the except block: should logging or answering fail (the client gone), what
            # reaches uvicorn does not chain this failure, whose text may quote an applicant.
            log.error("unhandled_error", exc_info=failure, method=scope["method"], path=scope["path"])
            if state["status"] is None:
                await reply(500, "internal_error", "internal error; the change was not saved")
        log.info("http", method=scope["method"], path=scope["path"], status=state["status"])

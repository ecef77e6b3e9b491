"""A fake Telegram Bot API server on 127.0.0.1 for tests; loaded as a pytest plugin (`fake_telegram`).

It speaks the real Bot API over HTTP, so python-telegram-bot talks to it unchanged:

    Bot(server.token, base_url=server.base_url)                      # or
    ApplicationBuilder().token(server.token).base_url(server.base_url).base_file_url(server.base_file_url)

Requests arrive as GET/POST `/bot<token>/<method>` with urlencoded, JSON or multipart parameters and are
answered `{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...,
"parameters": {...}}`, the way api.telegram.org answers them.

The test plays the users and the world:

    alice = server.user(101, "Alice", username="alice")
    dm = server.private_chat(alice)
    grp = server.group(-1001, "Advocates", admins=[alice])
    chan = server.channel(-100200, "NK Watch", username="@nkwatch", admins=[alice], bot_is_admin=True)
    server.command(grp, alice, "/subscribe@<bot username> nk-repatriation")  # queued for getUpdates
    server.channel_post(chan, "/subscribe")
    server.press(dm, alice, message_id, "mute:story-7")                     # a button the bot sent
    server.migrate(grp, -1009999)       # later sends to -1001 answer 400 with migrate_to_chat_id
    forum = server.group(-1003, "Forum", admins=[alice], forum=True)
    thread = server.forum_topic(forum, "Alerts"); server.command(forum, alice, "/subscribe", thread=thread)
    server.delete_topic(forum, thread)  # later sends into it answer 400 "message thread not found"
    server.block(dm) / server.kick(grp) / server.deactivate(dm) / server.forget(chat)

and injects faults:

    server.fail_next("sendMessage", 429, retry_after=3, count=2)   # also 400, 403, 500, 502, 503...
    server.hang_next("sendMessage", 2.0)     # handles the call at once, answers 2 s later
    server.drop_next("sendMessage")          # closes the connection without handling or answering
    server.garble_next("sendMessage")        # handles the call, answers 200 with a body that is no Bot API answer
    server.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)

and reads what the bot did:

    server.calls               -> [Call(method, params, token, at, status, result, description), ...]
    server.sent(chat_id)       -> sendMessage calls that succeeded
    server.edits(chat_id)      -> editMessageText / editMessageReplyMarkup calls that succeeded
    server.messages(chat_id)   -> {message_id: text as the user sees it now} for the bot's live messages
    server.message(chat_id, message_id) -> BotMessage (text, HTML as sent, keyboard, edits, deleted)
    server.too_many_requests   -> how many 429 answers were sent
    await server.wait_for(lambda: server.sent(dm.id))   # in async tests (the bot shares the loop)
    server.wait_until(lambda: server.sent(dm.id))       # when the bot runs in another thread

Fidelity notes. Parameters are decoded as Telegram does (JSON values parsed, strings kept): chat_id is an
int, reply_markup a dict. HTML text is checked like Telegram checks it (unsupported or unclosed tags are
400 "can't parse entities") and the visible text is what getUpdates and `messages` show; Markdown text is
not checked. editMessageText without reply_markup removes the keyboard, as on Telegram. A wrong token
answers 401; the token is never printed (the request log is silent and `Call` hides it from repr).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import http.server
import json
import math
import re
import secrets
import select
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pytest

__all__ = [
    "BotMessage",
    "Call",
    "Chat",
    "FakeTelegram",
    "Queued",
    "User",
    "fake_telegram",
]

T = TypeVar("T")

# Parameters whose values are plain strings even when they look like JSON ("123", "true"); PTB sends
# strings unencoded and everything else JSON-encoded, so only these must not be parsed.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "custom_title",
        "secret_token",
        "business_connection_id",
        "message_effect_id",
    }
)

_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_BUTTON_URL = re.compile(r"(https?|tg)://\S+")
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji"}
    | {"code", "pre", "blockquote"}
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_KINDS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
# What Telegram's own nginx answers on a 502/504: HTML, not JSON, so clients must cope with both.
_NGINX_PAGE = "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
_NGINX_PAGE += "<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
_MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


# --- records the test sees ---


@dataclass(frozen=True, slots=True)
class User:
    """A Telegram user the test acts as (or the bot itself, when is_bot)."""

    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The Bot API `User` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat the server knows: type is "private", "group", "supergroup" or "channel"."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None  # without the "@"
    first_name: str | None = None
    is_forum: bool = False  # a supergroup with topics

    def to_api(self) -> dict[str, Any]:
        """The Bot API `Chat` object."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(frozen=True, slots=True)
class Call:
    """One request the server answered: decoded params, HTTP status (0 if dropped), result or error."""

    method: str
    params: dict[str, Any]
    token: str = field(repr=False)  # so an assertion failure never prints the bot token
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Telegram would have answered ok: true."""
        return self.status == HTTPStatus.OK


@dataclass(frozen=True, slots=True)
class BotMessage:
    """The current state of one message the bot sent: text as seen, text as sent, keyboard, edits."""

    chat_id: int
    message_id: int
    text: str
    sent_text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    edits: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class Queued:
    """What the test queued for getUpdates: the update id and the message or callback query in it."""

    update_id: int
    message_id: int | None = None
    callback_query_id: str | None = None


# --- internal state (mutable on purpose: edits, deletes and bans change it in place, as on Telegram) ---


@dataclass(slots=True)
class _Message:
    message_id: int
    date: int
    text: str | None
    sent_text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    sender: User | None  # None for a post in a channel: channel posts have no `from`
    from_bot: bool
    entities: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False


@dataclass(slots=True)
class _ChatState:
    chat: Chat
    admins: list[int]  # the first one is the creator
    members: set[int]
    bot_status: str  # "member", "administrator", "left" or "kicked"
    forbidden: str | None = None  # the 403 description sends get, once the bot is blocked or kicked
    migrated_to: int | None = None
    last_message_id: int = 0
    messages: dict[int, _Message] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)  # a forum's open topics: thread id -> name


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str  # "error", "hang", "drop" or "garble"
    status: int = 0
    retry_after: int | None = None
    description: str | None = None
    seconds: float = 0.0
    body: dict[str, Any] | str | None = None  # what a "garble" fault answers instead of the real result


@dataclass(frozen=True, slots=True)
class _Update:
    update_id: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: dict[str, Any] | str
    delay: float = 0.0
    drop: bool = False


class _Abandoned(Exception):
    """A superseded long poll whose client has already hung up: nobody will read its answer."""


class _ApiError(Exception):
    """An error answer: HTTP status, Telegram's description and optional ResponseParameters."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _error_answer(error: _ApiError) -> _Answer:
    if error.status in (HTTPStatus.BAD_GATEWAY, HTTPStatus.GATEWAY_TIMEOUT):
        return _Answer(error.status, _NGINX_PAGE.format(f"{error.status} {HTTPStatus(error.status).phrase}"))
    body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return _Answer(error.status, body)


def _fault_error(fault: _Fault) -> _ApiError:
    if fault.status == HTTPStatus.TOO_MANY_REQUESTS:
        retry_after = fault.retry_after if fault.retry_after is not None else 3
        description = fault.description or f"Too Many Requests: retry after {retry_after}"
        return _ApiError(fault.status, description, {"retry_after": retry_after})
    return _ApiError(fault.status, fault.description or HTTPStatus(fault.status).phrase)


# --- decoding what PTB sends ---


def _decode_value(name: str, raw: str) -> Any:
    """A form value as Telegram reads it: JSON where it parses to a non-string, else the string."""
    if name in _STRING_PARAMS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    # PTB never JSON-encodes a string, so a value decoding to one ('"x"') was meant literally.
    return raw if isinstance(value, str) else value


def _decode_body(content_type_header: str | None, body: bytes) -> dict[str, Any]:
    """The parameters in a request body, for the three encodings the Bot API accepts."""
    if not body:
        return {}
    content_type = (content_type_header or "").split(";", 1)[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise _ApiError(400, "Bad Request: can't parse JSON object") from exc
        if not isinstance(data, dict):
            raise _ApiError(400, "Bad Request: JSON object expected")
        return data
    if content_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        return {name: _decode_value(name, value) for name, value in pairs}
    if content_type == "multipart/form-data":
        return _decode_multipart(content_type_header or "", body)
    raise _ApiError(400, f"Bad Request: unsupported Content-Type {content_type!r}")


def _decode_multipart(content_type_header: str, body: bytes) -> dict[str, Any]:
    """Multipart fields decoded like form values; an uploaded file becomes {"filename", "size"}."""
    head = f"Content-Type: {content_type_header}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {"filename": filename, "size": len(payload)}
        else:
            params[name] = _decode_value(name, payload.decode("utf-8"))
    return params


# --- text and keyboards, checked the way Telegram checks them ---


def _utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _TelegramHtml(HTMLParser):
    """Collects the visible text of Telegram-flavoured HTML and the first error Telegram would give."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []
        self.error: str | None = None
        self._line_starts = [0]
        for line in source.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))
        self._source = source

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        index = self._line_starts[line - 1] + column
        return len(self._source[:index].encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error is not None:
            return
        if tag not in _HTML_TAGS or (tag == "span" and ("class", "tg-spoiler") not in attrs):
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            return
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self.error is None:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.error is not None:
            return
        if not self.open:
            self.error = f"Unexpected end tag at byte offset {self._byte_offset()}"
        elif self.open[-1] != tag:
            self.error = f'Can\'t find end tag corresponding to start tag "{self.open[-1]}"'
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees for `text` sent with `parse_mode`; 400 where Telegram would refuse it."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        parser = _TelegramHtml(text)
        parser.feed(text)
        parser.close()
        if parser.error is None and parser.open:
            parser.error = f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"'
        if parser.error is not None:
            raise _ApiError(400, f"Bad Request: can't parse entities: {parser.error}")
        visible = "".join(parser.parts)
    elif mode in ("", "markdown", "markdownv2"):
        visible = text  # Markdown is passed through unchecked: a known gap of this fake
    else:
        raise _ApiError(400, "Bad Request: unsupported parse_mode")
    if not visible.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if _utf16_len(visible) > 4096:
        raise _ApiError(400, "Bad Request: message is too long")
    return visible


def _checked_markup(markup: Any) -> dict[str, Any] | None:
    """The reply_markup if Telegram would accept it; inline buttons are checked in detail."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiError(
            400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
            if not _BUTTON_KINDS & button.keys():
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not _BUTTON_URL.fullmatch(str(url)):
                raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return markup


def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only inline keyboards belong to a message; reply keyboards belong to the user's client."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def _command_entities(text: str) -> list[dict[str, Any]] | None:
    """The bot_command entity Telegram attaches to a text starting with "/cmd" or "/cmd@bot"."""
    if not text.startswith("/"):
        return None
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]


def _int_param(params: Mapping[str, Any], name: str, missing: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise _ApiError(400, f"Bad Request: {missing}")
    if isinstance(value, bool):
        raise _ApiError(400, f"Bad Request: invalid {name} specified")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise _ApiError(400, f"Bad Request: invalid {name} specified") from exc


# --- rate limits ---


class _Window:
    """At most `limit` events in any `seconds`-long window (a sliding log)."""

    __slots__ = ("events", "limit", "seconds")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.events: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits; 0 when it fits now."""
        while self.events and self.events[0] <= now - self.seconds:
            self.events.popleft()
        if len(self.events) < self.limit:
            return 0.0
        return self.events[len(self.events) - self.limit] + self.seconds - now


class _RateLimiter:
    """Telegram's documented send limits: per chat per second, per group per minute, global per second."""

    def __init__(
        self, per_chat_per_second: int | None, global_per_second: int | None, group_per_minute: int | None
    ) -> None:
        self._per_chat = per_chat_per_second
        self._per_group = group_per_minute
        self._global = _Window(global_per_second, 1.0) if global_per_second else None
        self._chats: dict[int, _Window] = {}
        self._groups: dict[int, _Window] = {}

    def admit(self, chat: Chat, now: float) -> int:
        """0 and the send counted, or the whole seconds to wait (Telegram's retry_after)."""
        windows: list[_Window] = []
        if self._global is not None:
            windows.append(self._global)
        if self._per_chat:
            windows.append(self._chats.setdefault(chat.id, _Window(self._per_chat, 1.0)))
        if self._per_group and chat.type != "private":
            windows.append(self._groups.setdefault(chat.id, _Window(self._per_group, 60.0)))
        wait = max((window.wait(now) for window in windows), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for window in windows:
            window.events.append(now)
        return 0


# --- the server ---


class FakeTelegram:
    """A Bot API server on 127.0.0.1 with one bot; see the module docstring. Thread-safe."""

    long_poll_cap = 1.0  # getUpdates waits at most this long, whatever timeout the bot asks for

    def __init__(
        self,
        *,
        bot_id: int = 7_000_000_001,
        bot_username: str = "repatriation_alerts_bot",
        bot_name: str = "Repatriation Alerts",
    ) -> None:
        self.token = f"{bot_id}:{secrets.token_urlsafe(26)}"
        self.bot = User(bot_id, bot_name, username=bot_username, is_bot=True)
        # One re-entrant lock guards all state; the condition wakes long polls and wait_until.
        self._cond = threading.Condition(threading.RLock())
        self._closing = threading.Event()
        self._users: dict[int, User] = {}
        self._chats: dict[int, _ChatState] = {}
        self._calls: list[Call] = []
        self._updates: list[_Update] = []
        self._last_update_id = 40_000
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._open_queries: dict[str, int] = {}
        self._last_query = 0
        self._faults: dict[str, deque[_Fault]] = {}
        self._limiter: _RateLimiter | None = None
        self._too_many = 0
        self._internal_errors: list[str] = []
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._idle = threading.Condition(self._connections_lock)  # signalled when a request is done
        self._in_flight = 0
        self._local = threading.local()  # the connection the current handler thread serves
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "getChatMemberCount": self._get_chat_member_count,
                "sendChatAction": self._send_chat_action,
            }.items()
        }
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        # A short poll interval makes stop() quick: shutdown() waits for the serve loop's next poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-telegram", daemon=True
        )

    def __repr__(self) -> str:
        return f"<FakeTelegram {self.url} bot=@{self.bot.username}>"  # never the token

    # --- lifecycle ---

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: long polls and hung answers return at once, open connections are closed."""
        if self._closing.is_set():
            return
        with self._cond:
            self._closing.set()
            self._cond.notify_all()
        self._httpd.shutdown()
        with self._idle:  # let long polls and hung answers (woken above) deliver their answers
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=1.0)
            connections = list(self._connections)
        for connection in connections:
            # Wakes handler threads waiting for the next request on a kept-alive connection.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """What to pass as PTB's base_url (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as PTB's base_file_url; file downloads answer 404."""
        return f"{self.url}/file/bot"

    # --- the world: users and chats ---

    def user(self, id: int, first_name: str, username: str | None = None, language_code: str | None = None) -> User:
        """Register a user the test can act as."""
        user = User(id, first_name, username=username, language_code=language_code)
        with self._cond:
            self._users[id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        """The private chat with `user`, as if they had pressed Start (the bot may now write to them)."""
        chat = Chat(user.id, "private", username=user.username, first_name=user.first_name)
        with self._cond:
            self._users[user.id] = user
            self._chats[chat.id] = _ChatState(chat, admins=[], members={user.id}, bot_status="member")
        return chat

    def group(
        self,
        id: int,
        title: str,
        admins: Iterable[int | User] = (),
        *,
        supergroup: bool = False,
        username: str | None = None,
        members: Iterable[int | User] = (),
        bot_is_admin: bool = False,
        forum: bool = False,
    ) -> Chat:
        """A group (or supergroup) the bot is in; the first admin is its creator. `forum`: a supergroup
        with topics (see `forum_topic`)."""
        chat = Chat(
            id,
            "supergroup" if supergroup or forum else "group",
            title=title,
            username=username.lstrip("@") if username else None,
            is_forum=forum,
        )
        with self._cond:
            admin_ids = self._ids(admins)
            state = _ChatState(
                chat,
                admins=admin_ids,
                members=set(admin_ids) | set(self._ids(members)),
                bot_status="administrator" if bot_is_admin else "member",
            )
            self._chats[id] = state
        return chat

    def channel(
        self,
        id: int,
        title: str,
        username: str | None = None,
        admins: Iterable[int | User] = (),
        bot_is_admin: bool = True,
    ) -> Chat:
        """A channel; a bot that is not its admin cannot post there ("not a member of the channel")."""
        chat = Chat(id, "channel", title=title, username=username.lstrip("@") if username else None)
        with self._cond:
            admin_ids = self._ids(admins)
            self._chats[id] = _ChatState(
                chat, admins=admin_ids, members=set(admin_ids), bot_status="administrator" if bot_is_admin else "left"
            )
        return chat

    def forum_topic(self, chat: Chat | int, name: str) -> int:
        """Someone opens a topic in the forum `chat`; returns its message_thread_id."""
        with self._cond:
            state = self._state_of(chat)
            if not state.chat.is_forum:
                raise ValueError("topics exist only in forum supergroups")
            state.last_message_id += 1  # a topic's id is the id of the service message that created it
            state.topics[state.last_message_id] = name
            return state.last_message_id

    def delete_topic(self, chat: Chat | int, thread_id: int) -> None:
        """An admin deletes the topic: sends into it answer 400 "message thread not found"."""
        with self._cond:
            del self._state_of(chat).topics[thread_id]

    def set_admins(self, chat: Chat | int, admins: Iterable[int | User]) -> None:
        """Replace who administers `chat` (the first one is the creator)."""
        with self._cond:
            state = self._state_of(chat)
            state.admins = self._ids(admins)
            state.members |= set(state.admins)

    def set_bot_admin(self, chat: Chat | int, is_admin: bool) -> None:
        """Promote or demote the bot in a group or channel."""
        with self._cond:
            state = self._state_of(chat)
            if is_admin:
                state.bot_status = "administrator"
            else:
                state.bot_status = "left" if state.chat.type == "channel" else "member"

    def block(self, chat: Chat | int) -> None:
        """The user blocks the bot: sends to this private chat answer 403."""
        self._forbid(chat, "Forbidden: bot was blocked by the user")

    def deactivate(self, chat: Chat | int) -> None:
        """The user deletes their account: sends answer 403 "user is deactivated"."""
        self._forbid(chat, "Forbidden: user is deactivated")

    def kick(self, chat: Chat | int) -> None:
        """Someone removes the bot from the group, supergroup or channel."""
        with self._cond:
            state = self._state_of(chat)
            kind = state.chat.type
            state.forbidden = (
                "Forbidden: bot is not a member of the channel chat"
                if kind == "channel"
                else f"Forbidden: bot was kicked from the {kind} chat"
            )
            state.bot_status = "kicked"

    def unblock(self, chat: Chat | int) -> None:
        """Undo block/deactivate/kick."""
        with self._cond:
            state = self._state_of(chat)
            state.forbidden = None
            if state.bot_status == "kicked":
                state.bot_status = "member"

    def forget(self, chat: Chat | int) -> None:
        """The chat disappears: everything about it answers 400 "chat not found"."""
        with self._cond:
            del self._chats[self._state_of(chat).chat.id]

    def migrate(self, group: Chat | int, new_id: int, *, by: User | None = None, notify: bool = True) -> Chat:
        """Upgrade a group to a supergroup `new_id`; the old id then answers 400 with migrate_to_chat_id.

        With `notify`, queue the two service messages Telegram sends (migrate_to / migrate_from).
        """
        with self._cond:
            old = self._state_of(group)
            if old.chat.type != "group":
                raise ValueError("only a basic group can be migrated")
            chat = Chat(new_id, "supergroup", title=old.chat.title)
            self._chats[new_id] = _ChatState(
                chat, admins=list(old.admins), members=set(old.members), bot_status=old.bot_status
            )
            if notify:
                self._queue_message(old, by, None, extra={"migrate_to_chat_id": new_id})
                self._queue_message(self._chats[new_id], by, None, extra={"migrate_from_chat_id": old.chat.id})
            old.migrated_to = new_id
            self._cond.notify_all()
        return chat

    # --- the world: what users do (queued for getUpdates) ---

    def say(self, chat: Chat | int, user: User, text: str, *, thread: int | None = None) -> Queued:
        """`user` writes `text` in `chat` (inside forum topic `thread`, if given); a leading "/cmd" gets its
        bot_command entity."""
        with self._cond:
            state = self._state_of(chat)
            if state.chat.type == "channel":
                raise ValueError("users do not write in channels; use channel_post")
            if state.migrated_to is not None:
                raise ValueError(f"chat {state.chat.id} was migrated to {state.migrated_to}")
            if state.chat.type == "private" and state.chat.id != user.id:
                raise ValueError("only the chat's own user writes in a private chat")
            self._users.setdefault(user.id, user)
            state.members.add(user.id)
            extra: dict[str, Any] = {}
            if thread is not None:
                if thread not in state.topics:
                    raise ValueError(f"no open topic {thread} in chat {state.chat.id}")
                extra = {"message_thread_id": thread, "is_topic_message": True}
            return self._queue_message(state, user, text, extra=extra)

    def command(self, chat: Chat | int, user: User, text: str, *, thread: int | None = None) -> Queued:
        """`user` sends a command ("/subscribe topic" or "/subscribe@bot topic") in `chat` (in topic `thread`)."""
        if not text.startswith("/"):
            raise ValueError("a command starts with '/'")
        return self.say(chat, user, text, thread=thread)

    def channel_post(self, channel: Chat | int, text: str) -> Queued:
        """An admin posts `text` in the channel: a channel_post update, sender_chat the channel, no from."""
        with self._cond:
            state = self._state_of(channel)
            if state.chat.type != "channel":
                raise ValueError("channel_post needs a channel")
            return self._queue_message(state, None, text, kind="channel_post")

    def press(self, chat: Chat | int, user: User, message_id: int, callback_data: str) -> Queued:
        """`user` presses the inline button carrying `callback_data` under the bot's message."""
        with self._cond:
            state = self._state_of(chat)
            message = state.messages.get(message_id)
            if message is None or message.deleted or not message.from_bot:
                raise ValueError(f"no live bot message {message_id} in chat {state.chat.id}")
            buttons = (message.reply_markup or {}).get("inline_keyboard", [])
            if not any(button.get("callback_data") == callback_data for row in buttons for button in row):
                raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}")
            self._users.setdefault(user.id, user)
            self._last_query += 1
            query_id = str(4_300_000_000_000_000_000 + self._last_query)  # numeric strings, like Telegram's
            self._open_queries[query_id] = state.chat.id
            payload = {
                "id": query_id,
                "from": user.to_api(),
                "message": self._message_json(state, message),
                "chat_instance": str(abs(state.chat.id) * 7919 + 17),
                "data": callback_data,
            }
            update_id = self._queue("callback_query", payload)
            return Queued(update_id, message_id=message_id, callback_query_id=query_id)

    # --- faults and limits ---

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """The next `count` calls of `method` ("*" for any) answer `status` without being handled.

        429 carries parameters.retry_after (3 unless given); 502 and 504 answer nginx HTML, not JSON.
        """
        self._add_fault(method, _Fault("error", status, retry_after, description), count)

    def hang_next(self, method: str, seconds: float, *, count: int = 1) -> None:
        """The next `count` calls of `method` are handled at once but answered `seconds` later."""
        self._add_fault(method, _Fault("hang", seconds=seconds), count)

    def drop_next(self, method: str, *, count: int = 1) -> None:
        """The next `count` calls of `method` are not handled; the connection closes with no answer."""
        self._add_fault(method, _Fault("drop"), count)

    def garble_next(self, method: str, body: dict[str, Any] | str = "<html>upstream", *, count: int = 1) -> None:
        """The next `count` calls of `method` are handled, then answered 200 with `body` instead of the result:
        a string goes out as text/html (no JSON at all), a dict as JSON (a malformed Bot API answer)."""
        self._add_fault(method, _Fault("garble", body=body), count)

    def enforce_limits(
        self, per_chat_per_second: int | None = 1, global_per_second: int | None = 30, group_per_minute: int | None = 20
    ) -> None:
        """From now on, sends faster than these sliding-window limits answer 429 with retry_after."""
        with self._cond:
            self._limiter = _RateLimiter(per_chat_per_second, global_per_second, group_per_minute)

    def relax_limits(self) -> None:
        """Stop enforcing send limits."""
        with self._cond:
            self._limiter = None

    # --- what the bot did ---

    @property
    def calls(self) -> list[Call]:
        """Every request answered so far (including 401s, faults and unknown methods), in answer order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method (any outcome)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """sendMessage calls that succeeded, optionally only those that reached `chat_id`."""
        return self._succeeded({"sendMessage"}, chat_id)

    def edits(self, chat_id: int | None = None) -> list[Call]:
        """editMessageText / editMessageReplyMarkup calls that succeeded, optionally in `chat_id`."""
        return self._succeeded({"editMessageText", "editMessageReplyMarkup"}, chat_id)

    def messages(self, chat_id: int) -> dict[int, str]:
        """The bot's messages in `chat_id` that still exist: message_id -> text as the user sees it now."""
        with self._cond:
            state = self._chats.get(chat_id)
            if state is None:
                return {}
            return {
                message.message_id: message.text or ""
                for message in state.messages.values()
                if message.from_bot and not message.deleted
            }

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        """The current state of one bot message (KeyError if the bot never sent it)."""
        with self._cond:
            message = self._chats[chat_id].messages[message_id]
            if not message.from_bot:
                raise KeyError(message_id)
            return BotMessage(
                chat_id,
                message_id,
                message.text or "",
                message.sent_text or "",
                message.parse_mode,
                message.reply_markup,
                message.edits,
                message.deleted,
            )

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The command list set with setMyCommands for `scope` (default scope) and language."""
        with self._cond:
            return list(self._commands.get(self._command_key(scope, language_code), []))

    def pending_updates(self) -> list[int]:
        """Ids of queued updates the bot has not acknowledged with a higher getUpdates offset."""
        with self._cond:
            return [update.update_id for update in self._updates]

    @property
    def too_many_requests(self) -> int:
        """How many 429 answers were sent (injected and enforced)."""
        with self._cond:
            return self._too_many

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of bugs in this fake (the fixture fails the test if there are any)."""
        with self._cond:
            return list(self._internal_errors)

    def wait_until(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until `predicate()` is truthy and return it; AssertionError after `timeout` seconds.

        Only for a bot running in another thread: in an async test it would block the bot's own loop.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_message(timeout))
                self._cond.wait(min(remaining, 0.05))

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Await until `predicate()` is truthy and return it; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(timeout))
            await asyncio.sleep(0.01)

    # --- request handling (called by handler threads) ---

    def _answer(self, target: str, content_type: str | None, body: bytes) -> _Answer:
        parts = urlsplit(target)
        match = _PATH.fullmatch(parts.path)
        if match is None:
            return _error_answer(_ApiError(404, "Not Found"))
        params: dict[str, Any] = {}
        decode_error: _ApiError | None = None
        try:
            query = parse_qsl(parts.query, keep_blank_values=True)
            params = {name: _decode_value(name, value) for name, value in query}
            params.update(_decode_body(content_type, body))
        except (_ApiError, UnicodeDecodeError) as exc:
            decode_error = exc if isinstance(exc, _ApiError) else _ApiError(400, "Bad Request: invalid UTF-8")
        return self._handle(match["token"], match["method"], params, decode_error)

    def _handle(self, token: str, method: str, params: dict[str, Any], decode_error: _ApiError | None) -> _Answer:
        arrived = time.monotonic()
        with self._cond:
            try:
                name, answer, result = self._dispatch(token, method, params, decode_error)
            except _Abandoned:
                return _Answer(0, {}, drop=True)  # not recorded: no client ever saw it
            if isinstance(answer.body, str):
                description: str | None = HTTPStatus(answer.status).phrase
            else:
                description = answer.body.get("description")
            self._calls.append(Call(name, params, token, arrived, answer.status, result, description))
            if answer.status == HTTPStatus.TOO_MANY_REQUESTS:
                self._too_many += 1
            self._cond.notify_all()
            return answer

    def _dispatch(
        self, token: str, method: str, params: dict[str, Any], decode_error: _ApiError | None
    ) -> tuple[str, _Answer, Any]:
        if token != self.token:
            return method, _error_answer(_ApiError(401, "Unauthorized")), None
        entry = self._methods.get(method.lower())
        name = entry[0] if entry is not None else method
        fault = self._take_fault(name)
        if fault is not None and fault.kind == "drop":
            return name, _Answer(0, {}, drop=True), None
        if fault is not None and fault.kind == "error":
            return name, _error_answer(_fault_error(fault)), None
        if decode_error is not None:
            return name, _error_answer(decode_error), None
        if entry is None:
            return name, _error_answer(_ApiError(404, "Not Found: method not found")), None
        try:
            result = entry[1](params)
        except _ApiError as error:
            return name, _error_answer(error), None
        if fault is not None and fault.kind == "garble" and fault.body is not None:
            return name, _Answer(200, fault.body), result
        delay = fault.seconds if fault is not None else 0.0
        return name, _Answer(200, {"ok": True, "result": result}, delay=delay), result

    # --- Bot API methods (called with the lock held) ---

    def _true(self, params: dict[str, Any]) -> bool:
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot.to_api() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        try:
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = min(max(float(params.get("timeout") or 0), 0.0), self.long_poll_cap)
        except (TypeError, ValueError) as exc:
            raise _ApiError(400, "Bad Request: wrong parameter in getUpdates request") from exc
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]  # persists, as on Telegram
        if isinstance(offset, int) and not isinstance(offset, bool):
            if offset < 0:  # the last -offset updates; everything older is forgotten
                self._updates = self._updates[offset:]
            else:  # an offset confirms every update below it
                self._updates = [update for update in self._updates if update.update_id >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = time.monotonic() + timeout
        while True:
            batch = [
                {"update_id": update.update_id, update.kind: update.payload}
                for update in self._updates
                if not self._allowed_updates or update.kind in self._allowed_updates
            ][:limit]
            if batch or self._closing.is_set():
                return batch
            if self._poll_generation != generation:
                if self._client_gone():  # PTB cancelled this poll (updater stop); no instance clash
                    raise _Abandoned
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    @staticmethod
    def _command_key(scope: Any, language_code: Any) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._command_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(command) for command in commands]
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self._commands.get(self._command_key(params.get("scope"), params.get("language_code")), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._command_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._chat_for(params, sending=True)
        text = params.get("text")
        if text is None:
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        visible = _visible_text(text, parse_mode)
        markup = _checked_markup(params.get("reply_markup"))
        reply_to = self._reply_target(state, params)
        thread = params.get("message_thread_id")
        if thread is not None and state.chat.is_forum and thread not in state.topics:
            raise _ApiError(400, "Bad Request: message thread not found")
        if self._limiter is not None:
            retry_after = self._limiter.admit(state.chat, time.monotonic())
            if retry_after:
                raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        state.last_message_id += 1
        message = _Message(
            state.last_message_id,
            int(time.time()),
            visible,
            text,
            parse_mode,
            markup,
            sender=None if state.chat.type == "channel" else self.bot,
            from_bot=True,
            extra={"message_thread_id": thread, "is_topic_message": True} if thread and state.chat.is_forum else {},
        )
        state.messages[message.message_id] = message
        data = self._message_json(state, message)
        if reply_to is not None:
            data["reply_to_message"] = self._message_json(state, reply_to)
        return data

    def _reply_target(self, state: _ChatState, params: dict[str, Any]) -> _Message | None:
        reply = params.get("reply_parameters")
        target_id: Any = None
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            target_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target_id = params.get("reply_to_message_id")
        if target_id is None:
            return None
        target = state.messages.get(int(target_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return target

    def _edited_message(self, params: dict[str, Any]) -> tuple[_ChatState, _Message]:
        state = self._chat_for(params, sending=True)
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return state, message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id") is not None:
            return True  # inline messages are not modelled; the call is recorded all the same
        state, message = self._edited_message(params)
        text = params.get("text")
        if text is None:
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        visible = _visible_text(text, parse_mode)
        # Telegram removes the inline keyboard when an edit of the text does not repeat it.
        markup = _inline(_checked_markup(params.get("reply_markup")))
        if visible == message.text and text == message.sent_text and markup == _inline(message.reply_markup):
            raise _ApiError(400, _MESSAGE_NOT_MODIFIED)
        message.text, message.sent_text, message.parse_mode = visible, text, parse_mode
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.edits += 1
        return self._message_json(state, message)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id") is not None:
            return True
        state, message = self._edited_message(params)
        markup = _inline(_checked_markup(params.get("reply_markup")))
        if markup == _inline(message.reply_markup):
            raise _ApiError(400, _MESSAGE_NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.edits += 1
        return self._message_json(state, message)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        state = self._chat_for(params, sending=True)
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        if not message.from_bot and state.chat.type != "private" and state.bot_status != "administrator":
            raise _ApiError(400, "Bad Request: message can't be deleted")
        message.deleted = True
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._open_queries.pop(query_id, None) is None:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._chat_for(params, sending=False)
        return state.chat.to_api() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._chat_for(params, sending=False)
        user_id = _int_param(params, "user_id", "user_id is empty")
        if user_id == self.bot.id:
            return self._member_json(state, self.bot, state.bot_status)
        user = self._users.get(user_id)
        if user is None:
            raise _ApiError(400, "Bad Request: user not found")
        if state.chat.type == "private":
            status = "member" if user_id == state.chat.id else "left"
        elif user_id in state.admins:
            status = "creator" if state.admins[0] == user_id else "administrator"
        else:
            status = "member" if user_id in state.members else "left"
        return self._member_json(state, user, status)

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = self._chat_for(params, sending=False)
        if state.chat.type == "private":
            raise _ApiError(400, "Bad Request: there are no administrators in the private chat")
        if state.chat.type == "channel" and state.bot_status != "administrator":
            raise _ApiError(400, "Bad Request: member list is inaccessible")
        admins = [
            self._member_json(state, self._user_of(user_id), "creator" if index == 0 else "administrator")
            for index, user_id in enumerate(state.admins)
        ]
        if state.bot_status == "administrator":
            admins.append(self._member_json(state, self.bot, "administrator"))
        return admins

    def _get_chat_member_count(self, params: dict[str, Any]) -> int:
        state = self._chat_for(params, sending=False)
        bot_in = state.bot_status in ("member", "administrator")
        return len(state.members | set(state.admins)) + int(bot_in)

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        state = self._chat_for(params, sending=True)
        del state
        if params.get("action") not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    # --- helpers (lock held) ---

    def _chat_for(self, params: Mapping[str, Any], *, sending: bool) -> _ChatState:
        """The chat a call targets, or the error Telegram gives for it (not found, migrated, forbidden)."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        state: _ChatState | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            state = next((s for s in self._chats.values() if (s.chat.username or "").lower() == wanted), None)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            state = self._chats.get(raw)
            if state is None and raw in self._users:
                raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if state is None:
            raise _ApiError(400, "Bad Request: chat not found")
        if state.migrated_to is not None:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        # A blocked user's chat can still be read; a group or channel the bot left cannot.
        if state.forbidden is not None and (sending or state.chat.type != "private"):
            raise _ApiError(403, state.forbidden)
        if sending and state.chat.type == "channel" and state.bot_status != "administrator":
            raise _ApiError(403, "Forbidden: bot is not a member of the channel chat")
        return state

    def _message_json(self, state: _ChatState, message: _Message) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": message.message_id, "date": message.date}
        if message.sender is not None:
            data["from"] = message.sender.to_api()
        if state.chat.type == "channel":
            data["sender_chat"] = state.chat.to_api()
        data["chat"] = state.chat.to_api()
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.text is not None:
            data["text"] = message.text
        if message.entities:
            data["entities"] = list(message.entities)
        markup = _inline(message.reply_markup)
        if markup is not None:
            data["reply_markup"] = markup
        data.update(message.extra)
        return data

    def _member_json(self, state: _ChatState, user: User, status: str) -> dict[str, Any]:
        data: dict[str, Any] = {"status": status, "user": user.to_api()}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            channel = state.chat.type == "channel"
            data |= {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": not channel,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": channel,
                "can_edit_stories": channel,
                "can_delete_stories": channel,
            }
            if channel:
                data |= {"can_post_messages": True, "can_edit_messages": True}
            else:
                data["can_pin_messages"] = True
        elif status == "kicked":
            data["until_date"] = 0
        return data

    def _queue_message(
        self,
        state: _ChatState,
        sender: User | None,
        text: str | None,
        *,
        kind: str = "message",
        extra: dict[str, Any] | None = None,
    ) -> Queued:
        state.last_message_id += 1
        message = _Message(
            state.last_message_id,
            int(time.time()),
            text,
            text,
            None,
            None,
            sender=sender,
            from_bot=False,
            entities=_command_entities(text) if text else None,
            extra=dict(extra or {}),
        )
        state.messages[message.message_id] = message
        update_id = self._queue(kind, self._message_json(state, message))
        return Queued(update_id, message_id=message.message_id)

    def _queue(self, kind: str, payload: dict[str, Any]) -> int:
        self._last_update_id += 1
        self._updates.append(_Update(self._last_update_id, kind, payload))
        self._cond.notify_all()
        return self._last_update_id

    def _state_of(self, chat: Chat | int) -> _ChatState:
        chat_id = chat.id if isinstance(chat, Chat) else chat
        state = self._chats.get(chat_id)
        if state is None:
            raise ValueError(f"unknown chat {chat_id}; create it with private_chat/group/channel first")
        return state

    def _ids(self, people: Iterable[int | User]) -> list[int]:
        ids: list[int] = []
        for person in people:
            if isinstance(person, User):
                self._users.setdefault(person.id, person)
                ids.append(person.id)
            else:
                ids.append(person)
        return ids

    def _user_of(self, user_id: int) -> User:
        return self._users.get(user_id) or User(user_id, f"User {user_id}")

    def _forbid(self, chat: Chat | int, description: str) -> None:
        with self._cond:
            state = self._state_of(chat)
            if state.chat.type != "private":
                raise ValueError("block/deactivate apply to private chats; use kick for groups and channels")
            state.forbidden = description

    def _add_fault(self, method: str, fault: _Fault, count: int) -> None:
        entry = self._methods.get(method.lower())
        key = entry[0] if entry is not None else method
        with self._cond:
            self._faults.setdefault(key, deque()).extend([fault] * count)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                return queue.popleft()
        return None

    def _succeeded(self, methods: set[str], chat_id: int | None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method in methods
            and call.ok
            and (chat_id is None or (isinstance(call.result, dict) and call.result["chat"]["id"] == chat_id))
        ]

    def _timeout_message(self, timeout: float) -> str:
        recent = ", ".join(f"{call.method}->{call.status}" for call in self.calls[-20:])
        return f"condition not met within {timeout} s; last calls: [{recent}]"

    # --- connection bookkeeping (for a clean stop) ---

    def _opened(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def _begin(self) -> None:
        with self._idle:
            self._in_flight += 1

    def _end(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def _client_gone(self) -> bool:
        """Whether the client of the current request closed its connection (EOF waiting to be read)."""
        connection: socket.socket | None = getattr(self._local, "connection", None)
        if connection is None:
            return False
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _internal_error(self, text: str) -> None:
        with self._cond:
            self._internal_errors.append(text.replace(self.token, "<token>"))


class _QuietServer(http.server.ThreadingHTTPServer):
    """Handler threads are daemons; a client hanging up is no error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # _Handler records real errors itself; what is left are clients that went away


class _Handler(http.server.BaseHTTPRequestHandler):
    """Reads one Bot API request, lets the FakeTelegram answer it, writes the answer."""

    fake: FakeTelegram
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx pool expects
    server_version = "nginx/1.18.0"
    sys_version = ""
    timeout = 30  # an idle kept-alive connection does not pin a thread forever
    # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.fake._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line holds the bot token, which must never be printed

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self.fake._begin()
        try:
            self._respond()
        finally:
            self.fake._end()

    def _respond(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self.fake._local.connection = self.connection
            answer = self.fake._answer(self.path, self.headers.get("Content-Type"), body)
        except Exception:  # a bug in the fake: answer 500 and make the fixture fail the test
            self.fake._internal_error(traceback.format_exc())
            answer = _error_answer(_ApiError(500, "Internal Server Error (bug in FakeTelegram)"))
        if answer.delay:
            self.fake._closing.wait(answer.delay)
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(answer.body, str):
            payload, content_type = answer.body.encode(), "text/html"
        else:
            payload, content_type = json.dumps(answer.body).encode(), "application/json"
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout)
            self.close_connection = True


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A FakeTelegram running for the duration of one test; fails the test if the fake itself broke."""
    server = FakeTelegram()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    if server.internal_errors:
        pytest.fail("FakeTelegram had internal errors:\n" + "\n".join(server.internal_errors))

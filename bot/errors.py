"""One error tree. Each error carries what identifies it (feed, URL, file, chat) so an operator can act."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(BotError):
    """feeds.yaml or the environment is wrong. `problems` lists 'file:line: key: what is wrong' lines."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


class FeedError(BotError):
    """A feed could not be fetched or parsed. `kind` is short and stable (timeout, http-500, too-large...)."""

    def __init__(self, feed: str, url: str, kind: str, detail: str = "") -> None:
        self.feed = feed
        self.url = url
        self.kind = kind
        self.detail = detail
        text = f"{kind}: {detail}" if detail else kind
        super().__init__(f"feed {feed!r} ({url}): {text}")

    @property
    def reason(self) -> str:
        """What is stored on the feed row and shown to operators."""
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


class FeedGone(FeedError):
    """The server answered 410 Gone: the feed is disabled."""


class SchemaError(BotError):
    """The database schema is missing or older than this code; `advocacy-bot db upgrade` fixes it."""


class DeliveryError(BotError):
    """A message could not be delivered to a chat."""

    def __init__(self, chat_id: int, reason: str) -> None:
        self.chat_id = chat_id
        self.reason = reason
        super().__init__(f"chat {chat_id}: {reason}")


class RetryLater(DeliveryError):
    """Telegram asked to wait `seconds` (429). `whole_bot` when the limit is the bot's, not the chat's."""

    def __init__(self, chat_id: int, seconds: float, *, whole_bot: bool = False) -> None:
        self.seconds = seconds
        self.whole_bot = whole_bot
        super().__init__(chat_id, f"flood control: retry in {seconds:g} s")


class TransientDeliveryError(DeliveryError):
    """A network error, timeout or 5xx: worth retrying with backoff."""


class DeliveryUncertain(TransientDeliveryError):
    """The request reached Telegram but no answer came back (a read timeout): it may have been delivered.

    A send that ends this way is not repeated, so no one gets an alert twice; an edit is repeated, since
    editing twice shows the same message.
    """


class ChatUnreachable(DeliveryError):
    """The bot was blocked, kicked, or the chat does not exist: the chat's subscription is deactivated."""


class ChatMoved(DeliveryError):
    """A group became a supergroup with a new id; sends must go to `new_chat_id`."""

    def __init__(self, chat_id: int, new_chat_id: int) -> None:
        self.new_chat_id = new_chat_id
        super().__init__(chat_id, f"group moved to {new_chat_id}")


class ThreadGone(DeliveryError):
    """The forum topic the chat's alerts went to was deleted: send to the chat's General topic instead."""


class MessageRejected(DeliveryError):
    """Telegram refused this message for good (400 other than a move): retrying cannot help."""

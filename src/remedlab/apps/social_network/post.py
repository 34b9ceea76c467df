"""Social Network's data shapes, the original's Thrift structs: a post, its creator, the users it
mentions, its media and its shortened URLs.

Between services they travel as JSON objects with the structs' field names (``post_id``,
``creator: {user_id, username}``, ``user_mentions``, ``media``, ``urls``, ``timestamp`` in ms,
``post_type``). :func:`front_end_post` is how nginx-thrift answers a post: every id and the
timestamp written as text, as the original's Lua does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from remedlab.apps.kit.fields import MAX_NAME, MAX_TEXT, id_field, list_field, text_field
from remedlab.apps.kit.rpc import BadRequest

Json = dict[str, Any]


class PostType(IntEnum):
    POST = 0
    REPOST = 1
    REPLY = 2
    DM = 3


def post_type_value(value: Any, name: str = "post_type") -> PostType:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value not in PostType._value2member_map_:
        raise BadRequest(f"{name} must be one of {', '.join(str(t.value) for t in PostType)}")
    return PostType(value)


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadRequest(f"{name} must be an object")
    return value


@dataclass(frozen=True, slots=True)
class Creator:
    user_id: int
    username: str

    def to_json(self) -> Json:
        return {"user_id": self.user_id, "username": self.username}

    @classmethod
    def from_json(cls, value: Any, name: str = "creator") -> Creator:
        data = _object(value, name)
        return cls(id_field(data, "user_id"), text_field(data, "username", max_length=MAX_NAME))


@dataclass(frozen=True, slots=True)
class UserMention:
    user_id: int
    username: str

    def to_json(self) -> Json:
        return {"user_id": self.user_id, "username": self.username}

    @classmethod
    def from_json(cls, value: Any, name: str = "user_mentions") -> UserMention:
        data = _object(value, name)
        return cls(id_field(data, "user_id"), text_field(data, "username", max_length=MAX_NAME))


@dataclass(frozen=True, slots=True)
class Media:
    media_id: int
    media_type: str

    def to_json(self) -> Json:
        return {"media_id": self.media_id, "media_type": self.media_type}

    @classmethod
    def from_json(cls, value: Any, name: str = "media") -> Media:
        data = _object(value, name)
        return cls(id_field(data, "media_id"), text_field(data, "media_type", required=False))


@dataclass(frozen=True, slots=True)
class Url:
    shortened_url: str
    expanded_url: str

    def to_json(self) -> Json:
        return {"shortened_url": self.shortened_url, "expanded_url": self.expanded_url}

    @classmethod
    def from_json(cls, value: Any, name: str = "urls") -> Url:
        data = _object(value, name)
        return cls(
            text_field(data, "shortened_url", max_length=MAX_TEXT),
            text_field(data, "expanded_url", max_length=MAX_TEXT),
        )


@dataclass(frozen=True, slots=True)
class Post:
    post_id: int
    creator: Creator
    req_id: int
    text: str
    user_mentions: tuple[UserMention, ...]
    media: tuple[Media, ...]
    urls: tuple[Url, ...]
    timestamp: int
    post_type: PostType

    def to_json(self) -> Json:
        return {
            "post_id": self.post_id,
            "creator": self.creator.to_json(),
            "req_id": self.req_id,
            "text": self.text,
            "user_mentions": [m.to_json() for m in self.user_mentions],
            "media": [m.to_json() for m in self.media],
            "urls": [u.to_json() for u in self.urls],
            "timestamp": self.timestamp,
            "post_type": int(self.post_type),
        }

    @classmethod
    def from_json(cls, value: Any, name: str = "post") -> Post:
        data = _object(value, name)
        return cls(
            post_id=id_field(data, "post_id"),
            creator=Creator.from_json(data.get("creator")),
            req_id=id_field(data, "req_id"),
            text=text_field(data, "text", max_length=MAX_TEXT, required=False),
            user_mentions=tuple(UserMention.from_json(v) for v in list_field(data, "user_mentions")),
            media=tuple(Media.from_json(v) for v in list_field(data, "media")),
            urls=tuple(Url.from_json(v) for v in list_field(data, "urls")),
            timestamp=id_field(data, "timestamp"),
            post_type=post_type_value(data.get("post_type")),
        )


def front_end_post(post: Post) -> Json:
    """A post as nginx-thrift answers it: ids, timestamps and the request id as text."""
    return {
        "post_id": str(post.post_id),
        "creator": {"user_id": str(post.creator.user_id), "username": post.creator.username},
        "req_id": str(post.req_id),
        "text": post.text,
        "user_mentions": [{"user_id": str(m.user_id), "username": m.username} for m in post.user_mentions],
        "media": [{"media_id": str(m.media_id), "media_type": m.media_type} for m in post.media],
        "urls": [{"shortened_url": u.shortened_url, "expanded_url": u.expanded_url} for u in post.urls],
        "timestamp": str(post.timestamp),
        "post_type": int(post.post_type),
    }

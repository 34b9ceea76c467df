"""What the two timeline services share: a timeline's slice as a method reads it, and the posts of a
slice read from post-storage-service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remedlab.apps.kit.client import ServiceClient
from remedlab.apps.kit.fields import id_field, index_field
from remedlab.apps.social_network.post import Post
from remedlab.apps.social_network.rpc import POST_STORAGE, answer_objects, call


def slice_fields(body: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(user_id, start, stop)``: the posts at positions start … stop-1, newest first."""
    return id_field(body, "user_id"), index_field(body, "start"), index_field(body, "stop")


async def read_posts(client: ServiceClient, req_id: int, post_ids: list[int]) -> list[Post]:
    """The posts of ``post_ids``, in order, from post-storage-service (which is called even for none)."""
    reply = await call(client, POST_STORAGE, "ReadPosts", {"req_id": req_id, "post_ids": post_ids}, read=True)
    return answer_objects(reply, "posts", POST_STORAGE, Post.from_json)

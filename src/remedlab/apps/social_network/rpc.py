"""Social Network's services as JSON over HTTP (:mod:`remedlab.apps.kit.thrift_rpc`): each service
on port 9090, its methods under the IDL's namespace ``social_network`` (``POST
/social_network.TextService/ComposeText`` on ``text-service``).
"""

from __future__ import annotations

from remedlab.apps.kit.thrift_rpc import (
    CALL_TIMEOUT,
    NESTED_CALL_TIMEOUT,
    Peer,
    answer_list,
    answer_objects,
    call,
    methods,
    read_answer,
    tables_readable,
    unique,
    use_client_pool,
)
from remedlab.apps.kit.thrift_rpc import rpc_path as _rpc_path

__all__ = [
    "CALL_TIMEOUT",
    "NESTED_CALL_TIMEOUT",
    "Peer",
    "answer_list",
    "answer_objects",
    "call",
    "methods",
    "read_answer",
    "tables_readable",
    "unique",
    "use_client_pool",
]

NAMESPACE = "social_network"
PORT = 9090


def _peer(service: str, thrift: str) -> Peer:
    return Peer(service, thrift, NAMESPACE)


COMPOSE_POST = _peer("compose-post-service", "ComposePostService")
HOME_TIMELINE = _peer("home-timeline-service", "HomeTimelineService")
MEDIA = _peer("media-service", "MediaService")
POST_STORAGE = _peer("post-storage-service", "PostStorageService")
SOCIAL_GRAPH = _peer("social-graph-service", "SocialGraphService")
TEXT = _peer("text-service", "TextService")
UNIQUE_ID = _peer("unique-id-service", "UniqueIdService")
URL_SHORTEN = _peer("url-shorten-service", "UrlShortenService")
USER_MENTION = _peer("user-mention-service", "UserMentionService")
USER = _peer("user-service", "UserService")
USER_TIMELINE = _peer("user-timeline-service", "UserTimelineService")


def rpc_path(thrift_service: str, method: str) -> str:
    """``/social_network.TextService/ComposeText`` for ``("TextService", "ComposeText")``."""
    return _rpc_path(NAMESPACE, thrift_service, method)

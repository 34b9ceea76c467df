"""Media Microservices' services as JSON over HTTP (:mod:`remedlab.apps.kit.thrift_rpc`): each service
on port 9090, its methods under the IDL's namespace ``media_service`` (``POST
/media_service.TextService/UploadText`` on ``text-service``).
"""

from __future__ import annotations

from remedlab.apps.kit.thrift_rpc import Peer

NAMESPACE = "media_service"
PORT = 9090


def _peer(service: str, thrift: str) -> Peer:
    return Peer(service, thrift, NAMESPACE)


CAST_INFO = _peer("cast-info-service", "CastInfoService")
COMPOSE_REVIEW = _peer("compose-review-service", "ComposeReviewService")
MOVIE_ID = _peer("movie-id-service", "MovieIdService")
MOVIE_INFO = _peer("movie-info-service", "MovieInfoService")
MOVIE_REVIEW = _peer("movie-review-service", "MovieReviewService")
PAGE = _peer("page-service", "PageService")
PLOT = _peer("plot-service", "PlotService")
RATING = _peer("rating-service", "RatingService")
REVIEW_STORAGE = _peer("review-storage-service", "ReviewStorageService")
TEXT = _peer("text-service", "TextService")
UNIQUE_ID = _peer("unique-id-service", "UniqueIdService")
USER = _peer("user-service", "UserService")
USER_REVIEW = _peer("user-review-service", "UserReviewService")

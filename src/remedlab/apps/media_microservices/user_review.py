"""user-review-service: each user's reviews, newest first (port 9090), in user-review-mongodb with
user-review-redis in front (see :mod:`remedlab.apps.media_microservices.review_index`)."""

from __future__ import annotations

from remedlab.apps.media_microservices.review_index import ReviewIndex, serve_index, user_owner
from remedlab.apps.media_microservices.rpc import USER_REVIEW

INDEX = ReviewIndex(USER_REVIEW, "User", "user_review", user_owner)


def main() -> None:
    serve_index(INDEX)


if __name__ == "__main__":
    main()

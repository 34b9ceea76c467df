"""movie-review-service: each movie's reviews, newest first (port 9090), in movie-review-mongodb with
movie-review-redis in front (see :mod:`remedlab.apps.media_microservices.review_index`)."""

from __future__ import annotations

from remedlab.apps.media_microservices.review_index import ReviewIndex, movie_owner, serve_index
from remedlab.apps.media_microservices.rpc import MOVIE_REVIEW

INDEX = ReviewIndex(MOVIE_REVIEW, "Movie", "movie_review", movie_owner)


def main() -> None:
    serve_index(INDEX)


if __name__ == "__main__":
    main()

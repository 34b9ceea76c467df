"""The catalog Media Microservices starts with: movies, their casts and plots, the cast's people and
the users, drawn from the word lists of ``data/catalog.yaml`` with its seed.

Pure: :func:`generate` turns a :class:`CatalogSpec` into a :class:`Catalog`, the same spec always giving
the same catalog. Titles are distinct (``<adjective> <noun>``, drawn without repeats); each movie's
cast is distinct people; ratings are between 5 and 9.5 with 10 to 500 votes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from remedlab.apps.kit.passwords import SALT_ALPHABET, SALT_LENGTH, password_hash

PACKAGE = "remedlab.apps.media_microservices"
DATA_FILE = "catalog.yaml"


class DatasetError(ValueError):
    """The catalog file is missing or malformed; the message says what."""


class CatalogSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int
    movies: int = Field(ge=1)
    people: int = Field(ge=1)
    users: int = Field(ge=1)
    movie_id_base: int = Field(ge=0)
    cast_per_movie: tuple[int, int]
    adjectives: tuple[str, ...] = Field(min_length=1)
    nouns: tuple[str, ...] = Field(min_length=1)
    first_names: tuple[str, ...] = Field(min_length=1)
    last_names: tuple[str, ...] = Field(min_length=1)
    characters: tuple[str, ...] = Field(min_length=1)
    professions: tuple[str, ...] = Field(min_length=1)
    plot_openings: tuple[str, ...] = Field(min_length=1)
    plot_turns: tuple[str, ...] = Field(min_length=1)
    plot_endings: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fits(self) -> CatalogSpec:
        low, high = self.cast_per_movie
        if not 1 <= low <= high <= self.people:
            raise ValueError(f"cast_per_movie must be 1 <= low <= high <= people, not {low}, {high}")
        if self.movies > len(set(self.adjectives)) * len(set(self.nouns)):
            raise ValueError("more movies than distinct titles the adjectives and nouns make")
        return self


@dataclass(frozen=True, slots=True)
class Person:
    """A cast-info record."""

    cast_info_id: int
    name: str
    gender: bool
    intro: str


@dataclass(frozen=True, slots=True)
class CastMember:
    cast_id: int
    character: str
    cast_info_id: int


@dataclass(frozen=True, slots=True)
class Movie:
    movie_id: str
    title: str
    plot_id: int
    plot: str
    casts: tuple[CastMember, ...]
    thumbnail_ids: tuple[str, ...]
    photo_ids: tuple[str, ...]
    video_ids: tuple[str, ...]
    avg_rating: float
    num_rating: int


@dataclass(frozen=True, slots=True)
class Account:
    user_id: int
    first_name: str
    last_name: str
    username: str
    password: str
    salt: str

    @property
    def password_hash(self) -> str:
        return password_hash(self.password, self.salt)


@dataclass(frozen=True, slots=True)
class Catalog:
    movies: tuple[Movie, ...]
    people: tuple[Person, ...]
    users: tuple[Account, ...]


def parse_spec(data: object) -> CatalogSpec:
    try:
        return CatalogSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise DatasetError(f"{DATA_FILE}: {where}: {first['msg']}") from None


@cache
def load_spec() -> CatalogSpec:
    entry = resources.files(PACKAGE).joinpath("data", DATA_FILE)
    try:
        return parse_spec(yaml.safe_load(entry.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{DATA_FILE}: cannot be read: {exc}") from None


def titles(spec: CatalogSpec) -> list[str]:
    """The movies' titles, in movie order."""
    every = [f"{a} {n}" for a in dict.fromkeys(spec.adjectives) for n in dict.fromkeys(spec.nouns)]
    return random.Random(spec.seed).sample(every, spec.movies)


def _people(spec: CatalogSpec, rng: random.Random) -> tuple[Person, ...]:
    people = []
    for cast_info_id in range(1, spec.people + 1):
        name = f"{rng.choice(spec.first_names)} {rng.choice(spec.last_names)}"
        year = rng.randint(1940, 2000)
        intro = f"{name} is a {rng.choice(spec.professions)} born in {year}."
        people.append(Person(cast_info_id, name, rng.random() < 0.5, intro))
    return tuple(people)


def _movie(spec: CatalogSpec, rng: random.Random, index: int, title: str) -> Movie:
    movie_id = str(spec.movie_id_base + index)
    low, high = spec.cast_per_movie
    members = rng.sample(range(1, spec.people + 1), rng.randint(low, high))
    casts = tuple(CastMember(k, rng.choice(spec.characters), person) for k, person in enumerate(members))
    plot = f"{rng.choice(spec.plot_openings)}, {rng.choice(spec.plot_turns)} {rng.choice(spec.plot_endings)}"
    return Movie(
        movie_id=movie_id,
        title=title,
        plot_id=index + 1,
        plot=plot,
        casts=casts,
        thumbnail_ids=tuple(f"{movie_id}-thumbnail-{k}" for k in range(3)),
        photo_ids=tuple(f"{movie_id}-photo-{k}" for k in range(2)),
        video_ids=(f"{movie_id}-video-0",),
        avg_rating=round(rng.uniform(5.0, 9.5), 1),
        num_rating=rng.randint(10, 500),
    )


def _account(spec: CatalogSpec, rng: random.Random, user_id: int) -> Account:
    salt = "".join(rng.choice(SALT_ALPHABET) for _ in range(SALT_LENGTH))
    first, last = rng.choice(spec.first_names), rng.choice(spec.last_names)
    return Account(user_id, first, last, f"username_{user_id}", f"password_{user_id}", salt)


def generate(spec: CatalogSpec) -> Catalog:
    rng = random.Random(spec.seed + 1)
    people = _people(spec, rng)
    movies = tuple(_movie(spec, rng, i, title) for i, title in enumerate(titles(spec)))
    users = tuple(_account(spec, rng, i) for i in range(spec.users))
    return Catalog(movies, people, users)

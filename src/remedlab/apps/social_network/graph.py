"""The social graph Social Network starts with: users and friendships, generated from a seed.

A dataset file (``data/<name>.yaml``) gives the number of users and of friendships (undirected
edges), the seed, and the shape of the degree distribution. :func:`generate` draws an expected
degree per user from a log-normal distribution, joins every user to one friend drawn in proportion
to those degrees (so nobody is alone), then draws further pairs the same way until the graph has
exactly the number of edges asked for: no user is their own friend and no pair appears twice. The
same dataset gives the same graph, edge for edge.

Users are numbered 0 … users-1; the original's init script registers user ``i`` as
``username_i`` with user id ``i`` and follows each friendship both ways (:meth:`Graph.follows`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import accumulate
from typing import Any

import yaml

from remedlab.apps.kit.passwords import SALT_ALPHABET, SALT_LENGTH, password_hash

PACKAGE = "remedlab.apps.social_network"
DEFAULT_DATASET = "socfb-Reed98"
DRAW_BATCH = 4096


class DatasetError(ValueError):
    """A dataset file is missing or malformed; the message says which field."""


@dataclass(frozen=True, slots=True)
class Accounts:
    """How user ``i``'s fields are written (``{i}`` stands for the number)."""

    username: str
    first_name: str
    last_name: str
    password: str


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    users: int
    edges: int
    seed: int
    degree_median: float
    degree_sigma: float
    accounts: Accounts
    followed_at_ms: int


@dataclass(frozen=True, slots=True)
class Account:
    """A registered user, as the user database keeps it (the password as SHA-256 of password + salt)."""

    user_id: int
    first_name: str
    last_name: str
    username: str
    salt: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class Follow:
    user_id: int
    followee_id: int
    timestamp: int


@dataclass(frozen=True)
class Graph:
    """``users`` people and their friendships, each a pair ``(a, b)`` with ``a < b``."""

    dataset: Dataset
    edges: tuple[tuple[int, int], ...]

    @property
    def users(self) -> int:
        return self.dataset.users

    def degrees(self) -> list[int]:
        """Each user's number of friends."""
        counts = [0] * self.users
        for a, b in self.edges:
            counts[a] += 1
            counts[b] += 1
        return counts

    def follows(self) -> Iterator[Follow]:
        """Each friendship followed both ways, ``a`` then ``b``, one ms apart from the dataset's start."""
        at = self.dataset.followed_at_ms
        for a, b in self.edges:
            yield Follow(a, b, at)
            yield Follow(b, a, at + 1)
            at += 2

    def accounts(self) -> Iterator[Account]:
        """The users as the original's init script registers them, salts drawn from the dataset's seed."""
        rng = random.Random(f"{self.dataset.seed}:accounts")
        form = self.dataset.accounts
        for i in range(self.users):
            salt = "".join(rng.choices(SALT_ALPHABET, k=SALT_LENGTH))
            password = form.password.format(i=i)
            yield Account(
                user_id=i,
                first_name=form.first_name.format(i=i),
                last_name=form.last_name.format(i=i),
                username=form.username.format(i=i),
                salt=salt,
                password_hash=password_hash(password, salt),
            )


# --------------------------------------------------------------------------- datasets


def _number(data: dict[str, Any], key: str, source: str, *, low: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < low:
        raise DatasetError(f"{source}: {key} must be a number of at least {low:g}, not {value!r}")
    return float(value)


def _whole(data: dict[str, Any], key: str, source: str, *, low: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise DatasetError(f"{source}: {key} must be a whole number of at least {low}, not {value!r}")
    return value


def _template(data: dict[str, Any], key: str, source: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or "{i}" not in value:
        raise DatasetError(f"{source}: accounts.{key} must be text holding {{i}}, not {value!r}")
    return value


def parse_dataset(data: Any, source: str = "dataset") -> Dataset:
    if not isinstance(data, dict):
        raise DatasetError(f"{source}: expected a mapping")
    degrees, accounts = data.get("degrees"), data.get("accounts")
    if not isinstance(degrees, dict) or not isinstance(accounts, dict):
        raise DatasetError(f"{source}: degrees and accounts must be mappings")
    users = _whole(data, "users", source, low=2)
    edges = _whole(data, "edges", source, low=1)
    if edges > users * (users - 1) // 2:
        raise DatasetError(f"{source}: {users} users have at most {users * (users - 1) // 2} friendships")
    if edges < (users + 1) // 2:
        raise DatasetError(f"{source}: {edges} friendships cannot give each of {users} users a friend")
    return Dataset(
        name=str(data.get("name") or source),
        users=users,
        edges=edges,
        seed=_whole(data, "seed", source, low=0),
        degree_median=_number(degrees, "median", source, low=1),
        degree_sigma=_number(degrees, "sigma", source, low=0),
        accounts=Accounts(
            username=_template(accounts, "username", source),
            first_name=_template(accounts, "first_name", source),
            last_name=_template(accounts, "last_name", source),
            password=_template(accounts, "password", source),
        ),
        followed_at_ms=_whole(data, "followed_at_ms", source, low=0),
    )


@cache
def load_dataset(name: str = DEFAULT_DATASET) -> Dataset:
    """The dataset ``data/<name>.yaml`` of the package."""
    entry = resources.files(PACKAGE).joinpath("data", f"{name}.yaml")
    if not entry.is_file():
        known = sorted(p.name.removesuffix(".yaml") for p in resources.files(PACKAGE).joinpath("data").iterdir())
        raise DatasetError(f"no dataset {name!r}: choose one of {', '.join(known)}")
    try:
        data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DatasetError(f"{name}: not YAML: {exc}") from None
    return parse_dataset(data, name)


# --------------------------------------------------------------------------- generation


def expected_degrees(dataset: Dataset, rng: random.Random) -> list[float]:
    """Each user's weight: a log-normal draw with the dataset's median and shape."""
    mu = math.log(dataset.degree_median)
    return [rng.lognormvariate(mu, dataset.degree_sigma) for _ in range(dataset.users)]


def generate(dataset: Dataset) -> Graph:
    """The dataset's graph: exactly ``dataset.edges`` friendships among ``dataset.users`` users."""
    rng = random.Random(dataset.seed)
    weights = expected_degrees(dataset, rng)
    cumulative = list(accumulate(weights))
    people = range(dataset.users)
    edges: set[tuple[int, int]] = set()

    def add(a: int, b: int) -> None:
        if a != b and len(edges) < dataset.edges:
            edges.add((a, b) if a < b else (b, a))

    # everyone a friend first, in a seeded order, then pairs in proportion to both weights
    order = list(people)
    rng.shuffle(order)
    befriended = [False] * dataset.users
    for person in order:
        if befriended[person]:
            continue
        while True:
            (friend,) = rng.choices(people, cum_weights=cumulative)
            if friend != person:
                break
        add(person, friend)
        befriended[person] = befriended[friend] = True
    while len(edges) < dataset.edges:
        drawn = rng.choices(people, cum_weights=cumulative, k=2 * DRAW_BATCH)
        for a, b in zip(drawn[::2], drawn[1::2], strict=True):
            add(a, b)
    return Graph(dataset, tuple(sorted(edges)))


@cache
def default_graph() -> Graph:
    return generate(load_dataset())

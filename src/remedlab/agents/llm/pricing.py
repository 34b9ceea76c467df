"""The price table (prices.yaml, or a file the user gives): what a model's tokens cost, in dollars."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from remedlab.agents.llm.chat import Usage

PER = 1_000_000


class PriceTableError(ValueError):
    """The price file cannot be read or has a malformed entry; the message says which."""


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cached: float

    def cost(self, usage: Usage) -> float:
        fresh = max(usage.input_tokens - usage.cached_tokens, 0)
        return (fresh * self.input + usage.cached_tokens * self.cached + usage.output_tokens * self.output) / PER


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        if path is None:
            text = resources.files("remedlab.agents.llm").joinpath("prices.yaml").read_text()
            where = "the built-in price table"
        else:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise PriceTableError(f"cannot read the price file {path}: {exc.strerror}") from None
            where = str(path)
        try:
            raw = (yaml.safe_load(text) or {}).get("prices") or {}
        except (yaml.YAMLError, AttributeError) as exc:
            raise PriceTableError(f"{where} is not a YAML mapping with `prices`: {exc}") from None
        prices: dict[str, Price] = {}
        for name, entry in raw.items():
            try:
                prices[str(name)] = Price(
                    float(entry["input"]), float(entry["output"]), float(entry.get("cached", entry["input"]))
                )
            except (KeyError, TypeError, ValueError):
                raise PriceTableError(
                    f"{where}: prices.{name} needs numeric `input` and `output` (dollars per million tokens)"
                ) from None
        return cls(prices)

    def price_of(self, model: str) -> Price | None:
        """The entry with the longest name that ``model`` starts with (after any ``provider/`` prefix)."""
        name = model.rsplit("/", 1)[-1].lower()
        matches = [key for key in self.prices if name.startswith(key.lower())]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.price_of(model)
        return None if price is None else price.cost(usage)

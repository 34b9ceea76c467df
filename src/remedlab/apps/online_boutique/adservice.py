"""adservice: text ads for the categories a page is about, or random ones (port 9555)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from remedlab.apps.kit.rpc import serve, service_app
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.data_files import load_json
from remedlab.apps.online_boutique.model import Ad
from remedlab.apps.online_boutique.rpc import Body, field_str_list, listen_port, methods

SERVICE = "adservice"
PORT = 9555
ADS_FILE = "ads.json"

log = get_logger(SERVICE)


@dataclass(frozen=True)
class AdBook:
    """The ads, by category, and how many random ones to serve when none match."""

    by_category: Mapping[str, Sequence[Ad]]
    max_random: int

    @classmethod
    def from_json(cls, data: Any) -> AdBook:
        by_category = {
            str(category): tuple(Ad(str(ad["redirect_url"]), str(ad["text"])) for ad in ads)
            for category, ads in data["ads_by_category"].items()
        }
        return cls(by_category, int(data["max_random_ads"]))

    @property
    def all_ads(self) -> list[Ad]:
        return [ad for ads in self.by_category.values() for ad in ads]

    def ads_for(self, context_keys: Iterable[str], rng: random.Random | None = None) -> list[Ad]:
        """The ads of every category named in ``context_keys``; random ads when that is none."""
        matching = [ad for key in context_keys for ad in self.by_category.get(key, ())]
        if matching:
            return matching
        everything = self.all_ads
        draw = rng or random
        return [draw.choice(everything) for _ in range(self.max_random)] if everything else []


def load_ad_book() -> AdBook:
    return AdBook.from_json(load_json(ADS_FILE))


def create_app(book: AdBook | None = None) -> web.Application:
    ads = book or load_ad_book()

    async def get_ads(app: web.Application, body: Body) -> Mapping[str, Any]:
        keys = field_str_list(body, "context_keys")
        log.info(f"received ad request (context_words={keys})")
        return {"ads": [ad.to_json() for ad in ads.ads_for(keys)]}

    return service_app(log, methods({("AdService", "GetAds"): get_ads}))


def main() -> None:
    serve(SERVICE, listen_port(PORT), create_app)


if __name__ == "__main__":
    main()

"""Hotel Reservation (DeathStarBench): frontend, search, geo, rate, profile, recommendation, reservation, user.

One image holds every program; a Deployment's ``command`` names the one it runs.
The services talk JSON over HTTP at gRPC-style paths (``/geo.Geo/Nearby``) and
keep their data in PostgreSQL, with memcached in front of rate, profile and
reservation.
"""

"""Online Boutique: a web shop of eleven services (cart on Redis) and its load generator.

Each service is a module with a ``main()``; services call each other with JSON
POSTs at paths named after the shop's RPC methods
(``/hipstershop.CartService/AddItem``), so traces read as the operations they are.
"""

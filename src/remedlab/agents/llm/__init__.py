"""Chat models with tool calling, behind one interface (see :mod:`.chat`)."""

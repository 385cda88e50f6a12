"""One module per paper figure; each has ``main()`` taking ``--metrics`` and ``--out``."""

"""One module per paper figure, run as ``python -m separations.figures.<name>
--input NAME=PATH ... --out FILE``."""

"""The one error a bad configuration raises, at the bottom of the package so that every layer
(tasks and models included) refuses bad input with the same type: the message names the key or
parameter and the values allowed."""


class ConfigError(ValueError):
    """The configuration cannot be run; the message names the key and the allowed values."""


__all__ = ["ConfigError"]

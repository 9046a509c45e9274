"""The channels this organization is in, from settings.CHANNELS (BACKEND_CHANNELS)."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Channel:
    name: str
    # Users may download model files (when the model's permissions also allow it).
    model_export_enabled: bool
    # The channel holds this organization alone.
    restricted: bool


class UnknownChannel(ValueError):
    pass


def get_channel(name: str) -> Channel:
    try:
        options = settings.CHANNELS[name]
    except KeyError:
        raise UnknownChannel(f"{name!r} is not a channel of this organization") from None
    return Channel(name=name, **options)


def channel_names() -> list[str]:
    return sorted(settings.CHANNELS)

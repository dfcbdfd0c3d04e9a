"""How a rung's conda command names the source's channels: alone, or first and per package."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..history import spec_name
from ..policy import qualify
from ..prefix import normalize_name

#: conda older than this reads `URL::pkg` as `channel_alias/<last part>::pkg` (#16176; the
#: hooks' gate in hooks/versions.py), and lowercases it in a spec file
URL_SPECS_SINCE = (26, 7)


@dataclass(frozen=True)
class RungChannels:
    """The source's channels for the target's conda, with or without `--override-channels`.

    Without it (the target pins `override_channels_enabled: false`), -c puts the source's
    channels above the target's configured ones, and `channel::pkg` takes each package from
    the channel it came from; the configured channels still join the solve.
    """

    exclusive: bool  # --override-channels: exactly these channels, none of the target's
    origins: Mapping[str, str]  # package name -> the channel it came from in the source
    url_specs: bool  # `URL::pkg` keeps the URL (target conda >= 26.7)

    def args(self, channels: Sequence[str]) -> tuple[str, ...]:
        """`--channel` per channel, in this order (after `--override-channels` when exclusive)."""
        args: list[str] = ["--override-channels"] if self.exclusive else []
        for channel in dict.fromkeys(channels):
            args += ["--channel", channel]
        return tuple(args)

    def specs(self, specs: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Not exclusive: each spec as `channel::spec` when its source channel is one of
        `channels` and the target's conda reads that channel before `::`."""
        if self.exclusive:
            return list(specs)
        return [self._spec(spec, channels) for spec in specs]

    def _spec(self, spec: str, channels: Sequence[str]) -> str:
        channel = self.origins.get(normalize_name(spec_name(spec)), "")
        if channel not in channels or ("://" in channel and not self.url_specs):
            return spec
        return qualify(spec, channel)


def rung_channels(manifest: Mapping[str, Any], *, exclusive: bool, url_specs: bool) -> RungChannels:
    """RungChannels for one env, its packages' channels as its exported env files name them."""
    origins = {
        normalize_name(str(r["name"])): str(r["channel"])
        for r in manifest.get("conda", [])
        if r.get("channel")
    }
    return RungChannels(exclusive=exclusive, origins=origins, url_specs=url_specs)

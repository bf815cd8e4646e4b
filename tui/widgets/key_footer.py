"""The key footer: Textual's ``Footer`` that rebuilds itself only when what it shows changes.

Textual's footer recomposes (unmounts and mounts one widget per key) every time the
screen's bindings are *updated*, and they are updated on every focus change: with the
grading screen's twenty keys, Tab between panes cost 0.2-0.6 s of the event loop on
the shared 2-core machine, so a score key pressed right after Tab waited for it
(``bench/bench_review_wait.py``). Moving focus between panes rarely changes which keys
apply, so this footer compares what it would show (key, label, enabled) with what it
shows and skips the rebuild when they are equal.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

KeyRow = tuple[tuple[str, str, str, bool, str], ...]


class KeyFooter(Footer):
    """A ``Footer`` without rebuilds that would show the same keys."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self.shown: KeyRow | None = None

    def keys_to_show(self) -> KeyRow:
        return tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip or "")
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        if screen is self.screen and self.is_attached and screen.app.app_focus:
            keys = self.keys_to_show()
            if keys == self.shown:
                return
            self.shown = keys
        super().bindings_changed(screen)

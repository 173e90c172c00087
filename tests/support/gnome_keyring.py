"""Direct D-Bus calls to gnome-keyring for what tests need beyond keyring: lock, unlock, throwaway collections."""

from __future__ import annotations

from typing import Any

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
GNOME_INTERNAL = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"


class GnomeKeyring:
    """Direct D-Bus calls for what the tests need beyond keyring: lock, unlock, a throwaway collection."""

    def __init__(self) -> None:
        import jeepney
        import jeepney.io.blocking

        self.jeepney: Any = jeepney
        self.conn = jeepney.io.blocking.open_dbus_connection("SESSION")
        _, self.session = self.call(
            SERVICE_PATH, "org.freedesktop.Secret.Service", "OpenSession", "sv", "plain", ("s", "")
        )

    def _address(self, path: str, interface: str) -> Any:
        return self.jeepney.DBusAddress(path, BUS_NAME, interface)

    def call(self, path: str, interface: str, method: str, signature: str, *body: Any) -> Any:
        msg = self.jeepney.new_method_call(self._address(path, interface), method, signature, body)
        return self.jeepney.wrappers.unwrap_msg(self.conn.send_and_get_reply(msg, timeout=10))

    def create_collection(self, label: str, password: bytes) -> str:
        props = {"org.freedesktop.Secret.Collection.Label": ("s", label)}
        secret = (self.session, b"", password, "text/plain")
        (path,) = self.call(SERVICE_PATH, GNOME_INTERNAL, "CreateWithMasterPassword", "a{sv}(oayays)", props, secret)
        return str(path)

    def lock(self, path: str) -> None:
        self.call(SERVICE_PATH, "org.freedesktop.Secret.Service", "Lock", "ao", [path])

    def unlock(self, path: str, password: bytes) -> None:
        secret = (self.session, b"", password, "text/plain")
        self.call(SERVICE_PATH, GNOME_INTERNAL, "UnlockWithMasterPassword", "o(oayays)", path, secret)

    def is_locked(self, path: str) -> bool:
        msg = self.jeepney.Properties(self._address(path, "org.freedesktop.Secret.Collection")).get("Locked")
        ((_, locked),) = self.jeepney.wrappers.unwrap_msg(self.conn.send_and_get_reply(msg, timeout=10))
        return bool(locked)

    def delete(self, path: str) -> None:
        self.call(path, "org.freedesktop.Secret.Collection", "Delete", "")

    def close(self) -> None:
        self.conn.close()


def daemon_pid() -> int:
    """The process id of whatever owns the Secret Service name on the session bus."""
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(message_bus.GetConnectionUnixProcessID(BUS_NAME), timeout=10)
    (pid,) = reply.body
    return int(pid)

"""SSH connections to class servers, from the inventory."""
import os

import fabric


class CountingConnection(fabric.Connection):
    """A Connection that counts its round trips (every run, sudo and put), so provisioning can show
    that its cost does not grow with the number of teams."""
    round_trips = 0

    def run(self, *args, **kwargs):
        self.round_trips += 1
        return super().run(*args, **kwargs)

    def put(self, *args, **kwargs):
        self.round_trips += 1
        return super().put(*args, **kwargs)


def server_connection(server, user, key=None):
    """A connection to a class server as `user`, with `key` only, else the usual SSH setup. Local stdin is
    not forwarded: no remote command here reads the terminal."""
    connect_kwargs = {"key_filename": key, "allow_agent": False, "look_for_keys": False} if key else {}
    return CountingConnection(server.address, user=user, port=server.ssh_port,
                              connect_timeout=15, connect_kwargs=connect_kwargs,
                              config=fabric.Config(overrides={"run": {"in_stream": False}}))


def admin_connection(server, key=None):
    """The instructor's connection to a server: its admin user."""
    return server_connection(server, server.admin_user, key)


def admin_key(key, environ=os.environ):
    """The instructor's SSH key: --key, $HACKNODE_ADMIN_KEY, the demo's key, else the usual SSH setup (None)."""
    if key:
        return key
    if environ.get("HACKNODE_ADMIN_KEY"):
        return environ["HACKNODE_ADMIN_KEY"]
    return ".hacknode/admin_key" if os.path.exists(".hacknode/admin_key") else None

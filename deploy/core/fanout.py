"""One way to act on every server of a class at once: a function per server, each over its own admin
connection, every server's result or error returned in the inventory's order (as Fabric's ThreadingGroup
returns a GroupResult)."""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import paramiko

from deploy.core.errors import DeployError
from deploy.core.ssh import admin_connection


@dataclass
class ServerResult:
    server: object              # model.Server
    value: object = None        # what the function returned
    error: str = ""             # why it failed, in one line ("" when it did not)
    round_trips: int = 0


def on_each_server(servers, work, key=None):
    """work(c, server) on every server in parallel; a list of ServerResult in `servers`' order."""
    def one(server):
        c = admin_connection(server, key)
        result = ServerResult(server)
        try:
            result.value = work(c, server)
        except DeployError as e:
            result.error = str(e)
        except (OSError, paramiko.SSHException) as e:
            result.error = f"cannot reach {server.admin_user}@{server.address}:{server.ssh_port} over SSH: {e}"
        finally:
            result.round_trips = c.round_trips
            c.close()
        return result

    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        return list(pool.map(one, servers))

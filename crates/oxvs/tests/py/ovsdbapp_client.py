"""ovsdbapp (PyPI, as used by OpenStack Neutron) against an OVSDB server:
its Open_vSwitch API adds a bridge and a port, sets a column, reads them
back, deletes them, and prints what it saw as JSON.

Usage: python ovsdbapp_client.py unix:/path/db.sock BRIDGE PORT
"""
import json
import sys

from ovsdbapp.backend.ovs_idl import connection, idlutils
from ovsdbapp.schema.open_vswitch import impl_idl


def main():
    remote, bridge, port = sys.argv[1:4]
    helper = idlutils.get_schema_helper(remote, "Open_vSwitch")
    helper.register_all()
    conn = connection.Connection(idl=connection.OvsdbIdl(remote, helper), timeout=20)
    api = impl_idl.OvsdbIdl(conn)
    seen = {}
    api.add_br(bridge, datapath_type="netdev").execute(check_error=True)
    with api.transaction(check_error=True) as txn:
        txn.add(api.add_port(bridge, port))
        txn.add(api.db_set("Interface", port, ("type", "internal")))
        txn.add(api.db_set("Bridge", bridge, ("external_ids", {"owner": "ovsdbapp"})))
    seen["br_exists"] = api.br_exists(bridge).execute(check_error=True)
    seen["list_br"] = sorted(api.list_br().execute(check_error=True))
    seen["list_ports"] = api.list_ports(bridge).execute(check_error=True)
    seen["port_to_br"] = api.port_to_br(port).execute(check_error=True)
    seen["external_ids"] = api.db_get("Bridge", bridge, "external_ids").execute(check_error=True)
    seen["datapath_type"] = api.db_get("Bridge", bridge, "datapath_type").execute(check_error=True)
    api.del_port(port, bridge).execute(check_error=True)
    seen["ports_after_del"] = api.list_ports(bridge).execute(check_error=True)
    api.del_br(bridge).execute(check_error=True)
    seen["br_exists_after_del"] = api.br_exists(bridge).execute(check_error=True)
    print(json.dumps(seen, sort_keys=True))
    conn.stop(timeout=5)


main()

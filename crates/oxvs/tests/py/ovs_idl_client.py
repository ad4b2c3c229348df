"""The Python `ovs` IDL (PyPI `ovs`, Open vSwitch 3.1's own library) against
an OVSDB server: fetch the schema, replicate the database, insert a bridge
with an internal port in one transaction, wait until the switch has written
the interface's ofport back, and print what the replica holds as JSON.

Usage: python ovs_idl_client.py unix:/path/db.sock BRIDGE PORT
"""
import json
import sys
import time

import ovs.db.idl
import ovs.jsonrpc
import ovs.poller
import ovs.stream


def get_schema(remote):
    err, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote))
    if err:
        sys.exit(f"connect {remote}: {err}")
    rpc = ovs.jsonrpc.Connection(stream)
    err, reply = rpc.transact_block(
        ovs.jsonrpc.Message.create_request("get_schema", ["Open_vSwitch"]))
    rpc.close()
    if err or reply.error:
        sys.exit(f"get_schema: {err or reply.error}")
    return reply.result


def run_until(idl, cond, secs=20):
    deadline = time.time() + secs
    while time.time() < deadline:
        idl.run()
        if cond():
            return True
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.timer_wait(100)
        poller.block()
    return False


def main():
    remote, bridge, port = sys.argv[1:4]
    helper = ovs.db.idl.SchemaHelper(None, get_schema(remote))
    helper.register_all()
    idl = ovs.db.idl.Idl(remote, helper)
    if not run_until(idl, lambda: idl.has_ever_connected() and idl.tables["Open_vSwitch"].rows):
        sys.exit("no initial Open_vSwitch row")
    root = next(iter(idl.tables["Open_vSwitch"].rows.values()))

    txn = ovs.db.idl.Transaction(idl)
    iface = txn.insert(idl.tables["Interface"])
    iface.name = port
    iface.type = "internal"
    p = txn.insert(idl.tables["Port"])
    p.name = port
    p.interfaces = [iface]
    br = txn.insert(idl.tables["Bridge"])
    br.name = bridge
    br.ports = [p]
    br.external_ids = {"created-by": "python-ovs-idl"}
    root.addvalue("bridges", br.uuid)
    root.increment("next_cfg")
    status = txn.commit_block()
    if status != ovs.db.idl.Transaction.SUCCESS:
        sys.exit(f"commit: {status} {txn.get_error()}")

    def ofport_set():
        for i in idl.tables["Interface"].rows.values():
            if i.name == port and i.ofport:
                return True
        return False

    if not run_until(idl, ofport_set):
        sys.exit("the switch never wrote the interface's ofport")
    out = {
        "bridges": sorted(b.name for b in idl.tables["Bridge"].rows.values()),
        "ports": sorted(p.name for b in idl.tables["Bridge"].rows.values()
                        if b.name == bridge for p in b.ports),
        "external_ids": [dict(b.external_ids) for b in idl.tables["Bridge"].rows.values()
                         if b.name == bridge][0],
        "ofport": [i.ofport[0] for i in idl.tables["Interface"].rows.values()
                   if i.name == port][0],
    }
    print(json.dumps(out, sort_keys=True))
    idl.close()


main()

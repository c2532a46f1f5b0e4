"""Drives the opennebula-rs test server with PyONE through every documented PyONE use
(OpenNebula's "PyONE: Open Nebula Python Bindings" guide) and asserts the results.

Usage: pyone_usage.py URL SESSION TLS_URL TLS_CERT_PEM_PATH [KNOWN_FAILURES]

KNOWN_FAILURES is a comma-separated list of check keys the server is known to fail (the Rust
test keeps it, so that the list can only shrink): such a check is reported as XFAIL; if it
passes it is reported as XPASS and counts as a failure (remove it from the list).
Exit code 0 when every check passed (or failed as known); non-zero otherwise.
Run by tests/conformance_pyone.rs in a venv with `pip install pyone`.
"""

import os
import ssl
import sys
import traceback

import pyone
from pyone import MARKETPLACEAPP_STATES

CHECKS = []


def check(key, name):
    """Registers a check; they run in order and share `state`."""

    def register(function):
        CHECKS.append((key, name, function))
        return function

    return register


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


state = {}


@check("host-allocate", "host.allocate('localhost', 'kvm', 'kvm', 0)")
def host_allocate(one):
    host_id = one.host.allocate("localhost", "kvm", "kvm", 0)
    expect(isinstance(host_id, int) and host_id >= 0, f"host id {host_id!r}")
    # A second host, so that HOST[0] (pools list by descending id) is a known one.
    second = one.host.allocate("pyone-host-2", "kvm", "kvm", -1)
    expect(second == host_id + 1, f"ids {host_id}, {second}")
    state["host_id"], state["second_host_id"] = host_id, second
    return f"hosts {host_id} and {second}"


@check("hostpool-first-id", "hostpool.info().HOST[0].ID")
def hostpool_first_id(one):
    hostpool = one.hostpool.info()
    host = hostpool.HOST[0]
    host_id = host.ID
    ids = [h.ID for h in hostpool.HOST]
    expect(ids == sorted(ids, reverse=True), f"pool not in descending id order: {ids}")
    expect(host_id == state["second_host_id"], f"HOST[0].ID {host_id}, ids {ids}")
    expect(hostpool.HOST[1].NAME == "localhost", f"HOST[1].NAME {hostpool.HOST[1].NAME}")
    return f"HOST[0].ID = {host_id}, {len(ids)} hosts"


@check("marketpool-listing", "marketpool.info().MARKETPLACE[0].NAME")
def marketpool_listing(one):
    marketpool = one.marketpool.info()
    expect(len(marketpool.MARKETPLACE) >= 1, "no marketplace in a fresh front-end")
    m0 = marketpool.MARKETPLACE[0]
    expect(isinstance(m0.NAME, str) and m0.NAME, f"NAME {m0.NAME!r}")
    names = [m.NAME for m in marketpool.MARKETPLACE]
    return f"Marketplace name is {m0.NAME} (all: {names})"


@check("host-update-flat-dict", "host.update(0, {'LABELS': 'HD'}, 1)")
def host_update_flat_dict(one):
    host_id = state["host_id"]
    one.host.update(host_id, {"LABELS": "HD"}, 1)
    host = one.host.info(host_id)
    expect(host.TEMPLATE["LABELS"] == "HD", f"LABELS {host.TEMPLATE.get('LABELS')!r}")
    return "LABELS=HD merged"


@check("template-read-modify-update", "host.info(0).TEMPLATE read / modify / host.update(0, host.TEMPLATE, 1)")
def template_read_modify_update(one):
    host_id = state["host_id"]
    host = one.host.info(host_id)
    template = host.TEMPLATE
    expect(isinstance(template, dict), f"TEMPLATE is {type(template)}")
    before = dict(template)
    template["NOTES"] = "Just updated"
    one.host.update(host_id, host.TEMPLATE, 1)
    after = one.host.info(host_id).TEMPLATE
    expect(after["NOTES"] == "Just updated", f"NOTES {after.get('NOTES')!r}")
    for key, value in before.items():
        if value is None:
            # PyONE reads an empty attribute (RESERVED_CPU, RESERVED_MEM) as None and sends it
            # back as the text "None": its own quirk, which a real oned stores the same way.
            continue
        expect(after.get(key) == value, f"{key} changed: {value!r} -> {after.get(key)!r}")
    arch = after.get("ARCH")
    return f"TEMPLATE keys {sorted(after)}; ARCH={arch!r}"


@check("image-allocate", "image.allocate x2 (the images the template's disks refer to)")
def images(one):
    ids = []
    for name in ("pyone-disk-a", "pyone-disk-b"):
        image_id = one.image.allocate(
            f'NAME="{name}"\nTYPE="DATABLOCK"\nSIZE="16"\nFORMAT="raw"\n', 1
        )
        ids.append(image_id)
    for image_id in ids:
        image = one.image.info(image_id)
        expect(image.ID == image_id, f"image {image.ID}")
    state["image_ids"] = ids
    return f"images {ids}"


@check("marketplaceapp-states", "MARKETPLACEAPP_STATES constants (app exported from an image)")
def marketplaceapp_states(one):
    expect(MARKETPLACEAPP_STATES.READY == 1, "READY is 1 in OpenNebula")
    market_id = one.market.allocate(
        'NAME="pyone-http"\nMARKET_MAD="http"\nBASE_URL="http://127.0.0.1:8099/"\n'
        'PUBLIC_DIR="/srv/one-images/market"\n'
    )
    app_id = one.marketapp.allocate(
        f'NAME="pyone-app"\nORIGIN_ID="{state["image_ids"][0]}"\nDESCRIPTION="exported"\n',
        market_id,
    )
    app = one.marketapp.info(app_id)
    # The guide's idiom: compare the numeric STATE with the constant.
    decoded = MARKETPLACEAPP_STATES(app.STATE)
    expect(
        decoded in (MARKETPLACEAPP_STATES.LOCKED, MARKETPLACEAPP_STATES.READY),
        f"new app in state {decoded.name}",
    )
    if app.STATE == MARKETPLACEAPP_STATES.READY:
        expect(decoded.name == "READY", decoded)
    pool = one.marketapppool.info(-2, -1, -1)
    apps = {a.ID: MARKETPLACEAPP_STATES(a.STATE).name for a in pool.MARKETPLACEAPP}
    expect(app_id in apps, f"app {app_id} not listed: {apps}")
    return f"market {market_id}, app {app_id} is {decoded.name}; pool {apps}"


@check("template-allocate-raw", "template.allocate with a raw string and two DISK vectors")
def template_allocate_raw(one):
    a, b = state["image_ids"]
    template_id = one.template.allocate(
        f'''NAME="test100"
           MEMORY="1024"
           DISK=[ IMAGE_ID= "{a}" ]
           DISK=[ IMAGE_ID= "{b}" ]
           CPU="1"
           VCPU="2"
        '''
    )
    template = one.template.info(template_id)
    disks = template.TEMPLATE["DISK"]
    expect(isinstance(disks, list) and len(disks) == 2, f"DISK {disks!r}")
    expect([d["IMAGE_ID"] for d in disks] == [str(a), str(b)], f"DISK {disks!r}")
    expect(template.TEMPLATE["MEMORY"] == "1024", template.TEMPLATE)
    expect(template.NAME == "test100", template.NAME)
    state["template_id"] = template_id
    return f"template {template_id} with {len(disks)} disks"


@check("templatepool-instantiate", "templatepool.info(-2, -1, -1) + template.instantiate")
def templatepool_and_instantiate(one):
    pool = one.templatepool.info(-2, -1, -1)
    ids = [t.ID for t in pool.VMTEMPLATE]
    expect(state["template_id"] in ids, f"template {state['template_id']} not in {ids}")
    vm_id = one.template.instantiate(state["template_id"], "pyone-vm")
    expect(isinstance(vm_id, int) and vm_id >= 0, f"vm id {vm_id!r}")
    vm = one.vm.info(vm_id)
    expect(vm.NAME == "pyone-vm", vm.NAME)
    disks = vm.TEMPLATE["DISK"]
    expect(len(disks) == 2, f"VM disks {disks!r}")
    state["vm_id"] = vm_id
    return f"VM {vm_id} in state {pyone.VM_STATE(vm.STATE).name}/{vm.LCM_STATE}"


@check("vm-update-root-dict", "vm.update(1, {'TEMPLATE': {...}}, 1) with a root dict")
def vm_update_root_dict(one):
    vm_id = state["vm_id"]
    one.vm.update(
        vm_id, {"TEMPLATE": {"NAME": "abc", "MEMORY": "1024", "ATT1": "value1"}}, 1
    )
    user_template = one.vm.info(vm_id).USER_TEMPLATE
    expect(user_template.get("ATT1") == "value1", f"USER_TEMPLATE {user_template!r}")
    expect(user_template.get("MEMORY") == "1024", f"USER_TEMPLATE {user_template!r}")
    return f"USER_TEMPLATE {dict(user_template)}"


@check("vmpool-listing", "vmpool.info(-2, -1, -1, -1) listing")
def vmpool_listing(one):
    pool = one.vmpool.info(-2, -1, -1, -1)
    vms = {vm.ID: vm for vm in pool.VM}
    expect(state["vm_id"] in vms, f"VM {state['vm_id']} not in {sorted(vms)}")
    vm = vms[state["vm_id"]]
    expect(vm.NAME == "pyone-vm", vm.NAME)
    return f"{len(vms)} VMs: {[(v.ID, v.NAME, v.STATE) for v in pool.VM]}"


@check("vm-terminate", "vm.action('terminate', id)")
def vm_terminate(one):
    vm_id = state["vm_id"]
    before = one.vm.info(vm_id)
    one.vm.action("terminate", vm_id)
    vm = one.vm.info(vm_id)
    # terminate ends in DONE (the test server's driver answers at once, like oned's dummy).
    expect(vm.STATE == pyone.VM_STATE.DONE, f"state {vm.STATE} after terminate")
    # DONE VMs are hidden from the default listing (state filter -1) and shown with -2.
    visible = [v.ID for v in one.vmpool.info(-2, -1, -1, -1).VM or []]
    expect(vm_id not in visible, f"DONE VM {vm_id} listed with state -1: {visible}")
    listed = [v.ID for v in one.vmpool.info(-2, -1, -1, -2).VM or []]
    expect(vm_id in listed, f"DONE VM {vm_id} missing with state -2: {listed}")
    return f"VM {vm_id}: {pyone.VM_STATE(before.STATE).name} -> DONE"


@check("missing-object-error", "error mapping: info of a missing host raises OneNoExistsException")
def missing_object(one):
    try:
        one.host.info(987654)
    except pyone.OneNoExistsException as error:
        return f"OneNoExistsException: {error}"
    raise AssertionError("host.info(987654) succeeded")


def tls_lab_connection(tls_url, session, cert_path):
    """The self-signed TLS lab connection, in the documented and the current PyONE forms."""
    results = []
    # Verification on: the self-signed certificate must be refused (proves TLS is real).
    strict = pyone.OneServer(tls_url, session=session)
    try:
        strict.hostpool.info()
        raise AssertionError("a self-signed certificate was accepted with verification on")
    except AssertionError:
        raise
    except Exception as error:  # requests.exceptions.SSLError
        expect("certificate" in str(error).lower() or "ssl" in str(error).lower(), error)
        results.append("verification on: refused (self-signed)")

    # The guide's form: context=ssl._create_unverified_context().
    documented = pyone.OneServer(
        tls_url, session=session, context=ssl._create_unverified_context()
    )
    try:
        documented.hostpool.info()
        results.append("context=ssl._create_unverified_context(): connected")
    except Exception as error:
        # PyONE >= 6 sends through `requests`, which ignores xmlrpc's `context`; its switch
        # is https_verify=False. Reported, not a server fault.
        results.append(
            "context=ssl._create_unverified_context(): ignored by this PyONE "
            f"({pyone_version()}): {type(error).__name__}"
        )

    lab = pyone.OneServer(tls_url, session=session, https_verify=False)
    hosts = lab.hostpool.info()
    expect(len(hosts.HOST) >= 2, "lab connection sees the hosts")
    results.append(f"https_verify=False: connected, {len(hosts.HOST)} hosts")

    # Trusting the server's certificate explicitly also works (names 127.0.0.1).
    os.environ["REQUESTS_CA_BUNDLE"] = cert_path
    trusted = pyone.OneServer(tls_url, session=session)
    version = trusted.system.version()
    expect(version.startswith("7."), version)
    results.append(f"REQUESTS_CA_BUNDLE=<server cert>: verified, version {version}")
    del os.environ["REQUESTS_CA_BUNDLE"]
    return "; ".join(results)


def pyone_version():
    try:
        from importlib.metadata import version

        return "pyone " + version("pyone")
    except Exception:
        return "pyone (unknown version)"


def main():
    url, session, tls_url, cert_path = sys.argv[1:5]
    known = set(filter(None, (sys.argv[5] if len(sys.argv) > 5 else "").split(",")))
    all_keys = {key for key, _, _ in CHECKS} | {"tls-lab-connection"}
    unknown = known - all_keys
    if unknown:
        print(f"unknown check keys in the known-failures list: {sorted(unknown)}")
        return 2
    print(f"{pyone_version()} against {url} and {tls_url}")
    one = pyone.OneServer(url, session=session)
    results = {"ok": 0, "FAIL": 0, "XFAIL": 0, "XPASS": 0}

    def record(key, name, function):
        try:
            detail = function()
            outcome = "XPASS" if key in known else "ok"
            print(f"{outcome:5} [{key}] {name}: {detail}")
        except Exception:
            outcome = "XFAIL" if key in known else "FAIL"
            print(f"{outcome:5} [{key}] {name}:\n{traceback.format_exc()}")
        results[outcome] += 1

    for key, name, function in CHECKS:
        record(key, name, lambda: function(one))

    def tls():
        # The TLS server is a separate fresh server: give it the two hosts the check expects.
        tls_admin = pyone.OneServer(tls_url, session=session, https_verify=False)
        tls_admin.host.allocate("tls-host-1", "kvm", "kvm", -1)
        tls_admin.host.allocate("tls-host-2", "kvm", "kvm", -1)
        return tls_lab_connection(tls_url, session, cert_path)

    record("tls-lab-connection", "self-signed TLS lab connection", tls)
    total = sum(results.values())
    print(
        f"{results['ok']}/{total} PyONE checks passed, {results['XFAIL']} known failures, "
        f"{results['FAIL']} failed, {results['XPASS']} known failures now passing"
    )
    return 1 if results["FAIL"] or results["XPASS"] else 0


if __name__ == "__main__":
    sys.exit(main())

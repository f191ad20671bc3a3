"""A stand-in of the Zomro BILLmanager API, so the product can be run, demonstrated and tested offline.

It speaks the wire protocol described in the project's API notes: form fields in, ``{"doc": ...}`` JSON out,
errors on HTTP 200, sessions (with the two-factor step), the instance list and its saved filter, the rescue
preview/submit/unrescue functions, and injectable edge faults. By concern:

    state.py      the account's data and `Behaviour` (the evidence's defaults, the earlier guesses as switches)
    answers.py    the shape of BILLmanager answers and refusals
    functions.py  the account: users, sessions, logins (two-factor too), `add_account`, and the dispatch of
                  functions to the data of the session's user
    accounts.py   several accounts on one endpoint: what they share through the simulator's own (`Shared`)
    listing.py    the instance list, its saved filter and the edit form
    rescue.py     the rescue form, its submit and unrescue
    recovery_calls.py  reboot, start, stop, booting from an ISO (left with unrescue), the root password
    snapshots.py  an instance's snapshots and backups: the lists, a new one, the per-day limits
    front.py      HTTP: request recording, faults, long-operation pages, latency
    replay.py     an account built from a support capture (`doctor --capture`)
    rescue_systems.py  what answers SSH for a rescued instance (`RescueSystem`: start, stop) and the thread that
                  runs one per rescued instance (`RescueSystems`), on 127.0.0.N
    own_system.py  an instance's own SSH banner once it is back from rescue mode and boots (`SimInstance.boots`)
    stand_in.py   the default one: a stand-in SSH server answering the diagnosis and the repairs from a disk model
    disk_model.py  that model of an instance's disk: a recording (recordings/) whose /etc/fstab the repairs change
    vm_rescue_system.py  the real one: a rescue VM per rescued instance, with its disk image
    rescue_vm.py  a real rescue system: the rescue VM under QEMU (`RescueVM`; imported on its own, not from here)
    vm_cache.py   where `make rescue-vm` builds it, whether it can run here, and which accelerator boots it
"""

from .front import Fault, RecordedRequest, Simulator, run_on_loopback
from .functions import SimulatedAccount
from .state import (
    CAPTCHA_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    SEED_FUNCTIONS,
    TOTP_SECRET,
    TOTP_USERNAME,
    Behaviour,
    SimImage,
    SimInstance,
)

__all__ = [
    "CAPTCHA_USERNAME",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "SEED_FUNCTIONS",
    "TOTP_SECRET",
    "TOTP_USERNAME",
    "Behaviour",
    "Fault",
    "RecordedRequest",
    "SimImage",
    "SimInstance",
    "SimulatedAccount",
    "Simulator",
    "run_on_loopback",
]

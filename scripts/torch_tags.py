"""torch.save with chosen storages tagged with other locations, for the test
checkpoints of scripts/make-fixtures.py and scripts/make-diff-pairs.py
(both in scripts/, so `from torch_tags import location_tags` finds this file).
"""

import contextlib

import torch


@contextlib.contextmanager
def location_tags(tags):
    """Make torch.save tag chosen storages with other locations.

    tags maps a tensor to the tag its storage should get ('cuda:1', ...).
    Both the zip writer (_save) and the legacy writer (_legacy_save) call the
    module-level torch.serialization.location_tag(storage), so patching that
    name is enough.  Storages not listed keep their real tag ('cpu').
    """
    by_ptr = {t.storage().data_ptr(): tag for t, tag in tags}
    orig = torch.serialization.location_tag

    def patched(storage):
        return by_ptr.get(storage.data_ptr()) or orig(storage)

    torch.serialization.location_tag = patched
    try:
        yield
    finally:
        torch.serialization.location_tag = orig

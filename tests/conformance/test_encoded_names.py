"""Names that travel percent-encoded: parentheses and non-ASCII letters in a resource group's name.

Azure allows letters (Unicode), digits, ``_``, ``(``, ``)``, ``-`` and ``.`` in resource group names, not
spaces. The SDKs percent-encode path segments (``rg-%28prod%29-%C3%BC``); armsim decodes them as ARM does.
"""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient

from armsim import ArmSimulator
from tests.support.constants import REQUIRED, SUB_A

ODD = "rg-(prod)-ü"


def test_a_resource_group_with_parentheses_and_a_non_ascii_letter_works_end_to_end(estate: Any, sweep: Any) -> None:
    cid = estate.add_cluster(SUB_A, ODD, "aks-1", "eastus")

    document = sweep("apply")

    (cluster,) = document["clusters"]
    assert (cluster["status"], cluster["resource_group"]) == ("remediated", ODD)
    setting = estate.get_setting(cid, "aks-audit-remediation")
    assert [e["category"] for e in setting["properties"]["logs"]] == REQUIRED
    (put,) = [r for r in estate.write_requests() if "/diagnosticsettings/" in r.path.lower()]
    assert f"/resourcegroups/{ODD}/" in put.path.lower()  # decoded: the SDK sent rg-%28prod%29-%C3%BC
    assert sweep("report")["clusters"][0]["status"] == "compliant"


def test_armsim_decodes_every_percent_encoded_segment(sim: ArmSimulator) -> None:
    sub = SUB_A
    spaced = "rg-(prod) ü"  # not a name Azure allows (no spaces), but armsim decodes %20 all the same
    cid = sim.add_cluster(sub, spaced, "aks-1", "eastus")
    aks = ContainerServiceClient(
        DefaultAzureCredential(), sub, base_url=sim.base_url, credential_scopes=[sim.base_url + "/.default"]
    )

    assert aks.managed_clusters.get(spaced, "aks-1").id.lower() == cid.lower()
    assert sim.arm_requests()[-1].path.endswith(
        f"/resourceGroups/{spaced}/providers/Microsoft.ContainerService/managedClusters/aks-1"
    )
    groups = ResourceManagementClient(
        DefaultAzureCredential(), sub, base_url=sim.base_url, credential_scopes=[sim.base_url + "/.default"]
    )
    assert groups.resource_groups.get(spaced).name == spaced
    assert groups.resource_groups.create_or_update(ODD, {"location": "eastus"}).name == ODD
    with pytest.raises(HttpResponseError) as refused:  # a space is refused, as ARM refuses it
        groups.resource_groups.create_or_update("rg with space", {"location": "eastus"})
    assert (refused.value.status_code, refused.value.error.code) == (400, "InvalidResourceGroup")

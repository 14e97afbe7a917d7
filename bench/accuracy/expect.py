"""What the violation list must say about one planted patch: the single place the rules are written down.

The rules follow README "Plan compliance" (DOMAIN.md) as issue 20 item 3 changed them (ChangeRuleSet.isConstruction,
commit 73cf666): new construction is any new artificial surface, earthworks and bare sites as well as roofs, so a
planted built-up or bare patch on forest, grassland or water is construction (UC, or UC-P on protected land);
cropland -> bare is harvest-like and only farmland stripped (FL-S, same season), cropland -> built-up is
construction and FL-B. When the lead changes the rules, change this file only: the harness calls expected() and
nothing else decides.
"""
from __future__ import annotations

import math

from scenes import BARE, CROPLAND

# Rule code: minimum area in m² (README defaults); a rule needs max(MIN_PIXELS, ceil(area / pixel area)) pixels.
MIN_AREA = {"UC-P": 200, "UC": 200, "FL-B": 400, "FL-S": 400, "FL-W": 400, "FL-F": 400, "RL": 200}
MIN_PIXELS = 4
BARE_IS_CONSTRUCTION = True            # vegetation/water -> bare is new construction
CROPLAND_TO_BARE_IS_CONSTRUCTION = False  # cropland -> bare is FL-S only (harvest is told apart by the season)


def min_pixels(code: str, pixel_area: float) -> int:
    return max(MIN_PIXELS, math.ceil(MIN_AREA[code] / pixel_area - 1e-9))


def expected(patch: dict, pixel_area: float, construction_from_bare: bool = False) -> tuple[bool, list[str], str]:
    """(must be reported, rule codes it must list, why not when it must not).

    patch: kind ('built' or 'bare': what was planted), before_class (legend code of the land it was planted on),
    pixels, and the plan under it: redline, basic_farmland, urban_boundary, zoned_non_construction, approved.
    construction_from_bare: the pipeline's compliance.diff option (bare -> built-up is construction).
    """
    if patch["approved"]:
        return False, [], "inside an approval"
    built = patch["kind"] == "built"
    cropland = patch["before_class"] == CROPLAND
    if patch["before_class"] == BARE:
        if not built:
            return False, [], "bare planted on bare land: no change of class"
        if not construction_from_bare:
            return False, [], "built-up on bare land: construction only with construction_from_bare"
    construction = built or (BARE_IS_CONSTRUCTION and (not cropland or CROPLAND_TO_BARE_IS_CONSTRUCTION))
    codes = set()
    if construction:
        protected = (patch["redline"] or patch["basic_farmland"] or not patch["urban_boundary"]
                     or patch["zoned_non_construction"])
        codes.add("UC-P" if protected else "UC")
    if cropland or patch["basic_farmland"]:
        codes.add("FL-B" if built else "FL-S")
    if patch["redline"] and construction:
        codes.add("RL")
    kept = sorted(c for c in codes if patch["pixels"] >= min_pixels(c, pixel_area))
    if not kept:
        return False, [], f"{patch['pixels']} px: below every rule's minimum"
    return True, kept, ""

"""Build step, not run by the app: makes provinsi.geojson, the province map, from a source GeoJSON.

    python -m ocenter.reference.build_boundaries indonesia-38-provinces.geojson

The source (see README.md here for where it comes from and its licence) names each province;
its codes are not BPS's (it numbers the Papua provinces 91-A..92-B after the old provinces), so
each shape is matched to provinsi.csv by name. Coordinates are rounded to 3 decimals (about
110 m, far below a pixel of a wall-screen map) and points that become equal are dropped; equal
source points stay equal, so neighbouring provinces still share their borders exactly. Every
ring is wound the way Vega's map projection (d3-geo) reads it: the outer ring clockwise, holes
anticlockwise. GeoJSON's own rule (RFC 7946) is the opposite, and a province wound that way
would be drawn as the whole world except the province.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
TARGET = HERE / "provinsi.geojson"
#: Source names that differ from provinsi.csv's.
NAME_ALIASES = {"Daerah Istimewa Yogyakarta": "DI Yogyakarta"}
DECIMALS = 3

Ring = list[list[float]]


def signed_area(ring: Ring) -> float:
    """The planar signed area of a closed ring in square degrees: positive when the ring runs
    anticlockwise with longitude to the right and latitude up."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def _rounded(ring: Ring) -> Ring:
    points: Ring = []
    for x, y in ring:
        point = [round(x, DECIMALS), round(y, DECIMALS)]
        if not points or point != points[-1]:
            points.append(point)
    if points[0] != points[-1]:
        points.append(points[0])
    return points


def _wound(ring: Ring, outer: bool) -> Ring:
    clockwise = signed_area(ring) < 0
    return ring if clockwise == outer else ring[::-1]


def _polygons(geometry: dict) -> list[list[Ring]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    raise ValueError(f"unexpected geometry {geometry['type']}")


def province_feature(code: str, name: str, geometry: dict) -> dict:
    """One province as the app ships it: rounded, wound for d3-geo, tiny slivers left out."""
    polygons = []
    for polygon in _polygons(geometry):
        rings = [_rounded(ring) for ring in polygon]
        # A ring of fewer than 4 points (3 distinct) has no area left after rounding.
        if len(rings[0]) < 4 or signed_area(rings[0]) == 0:
            continue
        polygons.append([_wound(rings[0], outer=True),
                         *(_wound(r, outer=False) for r in rings[1:] if len(r) >= 4)])
    if not polygons:
        raise ValueError(f"{name}: nothing left after rounding")
    shape = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
             else {"type": "MultiPolygon", "coordinates": polygons})
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": shape}


def build(source: Path) -> str:
    """The text of provinsi.geojson from the source GeoJSON: one feature per line, by code."""
    with (HERE / "provinsi.csv").open(encoding="utf-8", newline="") as handle:
        codes = {row["name"]: row["code"] for row in csv.DictReader(handle)}
    features = {}
    for feature in json.loads(source.read_text(encoding="utf-8"))["features"]:
        name = feature["properties"]["PROVINSI"]
        name = NAME_ALIASES.get(name, name)
        if name not in codes:
            raise ValueError(f"{name!r} is not a province of provinsi.csv")
        if codes[name] in features:
            raise ValueError(f"{name!r} twice in the source")
        features[codes[name]] = province_feature(codes[name], name, feature["geometry"])
    missing = sorted(set(codes) - {f["properties"]["name"] for f in features.values()})
    if missing:
        raise ValueError(f"the source has no shape for {', '.join(missing)}")
    lines = [json.dumps(features[code], separators=(",", ":"), ensure_ascii=False)
             for code in sorted(features)]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


if __name__ == "__main__":
    text = build(Path(sys.argv[1]))
    TARGET.write_text(text, encoding="utf-8")
    print(f"{TARGET}: {len(text.encode('utf-8')):,} bytes")

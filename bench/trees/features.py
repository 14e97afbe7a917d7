"""The feature sets of the tree-evaluator bench (bench/trees/bench_trees.py), computed the same way for training
and for the rasters every predictor reads."""
import numpy as np

SCALE, OFFSET, NODATA = np.float32(2.0e-5), np.float32(-0.1), 65535


def reflectance(dn):
    values = dn.astype(np.float32) * SCALE + OFFSET
    values[dn == NODATA] = np.nan
    return values


def normalized(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((a - b) / (a + b)).astype(np.float32)


def realistic(blue, green, red, nir):
    """30 features from four reflectance bands, like a land-cover model's mix of bands, indices and their
    transforms: the bands, every normalised difference, ratio and difference of two bands, squares, products,
    brightness and the difference of two indices."""
    bands = {"blue": blue, "green": green, "red": red, "nir": nir}
    names, columns = [], []

    def add(name, values):
        names.append(name)
        columns.append(values.astype(np.float32))

    for name, values in bands.items():
        add(name, values)
    keys = list(bands)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                add(f"nd_{a}_{b}", normalized(bands[a], bands[b]))
                add(f"ratio_{a}_{b}", bands[a] / bands[b])
                add(f"diff_{a}_{b}", bands[a] - bands[b])
        for name in keys:
            add(f"sq_{name}", bands[name] * bands[name])
        add("brightness", (blue + green + red + nir) / 4)
        add("ndvi_minus_ndwi", normalized(nir, red) - normalized(green, nir))
        add("nir_times_red", nir * red)
        add("green_times_blue", green * blue)
    assert len(columns) == 30, len(columns)
    return names, columns

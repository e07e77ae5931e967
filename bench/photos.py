"""The photographs the benchmarks share: which wallpapers make bench/run's "typical" set.

Imported by bench.py (which makes the set into bench/out/sets/typical) and thumbor_load.py
(which makes the same set itself when bench/run has not run); needs only Pillow.

"typical": 1.3-5 MP JPEGs. Only two wallpapers are that small (both progressive), so the
other ten are wallpaper photographs downscaled with Pillow (LANCZOS, from the full decode)
to 1.3, 1.71, ... 5.0 MP (evenly spaced, aspect ratio kept) and saved as baseline JPEG q90,
4:2:0, no metadata.
"""

TYPICAL_DOWNSCALED = [
    "Bridge_by_Sander_Klootwijk.jpg",
    "Dragonfly_by_Bolly.jpg",
    "Fossa_by_Jasper_Roks.jpg",
    "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg",
    "friends_by_Aitzol_Berasategi.jpg",
    "life_by_Aitzol_Berasategi.jpg",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg",
    "sunset_by_Aitzol_Berasategi.jpg",
]
TYPICAL_AS_IS = ["Picture_0B_by_freespace.jpg", "Picture_1A_by_freespace.jpg"]
TYPICAL_MP = (1.3, 5.0)


def make_typical(backgrounds, dest, each=None):
    """Writes the typical set into the folder dest, from the wallpapers in backgrounds. each,
    if given, is called as each(index, name, image) with every downscaled photo (RGB)."""
    import os
    import shutil

    from PIL import Image

    lo, hi = TYPICAL_MP
    n = len(TYPICAL_DOWNSCALED)
    for i, name in enumerate(TYPICAL_DOWNSCALED):
        mp = lo + (hi - lo) * i / (n - 1)
        with Image.open(os.path.join(backgrounds, name)) as im:
            im = im.convert("RGB")
            s = (mp * 1e6 / (im.width * im.height)) ** 0.5
            small = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
        small.save(os.path.join(dest, name), "JPEG", quality=90, subsampling="4:2:0",
                   optimize=False, progressive=False)
        if each:
            each(i, name, small)
    for name in TYPICAL_AS_IS:
        shutil.copyfile(os.path.join(backgrounds, name), os.path.join(dest, name))

"""Interactive 3D crystal structure views that work offline.

Built with py3Dmol, but with the 3Dmol.js library shipped in ``gmtnet/resources/js/`` (see the
README there) inlined into the HTML: py3Dmol otherwise loads 3Dmol.js from a CDN, which leaves an
empty box on a machine without internet access.

How the replacement works (py3Dmol 2.5.x, ``py3Dmol/__init__.py``): py3Dmol does not emit a
``<script src=...>`` tag. ``view.__init__(js=URL)`` writes a small loader,
``$3Dmolpromise = loadScriptAsync('URL');``, that inserts a script tag for URL at run time, and every
viewer command is chained on that promise. ``view.write_html()`` (no file) returns the widget
HTML. We pass a placeholder instead of a URL, replace that loader call with
``Promise.resolve()``, and put the library in an inline ``<script>`` in front of the widget, so
``$3Dmol`` exists before the viewer code runs. If a future py3Dmol changes its loader, the
placeholder is not found and :func:`structure_view_html` raises instead of silently going back
to the CDN.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["STYLES", "THREEDMOL_VERSION", "threedmol_js", "extended_xyz", "structure_view_html", "show_structure"]

#: Version of the shipped ``gmtnet/resources/js/3Dmol-min.js`` (matches py3Dmol 2.5.5's default).
THREEDMOL_VERSION = "2.5.5"

#: Atom styles: name → 3Dmol style spec (colours by element, Jmol scheme).
STYLES: dict[str, dict] = {
    "ball_and_stick": {"sphere": {"scale": 0.3, "colorscheme": "Jmol"}, "stick": {"radius": 0.15, "colorscheme": "Jmol"}},
    "spheres": {"sphere": {"scale": 0.8, "colorscheme": "Jmol"}},
    "sticks": {"stick": {"radius": 0.2, "colorscheme": "Jmol"}},
}

_PLACEHOLDER = "gmtnet-inline-3dmol"
_LOADER = f"loadScriptAsync('{_PLACEHOLDER}')"
#: py3Dmol's fixed viewer config in its ``$3Dmol.createViewer(div, {...})`` call.
_VIEWER_CONFIG = '{backgroundColor:"white"}'
#: JS expression: false when WebGL runs on a CPU rasteriser (SwiftShader, llvmpipe: a browser
#: without GPU), true otherwise. 3Dmol's default multisample antialiasing costs such a rasteriser
#: 1.5-4 s per view (headless Chromium, 2 loaded cores; 0.7 s without), a GPU nothing. The probe
#: context is released at once.
SOFTWARE_GL_ANTIALIAS = (
    "(function(){try{var gl=document.createElement('canvas').getContext('webgl');if(!gl)return true;"
    "var e=gl.getExtension('WEBGL_debug_renderer_info');"
    "var r=String(gl.getParameter(e?e.UNMASKED_RENDERER_WEBGL:gl.RENDERER));"
    "var l=gl.getExtension('WEBGL_lose_context');if(l)l.loseContext();"
    "return !/swiftshader|llvmpipe|softpipe|software/i.test(r);}catch(err){return true;}})()"
)


@lru_cache(maxsize=1)
def threedmol_js() -> str:
    """The shipped 3Dmol.js build (minified, ~540 kB), read once from the package resources."""
    return resources.files("gmtnet.resources.js").joinpath("3Dmol-min.js").read_text(encoding="utf-8")


def _inline_library_tag() -> str:
    # The UMD wrapper would register with an AMD loader (Jupyter's require.js) or CommonJS instead
    # of running; shadowing define/exports/module makes it take the browser-global branch, which
    # sets window.$3Dmol. `this` is window, as the wrapper expects.
    return (
        "<script>\n(function (define, exports, module) {\n"
        + threedmol_js()
        + "\n}).call(window);\n</script>\n"
    )


def extended_xyz(structure, supercell: tuple[int, int, int] = (1, 1, 1)) -> str:
    """Extended-XYZ text of a structure: Cartesian positions in Å and ``Lattice="a b c"`` vectors.

    Why not CIF: 3Dmol rebuilds Cartesian axes from the CIF cell *parameters* (a along x, b in the
    xy plane), which rotates any structure not already in that setting; the XYZ parser keeps our
    Cartesian coordinates, and reads the lattice vectors (as columns of its cell matrix) for
    ``addUnitCell``. pymatgen's XYZ writer has no lattice line, hence this small writer.
    """
    s = structure.copy()
    if tuple(supercell) != (1, 1, 1):
        s.make_supercell(list(supercell))
    lattice = " ".join(f"{x:.8f}" for x in s.lattice.matrix.ravel())
    lines = [str(len(s)), f'Lattice="{lattice}" pbc="T T T"']
    lines += [f"{site.specie.symbol} {x:.8f} {y:.8f} {z:.8f}" for site, (x, y, z) in zip(s, s.cart_coords)]
    return "\n".join(lines) + "\n"


def structure_view_html(
    structure,
    style: str = "ball_and_stick",
    supercell: tuple[int, int, int] = (1, 1, 1),
    show_cell: bool = True,
    labels: bool = False,
    width: int = 480,
    height: int = 400,
) -> str:
    """Self-contained HTML of an interactive 3D view of a crystal (no network access needed).

    Args:
        structure: pymatgen ``Structure``; drawn in its own Cartesian frame (the frame of the
            predicted tensors), so x, y, z here are the x, y, z of the tensor plots.
        style: key of :data:`STYLES` (atoms coloured by element, Jmol colours).
        supercell: repetitions along a, b, c (made with pymatgen; the drawn cell is that of the
            repeated structure).
        show_cell: draw the cell edges.
        labels: write the element symbol on each atom.
        width, height: size in pixels.

    Returns:
        HTML (a ``<script>`` with 3Dmol.js inlined, ~0.55 MB, then py3Dmol's ``<div>`` and viewer
        script) for ``streamlit.components.v1.html(html, height=height)`` or a notebook.

    Raises:
        ValueError: unknown ``style``, a non-positive ``supercell`` entry, or a disordered structure.
        RuntimeError: the installed py3Dmol no longer emits the loader this module replaces.
    """
    import py3Dmol

    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {sorted(STYLES)}")
    if not structure.is_ordered:
        raise ValueError(f"cannot draw a disordered structure ({structure.composition.reduced_formula}); order it first")
    reps = tuple(int(x) for x in supercell)
    if len(reps) != 3 or min(reps) < 1:
        raise ValueError(f"supercell must be three positive integers, got {supercell!r}")
    view = py3Dmol.view(width=width, height=height, js=_PLACEHOLDER)
    view.addModel(extended_xyz(structure, reps), "xyz")
    view.setStyle({}, STYLES[style])
    if show_cell:
        view.addUnitCell()
    if labels:
        view.addPropertyLabels(
            "elem", {}, {"fontColor": "black", "backgroundOpacity": 0.0, "alignment": "center", "fontSize": 12}
        )
    view.zoomTo()
    html = view.write_html()
    if _LOADER not in html:
        raise RuntimeError(
            "py3Dmol's HTML has no loadScriptAsync(js) call to replace; the offline 3Dmol.js "
            "cannot be inlined with this py3Dmol version"
        )
    html = html.replace(_LOADER, "Promise.resolve()")
    # Antialiasing only where it is cheap (a GPU); a py3Dmol with another config keeps 3Dmol's default.
    html = html.replace(_VIEWER_CONFIG, _VIEWER_CONFIG[:-1] + f",antialias:{SOFTWARE_GL_ANTIALIAS}}}", 1)
    return _inline_library_tag() + html


def show_structure(structure, **kwargs):
    """Notebook helper: the view of :func:`structure_view_html` as an ``IPython.display.HTML``."""
    from IPython.display import HTML

    return HTML(structure_view_html(structure, **kwargs))

"""Every shortcut works whatever has the focus: after using each drop-down (Colour map, Explain class,
Preset) with the keyboard focus left on it, each key is sent to the focused widget, as the keyboard
would, and must act. Text fields keep their keys.

One Tk root for the module, a NIfTI volume on screen (so every control, the Preset box included, is
shown), the tiny model loaded.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.helpers import pump, pump_until
from tests.volumes import make_nifti

pytestmark = pytest.mark.usefixtures("display")

SLICES = 6


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    yy, xx = np.mgrid[:64, :64]
    head = ((((xx - 32) / 26.0) ** 2 + ((yy - 32) / 22.0) ** 2) < 1).astype(np.float32) * 300
    data = np.repeat(head[:, :, np.newaxis], SLICES, axis=2)
    data[:, :, 3] += 900 * np.exp(-(((xx - 20) / 5.0) ** 2 + ((yy - 40) / 5.0) ** 2))
    return make_nifti(tmp_path_factory.mktemp("keys") / "head.nii.gz", data)


def idle(app, what="the work"):
    pump_until(app.root, lambda: not app.busy, 60, what)


def use_dropdown(app, box, index):
    """Open the drop-down's list, pick entry ``index`` and press Return: what a user does; the focus
    stays on the drop-down afterwards."""
    box.focus_force()
    pump(app.root, 0.05)
    box.tk.call("ttk::combobox::Post", box)
    pump(app.root, 0.05)
    listbox = f"{box.tk.call('ttk::combobox::PopdownWindow', box)}.f.l"
    box.tk.call(listbox, "selection", "clear", 0, "end")
    box.tk.call(listbox, "selection", "set", index)
    box.tk.call(listbox, "activate", index)
    box.tk.call("event", "generate", listbox, "<Return>")
    pump(app.root, 0.05)
    idle(app, "the drop-down's effect")
    assert app.root.focus_get() is box, "the drop-down keeps the focus, as after a real selection"


def press(app, sequence):
    """A key press delivered to whatever widget has the focus (as the keyboard does)."""
    widget = app.root.focus_get()
    widget.event_generate(sequence)
    pump(app.root, 0.05)
    return widget


def check_every_shortcut(app, focused):
    """Drive each shortcut with ``focused`` holding the focus; each must do its job (and only once)."""
    def refocus():
        focused.focus_force()
        pump(app.root, 0.02)

    refocus()
    method = app.vars.method.get()
    press(app, "<g>")
    assert app.vars.method.get() != method, "g"
    press(app, "<G>")
    assert app.vars.method.get() == method, "Shift+G steps back"

    opacity = float(app.vars.opacity.get())
    press(app, "<plus>")
    assert float(app.vars.opacity.get()) == pytest.approx(min(1.0, opacity + 0.1)), "+"
    press(app, "<minus>")
    press(app, "<KP_Subtract>")
    assert float(app.vars.opacity.get()) == pytest.approx(max(0.0, opacity - 0.1)), "-"
    press(app, "<KP_Add>")
    assert float(app.vars.opacity.get()) == pytest.approx(opacity), "keypad +"

    index = app.loaded.index
    press(app, "<Right>")
    assert app.loaded.index == min(SLICES - 1, index + 1), "→"
    idle(app)
    refocus()
    press(app, "<Left>")
    assert app.loaded.index == index, "←"
    idle(app)
    refocus()

    app.view_state.zoom_at(app.scan_canvas, 40, 40, 3.0)
    pump(app.root, 0.05)
    press(app, "<equal>")
    assert app.view_state.is_fit, "="
    app.view_state.zoom_at(app.scan_canvas, 40, 40, 3.0)
    pump(app.root, 0.05)
    press(app, "<space>")
    assert app.view_state.is_fit, "Space"

    press(app, "<i>")
    assert app.inverted, "i"
    press(app, "<i>")
    assert not app.inverted, "i again"

    names = list(app.window_panel.presets)  # this scan's Preset list, in order
    for number in range(1, 6):
        press(app, f"<Key-{number}>")
        if number <= len(names):
            assert app.window_panel.preset.get() == names[number - 1], number
            idle(app, f"preset {number}")
        else:
            assert f"no window preset {number}" in app.message.text_var.get(), number
        refocus()
    press(app, "<r>")
    assert app.window_panel.preset.get() == "File", "r"
    idle(app, "the reset window")
    refocus()

    asked = len(app.dialogs.asked)
    press(app, "<Control-o>")
    assert app.dialogs.asked[asked][0] == "open_scan", "Ctrl+O"
    refocus()
    press(app, "<Control-s>")
    assert app.dialogs.asked[asked + 1][0] == "save_image", "Ctrl+S"
    refocus()
    press(app, "<F1>")
    assert app.windows["shortcuts"].winfo_exists(), "F1"
    app.windows["shortcuts"].destroy()
    pump(app.root, 0.05)


def test_open_the_volume(app, volume):
    app.open_scan(volume)
    idle(app, "the volume and its analysis")
    assert app.loaded.slices == SLICES and app.window_panel.winfo_ismapped() and app.analysis is not None
    # Grad-CAM, class-specific: after "Explain class" picks another class there is still an overlay
    # for Ctrl+S to save (LayerCAM, the default, shows its refusal instead).
    app.vars.method.set("gradcam")
    pump(app.root, 0.05)


@pytest.mark.parametrize("which, entry", [("colormap_box", 2), ("target_box", 1), ("preset_box", 2)])
def test_every_shortcut_works_after_using_a_dropdown(app, which, entry):
    box = app.window_panel.preset_box if which == "preset_box" else getattr(app.controls, which)
    use_dropdown(app, box, entry)
    check_every_shortcut(app, box)


def test_every_shortcut_works_from_buttons_sliders_and_the_image(app):
    side_by_side = app.vars.side_by_side.get()
    for widget in (app.controls.layout_check, app.controls.method_buttons[1], app.scan_canvas,
                   app.slice_bar.all_button, app.controls.opacity_scale, app.slice_bar.scale):
        check_every_shortcut(app, widget)  # Space fits (a button is pressed with Return); ← → step slices
    assert app.vars.side_by_side.get() == side_by_side  # Space never toggled the check box
    app.controls.layout_check.focus_force()
    press(app, "<Return>")
    assert app.vars.side_by_side.get() != side_by_side
    press(app, "<Return>")
    assert app.vars.side_by_side.get() == side_by_side


def test_typing_in_a_text_field_keeps_its_keys(app):
    entry = app.window_panel.center_entry
    entry.focus_force()
    pump(app.root, 0.05)
    method, opacity, index = app.vars.method.get(), float(app.vars.opacity.get()), app.loaded.index
    for sequence in ("<g>", "<minus>", "<Key-4>", "<Key-1>", "<i>", "<space>", "<Right>"):
        press(app, sequence)
    assert (app.vars.method.get(), float(app.vars.opacity.get()), app.loaded.index) == (method, opacity, index)
    assert not app.inverted
    press(app, "<F1>")  # function and Control keys still work from a text field
    assert app.windows["shortcuts"].winfo_exists()
    app.windows["shortcuts"].destroy()


def test_help_lists_every_shortcut(app):
    text = app.windows.shortcuts().content()
    for keys in ("Ctrl+O", "Ctrl+S", "Ctrl+Q", "G", "+ / -", "← / →", "= / Space", "I", "1 – 5", "R", "F1",
                 "Wheel", "Right drag"):
        assert keys in text
    app.windows["shortcuts"].destroy()

"""PyInstaller run-time hook (see build.spec): runs in the frozen app before main.py.

Pins the settings the source run gets from its environment or from the code's
own defaults, so the frozen app behaves the same on a user's machine:
  - Matplotlib's default backend is Agg (off-screen), so nothing ever tries to pick
    a GUI toolkit; the slice plot embeds TkAgg and the report uses PDF explicitly.
  - (No Keras or TensorFlow in the bundle: the network runs on LiteRT.)
A user can still override each one from the environment.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

"""The Tkinter desktop window. Only orchestrates: picks files, hands jobs to the worker, paints results.

Nothing in this package imports TensorFlow or Keras at import time; the model is
loaded on the worker thread (see ``gui.jobs``) so the window appears at once.
"""

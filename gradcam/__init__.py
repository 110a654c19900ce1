"""Grad-CAM family for Keras models. Importing this package does not import TensorFlow or Tk.

    from gradcam.methods import GradCAM, GradCAMPlusPlus   # one class per method
    from gradcam.engine import CAMEngine                    # classifier + all maps in one pass
    from gradcam.overlay import overlay                     # heatmap -> RGB image
    from gradcam.maps import upsample, head_mask            # smooth upsampling, heat inside the head
"""

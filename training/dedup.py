"""Near-duplicate detection with a 256-bit difference hash (dHash).

The dataset's Testing images are often (near-)copies of Training images, and
Training has duplicates within itself. Two images are near-duplicates when their
256-bit dHashes differ in at most ``MAX_DISTANCE`` bits.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_SIDE = 16  # 16 x 16 = 256 bits
HASH_NAME = "dhash256-pil-bilinear"
MAX_DISTANCE = 8


def dhash_bits(pixels: np.ndarray) -> np.ndarray:
    """256 booleans: is each pixel brighter than its right neighbour on a 17x16 thumbnail."""
    # Pillow's antialiased bilinear resize, as common dHash implementations use.
    image = Image.fromarray(np.asarray(pixels, dtype=np.float32), mode="F")
    small = np.asarray(image.resize((HASH_SIDE + 1, HASH_SIDE), Image.BILINEAR))
    return (small[:, 1:] > small[:, :-1]).ravel()


def hamming_matrix(bits_a: np.ndarray, bits_b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between rows of two (n, 256) boolean arrays."""
    a = bits_a.astype(np.float32)
    b = bits_b.astype(np.float32)
    # |a xor b| = a.(1-b) + (1-a).b, as two matrix products: fast for thousands of rows.
    return np.rint(a @ (1 - b).T + (1 - a) @ b.T).astype(np.int32)


def group_near_duplicates(bits: np.ndarray, max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """Group id per row: rows linked by any chain of near-duplicate pairs share a group."""
    n = len(bits)
    parent = np.arange(n)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    chunk = 1024
    for start in range(0, n, chunk):
        distances = hamming_matrix(bits[start : start + chunk], bits)
        rows, cols = np.nonzero(distances <= max_distance)
        for r, c in zip(rows + start, cols):
            if r < c:
                root_r, root_c = find(r), find(c)
                if root_r != root_c:
                    parent[max(root_r, root_c)] = min(root_r, root_c)
    roots = np.array([find(i) for i in range(n)])
    _, group_ids = np.unique(roots, return_inverse=True)
    return group_ids


def leak_free_mask(test_bits: np.ndarray, train_bits: np.ndarray, max_distance: int = MAX_DISTANCE):
    """True for test rows with no near-duplicate among the training rows."""
    keep = np.ones(len(test_bits), dtype=bool)
    chunk = 1024
    for start in range(0, len(test_bits), chunk):
        distances = hamming_matrix(test_bits[start : start + chunk], train_bits)
        keep[start : start + chunk] = distances.min(axis=1) > max_distance
    return keep
